"""Helpers for the hardening tests (issue K): a tiny real filesystem that fills up, file snapshots."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def tiny_fs(path: Path, size: str = "64k") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted at ``path`` (root only; skips with the reason otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tiny tmpfs to fill a disk needs root")
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 (or 'dir' / 'link:target') of everything under ``root``."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = f"link:{os.readlink(p)}"
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out
