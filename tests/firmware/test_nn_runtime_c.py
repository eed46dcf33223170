"""The vs_nn kernels' C unit tests (sanitized), and the footprint of runtime + exported autoencoder on the
two firmware targets (Cortex-M4F and RV32IMC, ``-Os``), against the node budget.

Budget (ARCHITECTURE.md): core + model <= 48 KB flash and <= 24 KB RAM including frame buffers, shared with the
feature pipeline. The INT8 runtime and the 40-32-16-32-40 autoencoder get at most 12 KB of flash and 1 KB of RAM
(the arena) here, which leaves the rest to the features, CMSIS-DSP tables and the protocol.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import tflite_models as tm
from tests.support.cbuild import run_c_test

ROOT = Path(__file__).resolve().parents[2]
FLASH_BUDGET = 12 * 1024
RAM_BUDGET = 1024

TARGETS = {
    "cortex-m4": ("arm-none-eabi-", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]),
    "rv32imc": (
        "riscv64-unknown-elf-",
        ["-misa-spec=2.2", "-march=rv32imc", "-mabi=ilp32", "--specs=picolibc.specs"],
    ),
}


def test_nn_kernels_c_unit_tests() -> None:
    proc = run_c_test("test_nn")
    assert "0 failures" in proc.stdout


def _size(prefix: str, objs: list[Path]) -> dict[str, tuple[int, int, int]]:
    out = subprocess.run(
        [f"{prefix}size", *map(str, objs)], capture_output=True, text=True, check=True
    ).stdout
    sizes = {}
    for line in out.splitlines()[1:]:
        text, data, bss, *_rest, name = line.split()
        sizes[Path(name).stem] = (int(text), int(data), int(bss))
    return sizes


@pytest.mark.needs_tf
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_autoencoder_footprint_fits_node_budget(target: str, tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from vibsentry.codegen.export import export_c

    prefix, arch = TARGETS[target]
    if shutil.which(f"{prefix}gcc") is None:
        pytest.skip(f"{prefix}gcc not found (./dev.sh setup installs it as root)")
    src = tmp_path / "autoencoder.tflite"
    src.write_bytes(tm.convert("autoencoder"))
    res = export_c(src, tmp_path / "gen")
    objs = []
    for c in [*(tm.FIRMWARE / "src" / s for s in tm.RUNTIME_SOURCES), res.out_dir / "vs_model_data.c"]:
        obj = tmp_path / (Path(c).stem + ".o")
        cmd = [f"{prefix}gcc", *tm.CFLAGS, "-Os", "-ffunction-sections", "-fdata-sections", *arch,
               f"-I{tm.FIRMWARE / 'include'}", f"-I{res.out_dir}", "-c", str(c), "-o", str(obj)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        objs.append(obj)
    sizes = _size(prefix, objs)
    flash = sum(t + d for t, d, _ in sizes.values())
    static_ram = sum(d + b for _, d, b in sizes.values())
    ram = static_ram + res.plan.arena_bytes
    report = {"target": target, "per_object": sizes, "flash_bytes": flash, "ram_bytes": ram,
              "arena_bytes": res.plan.arena_bytes, "const_bytes": res.plan.const_bytes}  # fmt: skip
    out = ROOT / "build" / f"nn_footprint_{target}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    assert static_ram == 0, f"the runtime and model must be const (flash) only: {sizes}"
    assert flash <= FLASH_BUDGET, report
    assert ram <= RAM_BUDGET, report
    # The weights dominate: the generated data is at least the model's constant bytes.
    assert sizes["vs_model_data"][0] + sizes["vs_model_data"][1] >= res.plan.const_bytes
