"""Shared pytest fixtures. Area-specific fixtures live in ``tests/support/<area>.py`` modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("VIBSENTRY_DATASETS", ROOT.parent / "shared" / "datasets"))
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """``../shared/datasets``; tests that need it skip with a reason when it is absent."""
    if not (DATASETS / "cwru").is_dir():
        pytest.skip(f"real datasets not found at {DATASETS} (set VIBSENTRY_DATASETS)")
    return DATASETS
