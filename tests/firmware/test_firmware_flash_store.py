"""The bare-metal ports' flash record store and slot io (firmware_core/port/baremetal/vs_flash_store.c) on the
host under ASan/UBSan, over a simulated NOR flash with power cuts (port/baremetal/tests/flash_store_check.c):
4,000 random writes read back through ~260 page compactions, and 400 power cuts at random points of a write
(some inside a compaction) each leave the cut record old or new and every other record intact."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PORT = ROOT / "firmware_core/port/baremetal"


def test_flash_store_round_trips_and_survives_power_cuts(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    exe = tmp_path / "flash_store_check"
    subprocess.run(
        ["gcc", "-std=c99", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
         "-fno-sanitize-recover=all", f"-I{ROOT / 'firmware_core/include'}", f"-I{PORT}",
         str(PORT / "tests/flash_store_check.c"), str(PORT / "vs_flash_store.c"), "-o", str(exe)],
        check=True,
    )  # fmt: skip
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.startswith("flash_store ok 4000 400"), (run.stdout, run.stderr)
