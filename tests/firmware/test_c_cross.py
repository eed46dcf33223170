"""firmware_core cross builds (Cortex-M4F, RV32IMC), cppcheck, and the linked footprint of the node pipeline.

The footprint budgets (core + model <= 48 KB flash, <= 24 KB RAM with frame buffers) are measured and printed
by benchmarks/bench_c_size.py; here the builds must succeed with -Wall -Wextra -Werror and the linker must
keep only the FFT tables of the configured length (the guard against the 580 KB of all-length tables).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.cbuild import FIRMWARE, make
from tests.support.cqemu import map_sizes

SRC_MODULES = sorted(p.stem for p in (FIRMWARE / "src").glob("*.c"))


def _elf_header(readelf: str, elf: Path) -> str:
    return subprocess.run([readelf, "-h", str(elf)], capture_output=True, text=True, check=True).stdout


def test_cortex_m4_library_and_image() -> None:
    b = make("cortex-m4")
    d = b.target_dir("cortex-m4")
    members = subprocess.run(
        ["arm-none-eabi-ar", "t", str(d / "libvscore.a")], capture_output=True, text=True, check=True
    ).stdout.split()
    for mod in SRC_MODULES:  # every src/*.c, the protocol and INT8 runtime included
        assert f"{mod}.o" in members
    elf = d / "qemu" / "vs_bench.elf"
    hdr = _elf_header("arm-none-eabi-readelf", elf)
    assert "ARM" in hdr and "hard-float" in hdr
    sizes = map_sizes(d / "qemu" / "vs_bench.map")
    # One FFT length's twiddle + bit-reversal tables are about 9 KB; all lengths would be about 580 KB.
    assert 4_000 < sizes["arm_common_tables"].text < 16_000
    assert sizes["vs_features"].text > 0 and sizes["vs_trigger"].text > 0 and sizes["vs_alarm"].text > 0


def test_rv32imc_library_and_size_probe() -> None:
    b = make("rv32imc")
    d = b.target_dir("rv32imc")
    hdr = _elf_header("riscv64-unknown-elf-readelf", d / "probe" / "vs_bench.elf")
    assert "ELF32" in hdr and "RISC-V" in hdr and "RVC" in hdr and "soft-float" in hdr
    assert (d / "libvscore.a").stat().st_size > 0
    sizes = map_sizes(d / "probe" / "vs_bench.map")
    assert 4_000 < sizes["arm_common_tables"].text < 16_000


def test_cppcheck_clean() -> None:
    make("cppcheck")


@pytest.mark.parametrize("target", ["cortex-m4", "rv32imc"])
def test_no_warnings_in_our_objects(target: str) -> None:
    # -Werror already fails the build on a warning; this re-runs one compile to prove the flags are applied.
    b = make(target)
    out = subprocess.run(
        [
            "make",
            "-C",
            str(FIRMWARE),
            "-n",
            "-B",
            f"BUILD={b.build_dir}",
            f"{b.target_dir(target)}/src/vs_features.o",
        ],
        capture_output=True,
        text=True,
    ).stdout
    assert "-Wall" in out and "-Wextra" in out and "-Werror" in out and "-Os" in out
