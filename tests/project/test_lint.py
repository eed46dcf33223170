"""Habits that keep us honest: ruff (lint + format) and mypy over the whole Python code base.

mypy cannot follow the editable install's import hook that maps ``vibsentry.dsp`` to ``dsp/``, so the test
builds the installed layout as a tree of symbolic links under ``build/typecheck/`` and checks that.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _top_folders() -> dict[str, str]:
    """Sub-package name -> top-level folder, as pyproject.toml maps them (``vibsentry.dsp`` -> ``dsp/``)."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {
        name.split(".", 1)[1]: folder
        for name, folder in mapping.items()
        if name.count(".") == 1 and "/" not in folder and folder != "vibsentry"
    }


def _tool(name: str) -> str:
    exe = BIN / name
    if not exe.exists():
        pytest.skip(f"{name} is installed by dev.sh (dev extra); run the suite through ./dev.sh test")
    return str(exe)


def test_ruff_lint() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr


def test_ruff_format() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, "run 'ruff format .':\n" + proc.stdout[-6000:]


def test_mypy() -> None:
    tree = ROOT / "build" / "typecheck"
    shutil.rmtree(tree, ignore_errors=True)
    pkg = tree / "vibsentry"
    pkg.mkdir(parents=True)
    for entry in (ROOT / "vibsentry").iterdir():
        if entry.name != "__pycache__":
            (pkg / entry.name).symlink_to(entry)
    for name, folder in _top_folders().items():
        (pkg / name).symlink_to(ROOT / folder)
    proc = subprocess.run(
        [_tool("mypy"), "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(ROOT / "build" / "mypy-cache"),
         "-p", "vibsentry"],
        cwd=tree, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr
