"""Code size, instance RAM and stack frames of vs_node (the node application core) on Cortex-M4F and RV32IMC.

    .venv/bin/python benchmarks/bench_node_size.py

Builds ``make -C firmware_core cortex-m4 rv32imc`` (objects at -Os) and reports, per target:
  * text/data/bss of vs_node.o and vs_ring.o as compiled (before --gc-sections: an upper bound);
  * sizeof(vs_node_t) and its biggest members, read from a probe object compiled with the target's flags
    (each number is the size of a bss symbol declared ``char name[sizeof ...]``, so no program runs);
  * the static stack frame of each vs_node function (GCC -fstack-usage) - the deepest path also runs
    vs_features_compute_f32 and vs_model_run, whose frames are listed too.
Whole-firmware images (startup, drivers, linker script) are measured by the firmware builds, not here.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FW = ROOT / "firmware_core"
TARGETS = {
    "cortex-m4": ("arm-none-eabi-", "cortex-m4"),
    "rv32imc": ("riscv64-unknown-elf-", "rv32imc"),
}
MEMBERS = ("ring_buf", "trigger_frame", "work", "raw", "arena", "decoder", "counters", "update", "baseline")

PROBE = """
#include <stddef.h>
#include "vs/vs_node.h"
char probe_sizeof_vs_node_t[sizeof(vs_node_t)];
{members}
"""


def make_var(name: str) -> str:
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(FW), f"print-{name}"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return out.stdout.strip()


def sizes(prefix: str, obj: Path) -> tuple[int, int, int]:
    line = subprocess.run([f"{prefix}size", str(obj)], capture_output=True, text=True, check=True).stdout
    text, data, bss = map(int, line.splitlines()[1].split()[:3])
    return text, data, bss


def probe(prefix: str, flags: list[str]) -> dict[str, int]:
    members = "\n".join(f"char probe_{m}[sizeof(((vs_node_t *)0)->{m})];" for m in MEMBERS)
    with tempfile.TemporaryDirectory() as d:
        src, obj = Path(d) / "probe.c", Path(d) / "probe.o"
        src.write_text(PROBE.format(members=members))
        subprocess.run([f"{prefix}gcc", *flags, "-fno-common", "-c", str(src), "-o", str(obj)], check=True)
        nm = subprocess.run(
            [f"{prefix}nm", "-S", str(obj)], capture_output=True, text=True, check=True
        ).stdout
    out = {}
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3].startswith("probe_"):
            out[parts[3][len("probe_") :]] = int(parts[1], 16)
    return out


def stack_frames(prefix: str, flags: list[str], sources: list[str]) -> dict[str, int]:
    frames: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as d:
        for s in sources:
            obj = Path(d) / (Path(s).stem + ".o")
            subprocess.run([f"{prefix}gcc", *flags, "-fstack-usage", "-c", s, "-o", str(obj)], check=True)
            for line in obj.with_suffix(".su").read_text().splitlines():
                m = re.match(r".*:(\w+)\s+(\d+)\s+(\w+)", line)
                if m:
                    frames[m.group(1)] = int(m.group(2))
    return frames


def main() -> int:
    subprocess.run(["make", "-s", "-C", str(FW), "cortex-m4", "rv32imc"], check=True, capture_output=True)
    common = make_var("COMMON").replace("-MMD -MP", "").split()
    arch = {
        "cortex-m4": [*make_var("ARM_ARCH").split(), "-Os"],
        "rv32imc": [*make_var("RV_ARCH").split(), "-Os"],
    }
    for target, (prefix, dirname) in TARGETS.items():
        build = FW / "build" / dirname / "src"
        flags = [*common, *arch[target]]
        print(f"== {target} (-Os)")
        for name in ("vs_node", "vs_ring"):
            t, da, b = sizes(prefix, build / f"{name}.o")
            print(f"  {name}.o: text {t} B, data {da} B, bss {b} B")
        p = probe(prefix, flags)
        print(f"  sizeof(vs_node_t) = {p.pop('sizeof_vs_node_t')} B; largest members:")
        for m, n in sorted(p.items(), key=lambda kv: -kv[1]):
            print(f"    {m:14s} {n:6d} B")
        srcs = [str(FW / "src" / f) for f in ("vs_node.c", "vs_features.c", "vs_nn_model.c", "vs_protocol.c")]
        fr = stack_frames(prefix, flags, srcs)
        keys = [k for k in fr if k.startswith("vs_node") or k in (
            "analyse", "drain_samples", "process_block", "score_features", "emit", "handle_command",
            "cmd_replay", "vs_features_compute_f32", "vs_model_run", "vs_proto_encode")]  # fmt: skip
        print("  static stack frames (bytes): " + ", ".join(f"{k} {fr[k]}" for k in sorted(keys)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
