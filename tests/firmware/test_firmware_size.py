"""The STM32 node fits its budget: <= 64 KB of flash and <= 32 KB of RAM, every buffer and the stack included,
for both the QEMU image and the board image (HW=1: + clock tree, IWDG, SPI/DMA accelerometer driver), each built
with a trained bundle's INT8 model. The linker script already refuses to link a bigger image; this test reads
the sections of the linked ELF so that the numbers, not only the link, are checked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

FLASH_BUDGET = 64 * 1024
RAM_BUDGET = 32 * 1024


def sections(elf: Path, size_tool: str) -> dict[str, int]:
    """Section name -> size in bytes (``size -A``)."""
    out = subprocess.run([size_tool, "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    result = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("."):
            result[parts[0]] = int(parts[1])
    return result


def stm32_usage(elf: Path) -> tuple[int, int]:
    """(flash, RAM) bytes of a firmware_stm32 image (the sections of stm32f405_budget.ld)."""
    s = sections(elf, "arm-none-eabi-size")
    flash = sum(s.get(k, 0) for k in (".isr_vector", ".text", ".ARM.exidx", ".vs_ident", ".vs_keys", ".data"))
    ram = sum(s.get(k, 0) for k in (".data", ".bss", ".stack"))
    return flash, ram


@pytest.fixture(scope="module")
def bundle_dir() -> Path:
    from tests.support.dashboard import demo_bundle_dir

    return demo_bundle_dir()


@pytest.mark.parametrize("hw", [False, True], ids=["qemu", "board"])
def test_stm32_image_with_model_fits_64k_flash_32k_ram(hw: bool, bundle_dir: Path) -> None:
    from vibsentry.nodes import qemu

    reason = qemu.missing_tools(qemu.STM32)
    if reason:
        pytest.skip(reason)
    elf = qemu.build_image(qemu.STM32, bundle=bundle_dir, hw=hw)
    flash, ram = stm32_usage(elf)
    s = sections(elf, "arm-none-eabi-size")
    assert s[".stack"] >= 2048, "the stack section must be part of the RAM budget"
    assert s[".text"] > 20_000, "the image must contain the node (features, model runtime, protocol)"
    assert flash <= FLASH_BUDGET, f"flash {flash} B > {FLASH_BUDGET} B"
    assert ram <= RAM_BUDGET, f"RAM {ram} B > {RAM_BUDGET} B"
