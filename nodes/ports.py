"""Where simulated nodes write their frames: a pty the simulator creates, or a pyserial port/URL.

A port is anything with ``write(bytes)`` and ``close()``, and ``read(timeout)`` when it can carry host commands
back to the simulator; :class:`PtyPort` also reports what is still
queued (:meth:`PtyPort.pending`, :meth:`PtyPort.drain`) so a run can end only after the reader took
everything.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
import time
import tty
from pathlib import Path

from vibsentry.errors import UsageError


class PtyPort:
    """A pty created by the simulator; the gateway opens :attr:`path` (or the symlink ``link``).

    The simulator keeps a raw-mode slave descriptor open, so frames written before the gateway opens the
    port wait in the kernel buffer (as on a real cable) instead of being lost.
    """

    def __init__(self, link: str | os.PathLike[str] | None = None) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.path = os.ttyname(self._slave)
        self.link = Path(link) if link else None
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".tmp")
            tmp.unlink(missing_ok=True)
            os.symlink(self.path, tmp)
            os.replace(tmp, self.link)

    @property
    def name(self) -> str:
        """What to pass to ``vibsentry ingest --port``."""
        return str(self.link) if self.link is not None else self.path

    def write(self, data: bytes) -> None:
        """Write all of ``data`` (waits while the kernel buffer is full: the gateway's flow control)."""
        view = memoryview(data)
        while view:
            select.select([], [self.master], [], 1.0)
            try:
                n = os.write(self.master, view)
            except BlockingIOError:
                continue
            view = view[n:]

    def read(self, timeout: float) -> bytes:
        """What the other side (the gateway) wrote, up to 4096 bytes; b"" after ``timeout`` seconds or when
        the pty is closed."""
        try:
            r, _, _ = select.select([self.master], [], [], timeout)
            return os.read(self.master, 4096) if r else b""
        except (OSError, ValueError):  # closed
            time.sleep(timeout)
            return b""

    def pending(self) -> int:
        """Bytes written but not yet read by the other side (the slave's input queue)."""
        buf = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
        return int(struct.unpack("i", buf)[0])

    def drain(self, timeout: float = 10.0, *, settle: float = 0.5) -> bool:
        """Wait until the reader has taken every byte (True) or ``timeout`` seconds passed (False).

        The queue must stay empty for ``settle`` seconds: the kernel moves bytes from the master to the
        slave's input queue asynchronously (the tty flip buffer), so under load the queue can read empty
        while bytes are still on their way, and closing then loses them.
        """
        deadline = time.monotonic() + timeout
        empty_since: float | None = None
        while True:
            now = time.monotonic()
            if self.pending() > 0:
                empty_since = None
            elif empty_since is None:
                empty_since = now
            elif now - empty_since >= settle:
                return True
            if now > deadline:
                return False
            time.sleep(0.02)

    def close(self) -> None:
        """Close the pty (and remove the symlink)."""
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.link is not None:
            self.link.unlink(missing_ok=True)


class SerialPort:
    """A port opened with pyserial (device path or URL such as ``socket://host:port``)."""

    def __init__(self, url: str, baud: int = 115200) -> None:
        import serial

        try:
            self._ser = serial.serial_for_url(url, baudrate=baud, timeout=1.0, write_timeout=30.0)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise UsageError(f"--port {url!r}: cannot open ({exc})") from None
        self.name = url

    def write(self, data: bytes) -> None:
        """Write ``data`` and return when pyserial has accepted it."""
        self._ser.write(data)

    def read(self, timeout: float) -> bytes:
        """What the other side (the gateway) wrote, up to 4096 bytes; b"" after ``timeout`` seconds or when the
        port failed (the simulator reads host commands with ``timeout=0``: no wait)."""
        import serial

        try:
            if self._ser.timeout != timeout:  # a change reconfigures a real tty: only when it differs
                self._ser.timeout = timeout
            if timeout == 0:  # pyserial's non-blocking read returns what is there, up to the size
                return bytes(self._ser.read(4096))
            first = bytes(self._ser.read(1))  # waits up to the timeout for the first byte only
            return first + bytes(self._ser.read(min(4095, self._ser.in_waiting))) if first else b""
        except (serial.SerialException, OSError):
            return b""

    def close(self) -> None:
        """Close the port."""
        self._ser.close()
