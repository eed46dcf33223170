"""``vibsentry demo --firmware``: the option exists, and without a model bundle it stops with one clear line
(the firmware images are built from the bundle the demo trains; a full run is exercised by
tests/firmware/test_firmware_qemu.py's fleet, which uses the same QEMU runner and replayer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_firmware_needs_a_bundle_and_says_so(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vibsentry", "demo", "--firmware", "--no-train", "--no-dashboard",
         "--duration", "5", "--workdir", str(tmp_path / "wd")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "--firmware needs a model bundle" in err[0], r.stderr


def test_demo_help_lists_the_firmware_option() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "vibsentry", "demo", "--help"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "--firmware" in r.stdout
