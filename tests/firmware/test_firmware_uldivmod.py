"""firmware_stm32/src/uldivmod.S (the compact __aeabi_uldivmod that keeps the board image inside 64 KB) gives
the same quotient and remainder as libgcc on 20,010 cases (edge cases and random operands of every magnitude),
run on QEMU mps2-an386 (Cortex-M4) by firmware_stm32/tests/uldivmod_check.c."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARCH = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]


def test_compact_uldivmod_matches_libgcc(tmp_path: Path) -> None:
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-objcopy", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found on PATH (./dev.sh setup installs it)")
    obj, renamed, elf = tmp_path / "u.o", tmp_path / "u2.o", tmp_path / "check.elf"
    subprocess.run(["arm-none-eabi-gcc", *ARCH, "-c", str(ROOT / "firmware_stm32/src/uldivmod.S"), "-o", str(obj)],
                   check=True)  # fmt: skip
    # the routine under test gets another name so that the C reference `/` and `%` still use libgcc's
    subprocess.run(["arm-none-eabi-objcopy", "--redefine-sym", "__aeabi_uldivmod=test_uldivmod", str(obj),
                    str(renamed)], check=True)  # fmt: skip
    port = ROOT / "firmware_core/port/qemu_m4"
    subprocess.run(
        ["arm-none-eabi-gcc", *ARCH, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror",
         f"-I{ROOT / 'firmware_core/include'}", "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs",
         "-T", str(port / "mps2_an386.ld"), str(port / "startup.c"), str(port / "semihost.c"),
         str(ROOT / "firmware_stm32/tests/uldivmod_check.c"), str(renamed), "-o", str(elf)],
        check=True,
    )  # fmt: skip
    run = subprocess.run(
        ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-semihosting-config", "enable=on,target=native",
         "-kernel", str(elf)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert run.returncode == 0 and "uldivmod ok 20010" in run.stdout + run.stderr, (run.stdout, run.stderr)
