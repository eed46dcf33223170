"""A node's pty that can stop a model transfer at a known chunk, for tests that kill the gateway mid-deploy.

``nodes.qemu.forward_commands`` takes what the gateway wrote to the port (:meth:`PtyPort.read`) to the
emulated node's UART. :class:`StallPort` passes those bytes on whole frame by whole frame, and once armed
with :meth:`StallPort.stall_after_chunks` it lets exactly ``n`` MODEL_CHUNK commands through and then keeps
every later frame back (the node's receive line stalls, as ``tests.support.update_node.PtyBridge`` stalls the
ctypes node) until :meth:`StallPort.release`. A deploy is stop-and-wait, so the gateway then sits with chunk
``n + 1`` in flight and can neither finish the image nor send MODEL_COMMIT: the moment of a SIGKILL no longer
depends on how fast anything runs. Frames from the node to the gateway (``write``) are not touched.
"""

from __future__ import annotations

import os
import threading

from vibsentry import protocol as vp
from vibsentry.nodes.ports import PtyPort


class StallPort(PtyPort):
    """:class:`PtyPort` whose host -> node direction can be held after a number of MODEL_CHUNK commands.

    Attributes
    ----------
    chunks_passed : int
        Distinct MODEL_CHUNK commands (by sequence number; a resend counts once) passed to the node since the
        last :meth:`stall_after_chunks`.
    held : list of vibsentry.protocol.Frame
        The frames kept back since the stall began (undecodable ones are kept too but not listed).
    """

    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        super().__init__(link)
        self._lock = threading.Lock()
        self._partial = b""  # bytes after the last 0x00 delimiter: an incomplete frame
        self._limit = 0  # 0: pass everything
        self._seqs: set[int] = set()
        self._held = b""
        self.held: list[vp.Frame] = []

    @property
    def chunks_passed(self) -> int:
        with self._lock:
            return len(self._seqs)

    def stall_after_chunks(self, n: int) -> None:
        """Pass the next ``n`` (>= 1) distinct MODEL_CHUNK commands, then hold every frame after them."""
        if n < 1:
            raise ValueError(f"n={n!r}: must be >= 1")
        with self._lock:
            self._limit, self._seqs, self._held, self.held = n, set(), b"", []

    def release(self) -> None:
        """Stop holding: the held bytes go to the node with the next read, in the order they were written."""
        with self._lock:
            self._limit = 0

    def read(self, timeout: float) -> bytes:
        """Whole frames the gateway wrote and the stall lets through (b"" while there are none)."""
        data = super().read(timeout)
        with self._lock:
            buf = self._partial + data
            cut = buf.rfind(b"\x00") + 1
            self._partial = buf[cut:]
            out = self._held if self._limit == 0 else b""
            if self._limit == 0:
                self._held = b""
            for body in buf[:cut].split(b"\x00")[:-1]:
                wire = body + b"\x00"
                if self._limit and len(self._seqs) >= self._limit:
                    self._held += wire
                    try:
                        self.held.append(vp.decode_frame(wire))
                    except vp.ProtocolError:
                        pass
                    continue
                out += wire
                if self._limit:
                    try:
                        f = vp.decode_frame(wire)
                    except vp.ProtocolError:
                        continue
                    if f.header.msg_type == vp.MsgType.MODEL_CHUNK:
                        self._seqs.add(f.header.seq)
            return out
