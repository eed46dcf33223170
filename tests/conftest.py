"""Shared pytest fixtures. Area-specific fixtures live in ``tests/support/<area>.py`` modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

# The suite must give the same verdict on every run (a test failing one run in twenty blocks everyone), so the
# property tests draw the same examples each time, as Hypothesis's own "ci" profile does when CI is set; a
# longer random search: HYPOTHESIS_PROFILE=explore.
settings.register_profile("vibsentry", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "vibsentry"))

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
