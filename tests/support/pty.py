"""Real pseudo-terminals for serial tests, reachable through a stable symlink (like socat's ``link=``).

The test side writes to the pty master; the gateway opens the symlink with pyserial exactly as it would open
``/dev/ttyUSB0``. The helper keeps its own slave descriptor open in raw mode, as a plugged-in cable would, so
bytes written while the gateway is not reading (killed, reconnecting) stay in the kernel buffer instead of
being echoed or dropped.
"""

from __future__ import annotations

import os
import select
import tty
from pathlib import Path


class PtyLink:
    """A pty whose slave is reachable at ``link``; :meth:`recreate` swaps in a new pty under the same path.

    Parameters
    ----------
    link : path-like
        Symlink path created (atomically replaced) to point at the slave device.
    """

    def __init__(self, link: str | os.PathLike[str]) -> None:
        self.link = Path(link)
        self.master = -1
        self._slave = -1
        self.open()

    def open(self) -> None:
        """Create a new pty and point :attr:`link` at its slave."""
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.slave_name = os.ttyname(self._slave)
        tmp = self.link.with_name(self.link.name + ".tmp")
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        os.symlink(self.slave_name, tmp)
        os.replace(tmp, self.link)

    def write(self, data: bytes, *, timeout: float = 180.0) -> None:
        """Write all of ``data`` to the master (blocks while the kernel buffer is full, up to ``timeout`` s)."""
        view = memoryview(data)
        while view:
            _, w, _ = select.select([], [self.master], [], timeout)
            if not w:
                raise TimeoutError(f"pty {self.slave_name}: nobody read {len(view)} bytes for {timeout} s")
            n = os.write(self.master, view)
            view = view[n:]

    def close(self) -> None:
        """Close both ends (the gateway's next read fails as if the device was unplugged)."""
        for fd in (self.master, self._slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self._slave = -1

    def recreate(self) -> None:
        """Close this pty and open a new one under the same link path."""
        self.close()
        self.open()

    def __enter__(self) -> PtyLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        try:
            self.link.unlink()
        except FileNotFoundError:
            pass
