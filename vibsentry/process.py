"""Child processes that never outlive their parent, and port checks, for the demo and the dashboard server.

Not CLI code: ``vibsentry.dashboard`` and the demo use these, and ``vibsentry.commands`` builds on them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence

from vibsentry.errors import UsageError


def die_with_parent() -> None:
    """``preexec_fn``: on Linux, SIGTERM this child when its parent dies, even by SIGKILL.

    Children run in their own session (so a terminal's Ctrl-C reaches only the parent, which stops them in
    order); without this, a parent killed outright would leave them running.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):
            pass


def spawn(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, log: int | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` as a child in its own session (a process group :func:`stop_group` can stop as a whole).

    Parameters
    ----------
    argv : sequence of str
        Command line.
    env : mapping or None
        Environment of the child (None: this process's).
    log : int or None
        File descriptor receiving the child's stdout and stderr (None: inherit both).

    Returns
    -------
    subprocess.Popen
        The child; it receives SIGTERM when this process dies (:func:`die_with_parent`).
    """
    return subprocess.Popen(
        list(argv),
        env=None if env is None else dict(env),
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def stop_group(proc: subprocess.Popen[bytes], *, timeout_s: float = 10.0) -> None:
    """Stop a child started by :func:`spawn`: SIGTERM to its group, SIGKILL after ``timeout_s`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def check_port_free(port: int, address: str = "127.0.0.1") -> None:
    """Raise :class:`UsageError` when ``address:port`` is taken: a health check would otherwise succeed
    against whatever already listens there (an earlier dashboard or demo)."""
    import socket

    with socket.socket() as s:
        # As the server will: connections of a stopped server in TIME_WAIT must not count as "in use".
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            raise UsageError(
                f"--port {port}: already in use on {address} (another dashboard or demo running? use --port)"
            ) from None
