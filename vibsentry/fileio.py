"""Atomic file writes: readers see the old file or the complete new one, never a half-written one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


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
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, mode.replace("w", "x"), **kwargs) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, fsync: bool = True) -> Path:
    """Write ``data`` (bytes, or str as UTF-8) to ``path`` atomically (see :func:`atomic_open`)."""
    if isinstance(data, str):
        with atomic_open(path, "w", fsync=fsync, encoding="utf-8") as fh:
            fh.write(data)
    else:
        with atomic_open(path, "wb", fsync=fsync) as fh:
            fh.write(data)
    return Path(path)
