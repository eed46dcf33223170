"""Ed25519 verification on the node targets: instructions (QEMU), flash bytes and stack, side by side.

    .venv/bin/python benchmarks/bench_ed25519.py [--no-rv32]

Builds ``make ed25519-m4 ed25519-rv32`` (firmware_core/port/bench_ed25519: the verifier and a main that
verifies RFC 8032 TEST SHA(abc), hashes 1 KB, and rejects a one-bit-flipped signature), runs each image once
to check its results, then again under ``-singlestep -d exec,nochain`` to count the instructions between
markers (tests/support/cqemu.py). Flash is the verifier's code + constant data kept by the linker
(``--gc-sections``), read from the map file; stack is the Cortex-M4 image's painted high-water mark (the whole
program, so an upper bound for the verifier). Instructions, not cycles: QEMU does not model timing.
Budgets (issue H): <= 16 KB flash, <= 3 KB stack.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cqemu  # noqa: E402

MODULES = ("vs_sha512", "vs_fe25519", "vs_ge25519", "vs_ed25519_verify")
REGIONS = (
    "marker overhead",
    "vs_ed25519_verify, valid (64-byte message)",
    "vs_sha512 of 1024 bytes",
    "vs_ed25519_verify, one bit of S flipped",
)
FLASH_BUDGET, STACK_BUDGET = 16 * 1024, 3 * 1024
IMAGES = {cqemu.M4.name: ("ed25519-m4", "cortex-m4"), cqemu.RV32.name: ("ed25519-rv32", "rv32imc")}


def build(target: cqemu.Target) -> Path:
    make_target, arch_dir = IMAGES[target.name]
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "firmware_core"), make_target, f"PYTHON={sys.executable}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return ROOT / "firmware_core" / "build" / arch_dir / "ed25519" / "vs_bench.elf"


def report(target: cqemu.Target) -> None:
    elf = build(target)
    out = cqemu.parse_output(cqemu.run_image(elf, target=target))
    if out.get("VERIFY") != 0 or out.get("REJECT") == 0:
        raise SystemExit(f"{target.name}: wrong verification results {out}")
    counts = cqemu.count_regions(elf, target=target, n_regions=len(REGIONS))
    sizes = cqemu.map_sizes(elf.with_suffix(".map"))
    flash = {m: sizes[m].text + sizes[m].data for m in MODULES if m in sizes}
    total = sum(flash.values())
    print(f"\n### {target.name}: {' '.join(target.qemu[:3])}, -Os")
    print(f"(executed-instruction trace; marker overhead {counts[0]} subtracted)\n")
    print(f"| {'region':44s} | {'instructions':>12s} |")
    print(f"|{'-' * 46}|{'-' * 14}|")
    for name, n in zip(REGIONS[1:], counts[1:], strict=True):
        print(f"| {name:44s} | {n:12,d} |")
    print(
        f"\nflash (code + constants kept by the linker): {total:,d} bytes = {total / FLASH_BUDGET:.0%} of 16 KB"
    )
    print("  " + ", ".join(f"{m} {b:,d}" for m, b in flash.items()))
    ram = sum(sizes[m].data + sizes[m].bss for m in MODULES if m in sizes)
    print(f"static RAM of the verifier: {ram} bytes")
    stack = int(out.get("STACK", 0))  # type: ignore[arg-type]
    if stack:
        print(f"stack high-water (whole program): {stack:,d} bytes = {stack / STACK_BUDGET:.0%} of 3 KB")
    else:
        print("stack: not measured on this port (picolibc's crt0 does not paint the stack)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-rv32", action="store_true", help="Cortex-M4F only")
    args = ap.parse_args(argv)
    for target in (cqemu.M4,) if args.no_rv32 else (cqemu.M4, cqemu.RV32):
        reason = cqemu.require_qemu(target)
        if reason:
            print(f"\n{target.name} skipped: {reason}")
            continue
        report(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
