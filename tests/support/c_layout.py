"""Check a ctypes mirror of a C struct against the C compiler's own layout.

Tests drive C instance structs through ctypes (``tests/firmware/test_c_trigger.py``, ``tests/firmware/test_c_alarm.py``); the
mirrors are a second copy of the header. :func:`c_layout` asks the compiler for ``sizeof`` and every member's
``offsetof`` so that a header change that the mirror misses fails one test by name instead of corrupting
memory somewhere else.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
from pathlib import Path

FW = Path(__file__).resolve().parents[2] / "firmware_core"


def ctypes_layout(cls: type[ctypes.Structure]) -> dict[str, int]:
    """``sizeof`` and every top-level field offset of a ctypes structure."""
    out = {"sizeof": ctypes.sizeof(cls)}
    for name, *_ in cls._fields_:
        out[name] = getattr(cls, name).offset
    return out


def c_layout(header: str, c_type: str, fields: list[str]) -> dict[str, int]:
    """``sizeof(c_type)`` and ``offsetof(c_type, f)`` for each of ``fields``, from the host C compiler.

    Parameters
    ----------
    header : str
        Include path of the header, e.g. ``"vs/vs_trigger.h"`` (searched in ``firmware_core/include``).
    c_type : str
        The typedef name, e.g. ``"vs_trigger_t"``.
    fields : list of str
        Member names.

    Returns
    -------
    dict of str to int
        ``{"sizeof": n, field: offset, ...}`` in bytes.
    """
    cc = shutil.which("gcc") or shutil.which("cc") or shutil.which("clang")
    if cc is None:
        raise RuntimeError("no C compiler (gcc/cc/clang) on PATH")
    lines = [f'printf("sizeof %zu\\n", sizeof({c_type}));']
    lines += [f'printf("{f} %zu\\n", offsetof({c_type}, {f}));' for f in fields]
    src = "\n".join(
        ["#include <stddef.h>", "#include <stdio.h>", f'#include "{header}"', "int main(void) {", *lines,
         "return 0; }"]
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        c = Path(tmp) / "layout.c"
        exe = Path(tmp) / "layout"
        c.write_text(src)
        subprocess.run([cc, "-std=c99", f"-I{FW / 'include'}", str(c), "-o", str(exe)], check=True,
                       capture_output=True, text=True)  # fmt: skip
        out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}
