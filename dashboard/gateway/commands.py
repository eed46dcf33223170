"""The gateway's command socket: host -> node commands (model deploys, baseline learning) through the gateway
that owns the ports.

A gateway reads every node's port, so a second process cannot open them; commands go through it instead. The
gateway listens on a Unix socket, ``DATA_DIR/gateway.sock`` (mode 0600: local users with access to the data
directory only), and speaks JSON lines (docs/deploy.md):

- client -> gateway ``{"subscribe": [node ids]}``: forward those nodes' ACK, NACK, MODEL_STATUS, HELLO and
  BASELINE_PROGRESS frames to this client, each as ``{"frame": "<hex of the wire frame>"}``;
- client -> gateway ``{"node": id, "send": "<hex of a complete wire frame>"}``: write the frame to the port
  where that node was last heard; ``{"error": "...", "retry": true}`` back when the node has not been heard on
  any port since the gateway started or its port is not open (try again later), ``{"error": "..."}`` when the
  line is not a host -> node command.

The gateway does not interpret the commands (the client does the flow control and retries); frames written
are counted per port. Connections are served by one thread each; a client that disconnects loses only its
subscription.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vibsentry import protocol as vp

log = logging.getLogger("vibsentry.gateway.commands")

SOCKET_NAME = "gateway.sock"
#: Frames a deploy or baseline client needs back.
FORWARDED = frozenset(
    {vp.MsgType.ACK, vp.MsgType.NACK, vp.MsgType.MODEL_STATUS, vp.MsgType.HELLO, vp.MsgType.BASELINE_PROGRESS}
)
#: Host -> node commands a client may send.
COMMANDS = frozenset(
    {
        vp.MsgType.SET_THRESHOLD,
        vp.MsgType.REQUEST_RAW,
        vp.MsgType.MODEL_BEGIN,
        vp.MsgType.MODEL_MANIFEST,
        vp.MsgType.MODEL_CHUNK,
        vp.MsgType.MODEL_COMMIT,
        vp.MsgType.BASELINE_LEARN,
    }
)


def _wire(f: vp.Frame) -> bytes:
    h = f.header
    return vp.encode(f.message, node_id=h.node_id, seq=h.seq, timestamp_us=h.timestamp_us, version=h.version)


class CommandServer:
    """Serve the command socket of one gateway.

    Parameters
    ----------
    path : Path
        Socket path (an old socket file there is replaced).
    write : callable (node_id, frame bytes) -> str or None
        Writes a frame to the node's port; returns an error text, or None when written.
    """

    def __init__(self, path: Path, write: Callable[[int, bytes], str | None]) -> None:
        self.path = Path(path)
        self._write = write
        self._lock = threading.Lock()
        self._clients: dict[int, tuple[socket.socket, frozenset[int]]] = {}
        self._stop = threading.Event()
        self.sent = 0
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self._sock.bind(str(self.path))
        finally:
            os.umask(old)
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept, name="commands", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="command-client", daemon=True).start()

    def _reply(self, conn: socket.socket, obj: dict[str, Any]) -> None:
        with self._lock:
            try:
                conn.sendall(json.dumps(obj).encode() + b"\n")
            except OSError:
                pass

    def _serve(self, conn: socket.socket) -> None:
        key = id(conn)
        buf = b""
        try:
            while not self._stop.is_set():
                data = conn.recv(65536)
                if not data:
                    return
                *lines, buf = (buf + data).split(b"\n")
                for line in lines:
                    self._handle(conn, key, line)
        except OSError:
            return
        finally:
            with self._lock:
                self._clients.pop(key, None)
            conn.close()

    def _handle(self, conn: socket.socket, key: int, line: bytes) -> None:
        try:
            msg = json.loads(line)
            if "subscribe" in msg:
                nodes = frozenset(int(n) for n in msg["subscribe"])
                with self._lock:
                    self._clients[key] = (conn, nodes)
                return
            node, frame = int(msg["node"]), bytes.fromhex(msg["send"])
            decoded = vp.decode_frame(frame[:-1] if frame.endswith(b"\0") else frame)
        except (ValueError, KeyError, TypeError, vp.ProtocolError) as exc:
            self._reply(conn, {"error": f"bad command line ({type(exc).__name__}: {exc})"})
            return
        if decoded.header.msg_type not in COMMANDS or decoded.header.node_id != node:
            self._reply(
                conn, {"error": f"not a command for node {node} (type 0x{decoded.header.msg_type:02x})"}
            )
            return
        err = self._write(node, frame if frame.endswith(b"\0") else frame + b"\0")
        if err is not None:
            # the node may not have been heard yet since this gateway started, or its port is reconnecting
            self._reply(conn, {"error": err, "retry": True})
        else:
            self.sent += 1

    def forward(self, frames: list[vp.Frame]) -> None:
        """Hand node frames to the clients subscribed to their node (called by the port readers)."""
        with self._lock:
            if not self._clients:
                return
            targets = list(self._clients.values())
        for f in frames:
            if f.header.msg_type not in FORWARDED:
                continue
            line = None
            for conn, nodes in targets:
                if f.header.node_id in nodes:
                    line = line or json.dumps({"frame": _wire(f).hex()}).encode() + b"\n"
                    with self._lock:
                        try:
                            conn.sendall(line)
                        except OSError:
                            pass

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
