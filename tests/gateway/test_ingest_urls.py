"""Ports given as pyserial URLs: ``socket://`` (a serial-over-TCP server that drops the connection) and
``rfc2217://`` (pyserial's own RFC 2217 port manager serving a real pty, as a terminal server would)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

from tests.support.ingest import hello, score_keys, score_stream, start_gateway, stop_gateway, wait_for
from tests.support.pty import PtyLink


def test_socket_url_port_reconnects_after_the_server_drops_it(tmp_path):
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    batches = [[hello(12, 0, 1000), *score_stream(12, 80)], score_stream(12, 70, start_seq=81)]

    hang_up = [threading.Event(), threading.Event()]

    def serve() -> None:
        for frames, ev in zip(batches, hang_up, strict=True):
            conn, _ = srv.accept()
            conn.sendall(b"".join(frames))
            ev.wait(30)
            conn.close()  # like a terminal server rebooting

    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    gw = start_gateway([f"socket://127.0.0.1:{port}"], data)
    try:
        wait_for(lambda: len(score_keys(db)) == 80, what="first connection's 80 scores")
        hang_up[0].set()
        wait_for(lambda: len(score_keys(db)) == 150, timeout=300, what="scores over the second connection")
        assert score_keys(db) == [(12, s) for s in range(1, 151)]
    finally:
        for ev in hang_up:
            ev.set()
        stop_gateway(gw)
        srv.close()


def test_rfc2217_url_through_a_terminal_server_serving_a_pty(tmp_path):
    import serial
    import serial.rfc2217

    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    stop = threading.Event()

    def terminal_server(device: str) -> None:
        conn, _ = srv.accept()
        conn.settimeout(0.05)

        class PtySerial(serial.Serial):
            """A pty has no modem lines (TIOCMGET fails): report a cable with CTS/DSR/CD up, as a terminal
            server's port with a connected node would. The data path is the real pty."""

            cts = dsr = cd = True
            ri = False

            def _update_dtr_state(self) -> None:
                pass

            def _update_rts_state(self) -> None:
                pass

        ser = PtySerial(device, timeout=0.05)

        class Connection:  # PortManager writes its telnet replies through .write()
            write = conn.sendall

        mgr = serial.rfc2217.PortManager(ser, Connection())
        try:
            while not stop.is_set():
                data = ser.read(4096)
                if data:
                    conn.sendall(b"".join(mgr.escape(data)))
                try:
                    got = conn.recv(4096)
                except TimeoutError:
                    continue
                if not got:
                    break
                ser.write(
                    b"".join(mgr.filter(got))
                )  # telnet/RFC 2217 negotiation; no payload goes to the node
        finally:
            ser.close()
            conn.close()

    data = tmp_path / "data"
    db = data / "vibsentry.sqlite"
    with PtyLink(tmp_path / "node-port") as link:
        t = threading.Thread(target=terminal_server, args=(str(link.link),), daemon=True)
        t.start()
        url = f"rfc2217://127.0.0.1:{port}"
        gw = start_gateway([url], data, "--baud", "921600")
        try:
            # The terminal server opens (and flushes) its serial port when the client connects.
            wait_for(
                lambda: (
                    json.loads((data / "ingest-status.json").read_text())["ports"][url]["state"] == "open"
                ),
                what="the RFC 2217 session",
            )
            frames = [hello(13, 0, 1000), *score_stream(13, 120)]
            for f in frames:
                link.write(f)
            wait_for(lambda: len(score_keys(db)) == 120, timeout=300, what="120 scores over RFC 2217")
            assert score_keys(db) == [(13, s) for s in range(1, 121)]
        finally:
            stop_gateway(gw)
            stop.set()
            t.join(5)
            srv.close()


def test_bad_bundle_path_is_a_one_line_error_naming_it(tmp_path):
    missing = tmp_path / "no-such-bundle"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibsentry",
            "ingest",
            "--port",
            "loop://",
            "--bundle",
            str(missing),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1
    assert str(missing) in r.stderr and len(r.stderr.strip().splitlines()) == 1
