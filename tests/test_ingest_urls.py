"""Ports given as pyserial URLs (``socket://``): a serial-over-TCP server that drops the connection."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading

from tests.support.ingest import hello, score_keys, score_stream, start_gateway, stop_gateway, wait_for


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
        wait_for(lambda: len(score_keys(db)) == 150, timeout=30, what="scores over the second connection")
        assert score_keys(db) == [(12, s) for s in range(1, 151)]
    finally:
        for ev in hang_up:
            ev.set()
        stop_gateway(gw)
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
        timeout=60,
    )
    assert r.returncode == 1
    assert str(missing) in r.stderr and len(r.stderr.strip().splitlines()) == 1
