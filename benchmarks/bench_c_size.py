"""Flash and RAM of the firmware_core node pipeline on Cortex-M4F and RV32IMC, per module, from linker maps.

    .venv/bin/python benchmarks/bench_c_size.py [--model-dir DIR]

Links the benchmark program (port/bench/vs_bench_main.c: trigger -> features -> INT8 model -> alarm, plus
CMSIS-DSP's arm_mfcc_f32 for comparison) with ``-Os -ffunction-sections -fdata-sections --gc-sections`` for
both targets and reads what the linker kept per object from the map file (tests/support/cqemu.py). The model
is the one bench_c_qemu.py exports to firmware_core/build/bench-model (run that first), or ``--model-dir``.

"node" totals leave out what only the benchmark needs: its frame and MFCC tables and console (vs_bench_main,
startup, semihost, console port) and the CMSIS functions only arm_mfcc_f32 uses. RAM is the node's static
buffers (symbols not named bench_*) plus the stack high-water mark measured on QEMU.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cqemu  # noqa: E402

FIRMWARE = ROOT / "firmware_core"
DEFAULT_MODEL = FIRMWARE / "build" / "bench-model"
FLASH_BUDGET = 48 * 1024
RAM_BUDGET = 24 * 1024
#: Linked only for the benchmark itself (comparison MFCC, test frame, console), not part of a node.
BENCH_ONLY = {
    "vs_bench_main",
    "startup",
    "semihost",
    "vs_platform_console_rv32",
    "crt0",
    "arm_mfcc_f32",
    "arm_mfcc_init_f32",
    "arm_absmax_f32",
    "arm_scale_f32",
    "arm_mat_vec_mult_f32",
}


def _make(target: str, model_dir: Path | None) -> None:
    extra = [f"MODEL_DIR={model_dir}"] if model_dir else []
    subprocess.run(
        ["make", "-s", "-C", str(FIRMWARE), "-j2", target, f"PYTHON={sys.executable}", *extra],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _group(mod: str) -> str:
    if mod.startswith("arm_common_tables") or mod.startswith("arm_const_structs"):
        return "CMSIS-DSP FFT tables (1024 only)"
    if mod.startswith("arm_"):
        return "CMSIS-DSP code"
    if "(toolchain)" in mod:
        return "C library / libgcc"
    return mod


def _node_ram(elf: Path, nm: str) -> tuple[int, list[tuple[str, int]]]:
    out = subprocess.run(
        [nm, "-S", "--size-sort", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    total, rows = 0, []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[2].lower() not in ("b", "d", "s", "g"):
            continue
        size, name = int(parts[1], 16), parts[3]
        if name.startswith("bench_"):
            continue
        total += size
        rows.append((name, size))
    return total, sorted(rows, key=lambda r: -r[1])


def report(target: str, map_file: Path, elf: Path, nm: str, stack: int) -> None:
    sizes = cqemu.map_sizes(map_file)
    groups: dict[str, cqemu.ModuleSize] = {}
    for mod, s in sizes.items():
        g = groups.setdefault(
            _group(mod) if mod not in BENCH_ONLY else "benchmark only: " + mod, cqemu.ModuleSize()
        )
        g.text += s.text
        g.data += s.data
        g.bss += s.bss
    print(f"\n### {target} (-Os, linked with --gc-sections)\n")
    print(f"| {'module':44s} | {'text':>7s} | {'data':>5s} | {'bss':>6s} |")
    print(f"|{'-' * 46}|{'-' * 9}|{'-' * 7}|{'-' * 8}|")
    node = cqemu.ModuleSize()
    for name in sorted(groups, key=lambda n: (n.startswith("benchmark only"), n)):
        s = groups[name]
        print(f"| {name:44s} | {s.text:7,d} | {s.data:5,d} | {s.bss:6,d} |")
        if not name.startswith("benchmark only"):
            node.text += s.text
            node.data += s.data
    flash = node.text + node.data
    ram, rows = _node_ram(elf, nm)
    print(f"| {'**node total (flash = text + data)**':44s} | {node.text:7,d} | {node.data:5,d} |        |")
    print(
        f"\nflash {flash:,d} B = {flash / 1024:.1f} KiB of the {FLASH_BUDGET // 1024} KiB budget "
        f"({'met' if flash <= FLASH_BUDGET else 'MISSED'})"
    )
    biggest = ", ".join(f"{n} {s:,d}" for n, s in rows[:6])
    print(
        f"RAM {ram + stack:,d} B = {(ram + stack) / 1024:.1f} KiB of the {RAM_BUDGET // 1024} KiB budget "
        f"({'met' if ram + stack <= RAM_BUDGET else 'MISSED'}): static {ram:,d} ({biggest}) "
        f"+ stack high-water {stack:,d} (measured on QEMU Cortex-M4)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--model-dir",
        type=Path,
        default=DEFAULT_MODEL,
        help="vs_model_data.[ch] to link (default: what bench_c_qemu.py exported)",
    )
    args = ap.parse_args(argv)
    model = args.model_dir if (args.model_dir / "vs_model_data.c").exists() else None
    if model is None:
        print(f"no model at {args.model_dir} (run benchmarks/bench_c_qemu.py first): sizes without a model")
    stack = 0
    if cqemu.require_qemu() is None:
        _make("qemu-m4", model)
        sub = "qemu-model" if model else "qemu"
        elf = FIRMWARE / "build" / "cortex-m4" / sub / "vs_bench.elf"
        out = cqemu.parse_output(cqemu.run_image(elf))
        stack = int(out.get("STACK", 0))  # type: ignore[arg-type]
        report(
            "Cortex-M4F (arm-none-eabi-gcc, newlib-nano)",
            elf.with_suffix(".map"),
            elf,
            "arm-none-eabi-nm",
            stack,
        )
    else:
        print("Cortex-M4F skipped: toolchain or QEMU missing")
    try:
        _make("rv32imc-probe", model)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        print(f"RV32IMC skipped: {exc}")
        return 0
    sub = "probe-model" if model else "probe"
    elf = FIRMWARE / "build" / "rv32imc" / sub / "vs_bench.elf"
    report(
        "RV32IMC (riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32, picolibc, soft float)",
        elf.with_suffix(".map"),
        elf,
        "riscv64-unknown-elf-nm",
        stack,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
