"""Atomic file writes: readers see the old file or the complete new one, never a half-written one."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from vibsentry.errors import OutputError


@contextmanager
def atomic_open(
    path: str | os.PathLike[str], mode: str = "wb", *, fsync: bool = True, **kwargs: Any
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path`` for writing; on success it replaces ``path``.

    The temporary file (``.NAME.XXXX.tmp`` in the same folder, so the rename stays on one file system) is
    renamed over ``path`` when the block ends normally, after an ``fsync`` unless ``fsync=False``; on any
    exception it is removed and ``path`` is untouched. Missing parent folders are created. The file gets
    the ordinary permissions (``0666 & ~umask``).

    Parameters
    ----------
    path : path-like
    mode : str
        ``"wb"`` or ``"w"``; ``kwargs`` go to :func:`open` (e.g. ``encoding="utf-8"``).
    fsync : bool
        Flush to disk before the rename (off for advisory files rewritten every second).
    """
    dst = Path(path)
    tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.tmp")
    try:
        dst.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, mode.replace("w", "x"), **kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # nothing to remove when the folder itself is the problem
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and _about(exc, tmp, dst):
            why = (
                "part of its folder path is a file, not a folder"
                if isinstance(exc, (FileExistsError, NotADirectoryError))
                else exc.strerror or str(exc)
            )
            raise OutputError(dst, why) from None  # the user's path, not the temp name
        raise


def _about(exc: OSError, tmp: Path, dst: Path) -> bool:
    """True when ``exc`` is about writing ``dst``: no file name (a full disk on write) or ``tmp``, ``dst`` or one of
    its folders; an error the caller's own code raised inside the block about another file passes unchanged."""
    if exc.filename is None:
        return True
    f = Path(os.fsdecode(exc.filename))
    return f in (tmp, dst) or f in dst.parents


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, fsync: bool = True) -> Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (see :func:`atomic_open`)."""
    if isinstance(data, str):
        with atomic_open(path, "w", fsync=fsync, encoding="utf-8") as fh:
            fh.write(data)
    else:
        with atomic_open(path, "wb", fsync=fsync) as fh:
            fh.write(data)
    return Path(path)


def exchange_paths(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Swap two existing paths (e.g. two folders) in one atomic step; False when the system cannot.

    Linux ``renameat2(..., RENAME_EXCHANGE)`` (glibc >= 2.28; most local file systems): there is no instant at
    which neither name exists, so a kill cannot strand the old folder under a temporary name, which two
    ``os.replace`` calls in a row can. Returns False (nothing changed) where the call or the flag is missing
    (another OS, an old libc, a file system without exchange); the caller then falls back to two renames.
    """
    import ctypes
    import errno
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2  # <fcntl.h> AT_FDCWD, <linux/fs.h> RENAME_EXCHANGE
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), os.fsdecode(a), None, os.fsdecode(b))
