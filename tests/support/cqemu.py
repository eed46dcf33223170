"""Run the firmware_core benchmark image on QEMU mps2-an386, count instructions, read linker maps.

Shared by tests/firmware/test_c_qemu.py and benchmarks/bench_c_qemu.py / bench_c_size.py.

Targets: Cortex-M4F on ``mps2-an386`` and RV32IMC on ``virt`` (the RV32 size probe is linked for its RAM at
0x80000000). Instruction counting: QEMU runs with ``-singlestep -d exec,nochain``, so every executed
instruction is one translation block and logs one ``Trace`` line with its PC. The image calls ``vs_bench_mark(id)`` between
regions; the instructions of region i are the trace lines between the i-th and (i+1)-th entry into
``vs_bench_mark``, less the empty region 0 (the marker's own cost). Deterministic: no timer, no cycles (QEMU
does not model them; DWT CYCCNT reads 0 there), so these are *instructions*.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Target:
    """One emulated target of the benchmark image."""

    name: str
    qemu: tuple[str, ...]  # command line without -kernel
    nm: str
    image: str  # path of the image under firmware_core/build, without the model suffix

    @property
    def tools(self) -> tuple[str, ...]:
        return (self.qemu[0], self.nm)


#: The flags both targets run with: no display, monitor or UART; the image reports through semihosting.
_SEMIHOSTED = (
    "-nographic",
    "-monitor",
    "none",
    "-serial",
    "none",
    "-semihosting-config",
    "enable=on,target=native",
)
M4 = Target(
    "cortex-m4",
    ("qemu-system-arm", "-M", "mps2-an386", *_SEMIHOSTED),
    "arm-none-eabi-nm",
    "cortex-m4/qemu",
)
RV32 = Target(
    "rv32imc",
    ("qemu-system-riscv32", "-M", "virt", "-bios", "none", *_SEMIHOSTED),
    "riscv64-unknown-elf-nm",
    "rv32imc/probe",
)
QEMU = M4.qemu[0]
QEMU_ARGS = list(M4.qemu[1:])

#: Regions of port/bench/vs_bench_main.c, in marker order (region 0, the empty one, is the overhead).
REGIONS = (
    "marker overhead",
    "trigger, 4 blocks of 256 samples",
    "frame copy + features (vs_features_compute_f32)",
    "z-score + INT8 autoencoder + reconstruction MSE",
    "alarm rule (vs_alarm_step_f32)",
    "CMSIS arm_mfcc_f32 (1024, 20 mel, 13 DCT) + frame copy",
    "CMSIS arm_rfft_fast_f32 (1024) + frame copy",
    "SCORE message (vs_proto_encode: COBS + CRC-32)",
    "trigger on raw int16 (vs_trigger_push_i16), 4 x 256",
    "INT8 model alone (vs_model_run_s8)",
)


def run_image(elf: Path, *, target: Target = M4, timeout: float = 60) -> str:
    """Boot the image and return what it printed through semihosting; raises on a non-zero exit."""
    proc = subprocess.run(
        [*target.qemu, "-kernel", str(elf)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{elf.name} exited {proc.returncode}: {(proc.stdout + proc.stderr)[-2000:]}")
    # QEMU 7.2 writes the semihosting console to stderr.
    return proc.stdout + proc.stderr


def parse_output(text: str) -> dict[str, dict[int, int] | int | str]:
    """``FEAT i hex`` / ``MFCC i hex`` lines into {tag: {i: bits}}, ``TAG hex`` into {tag: bits}, HASH text."""
    out: dict[str, dict[int, int] | int | str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in ("FEAT", "MFCC", "IN", "OUT"):
            d = out.setdefault(parts[0], {})
            assert isinstance(d, dict)
            d[int(parts[1])] = int(parts[2], 16)
        elif len(parts) == 2 and parts[0] in ("HASH", "WIRE"):
            out[parts[0]] = parts[1]
        elif len(parts) == 2:
            out[parts[0]] = int(parts[1], 16)
    return out


def symbol_address(elf: Path, name: str, nm: str = "arm-none-eabi-nm") -> int:
    """Address of a global symbol in an ELF."""
    for line in subprocess.run(
        [nm, str(elf)], capture_output=True, text=True, check=True
    ).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16) & ~1
    raise KeyError(f"{name} not in {elf}")


def count_regions(
    elf: Path, *, target: Target = M4, timeout: float = 600, n_regions: int = len(REGIONS)
) -> list[int]:
    """Instructions executed in each benchmark region (marker overhead subtracted), in REGIONS order.

    ``n_regions``: how many regions (marker overhead included) an image other than vs_bench_main.c has.

    The trace goes to QEMU's stderr and is counted as it streams (a soft-float RV32 run logs ~10 million
    lines; nothing is written to disk).
    """
    mark = symbol_address(elf, "vs_bench_mark", nm=target.nm)
    cmd = [*target.qemu, "-singlestep", "-d", "exec,nochain", "-kernel", str(elf)]
    hits: list[int] = []
    n = 0
    pat = re.compile(rb"^Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
    with subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            m = pat.match(line)
            if m is None:
                continue
            if int(m.group(1), 16) == mark:
                hits.append(n)
            n += 1
        rc = proc.wait(timeout=timeout)
    if rc != 0:
        raise RuntimeError(f"{elf.name}: QEMU exited {rc} while tracing")
    spans = [b - a for a, b in itertools.pairwise(hits)]
    if len(spans) != n_regions:
        raise RuntimeError(f"expected {n_regions + 1} markers in the trace, found {len(hits)}")
    return [spans[0]] + [s - spans[0] for s in spans[1:]]


@dataclass
class ModuleSize:
    text: int = 0
    data: int = 0
    bss: int = 0


def _module_name(path: str) -> str:
    m = re.search(r"([^/()]+)\.a\(([^)]+)\.o\)$", path)
    if m:
        lib, obj = m.groups()
        return obj if lib == "libvscore" else f"{lib} (toolchain)"
    m = re.search(r"([^/]+)\.o$", path)
    return m.group(1) if m else path.rsplit("/", 1)[-1]


def map_sizes(map_file: Path) -> dict[str, ModuleSize]:
    """Bytes of text (code + rodata), data and bss per input object kept by the linker (--gc-sections).

    Parses the "Linker script and memory map" part of a GNU ld map: input section lines carry address, size
    and object; the enclosing output section says which of text / data / bss they count towards.
    """
    sizes: dict[str, ModuleSize] = defaultdict(ModuleSize)
    text = map_file.read_text(errors="replace")
    body = text.split("Linker script and memory map", 1)[1]
    out_sec = ""
    pending = ""
    line_re = re.compile(r"^\s*(\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+\.(?:o|a\([^)]*\)))\s*$")
    for line in body.splitlines():
        if line and not line[0].isspace():
            out_sec = line.split()[0]
            continue
        m = line_re.match(line)
        if m is None:
            s = line.strip()
            pending = s if (s.startswith(".") and " " not in s) else ""
            continue
        name, size, obj = m.group(1) or pending, int(m.group(3), 16), m.group(4)
        pending = ""
        if size == 0 or name in ("*fill*",) or out_sec in ("", ".stack", ".comment", ".debug_info"):
            continue
        if (
            out_sec.startswith(".debug")
            or out_sec.startswith(".ARM.attributes")
            or out_sec == ".riscv.attributes"
        ):
            continue
        mod = sizes[_module_name(obj)]
        if out_sec in (".bss", ".tbss", ".noinit") or name.startswith(".bss") or name.startswith(".sbss"):
            mod.bss += size
        elif (
            out_sec in (".data", ".sdata", ".tdata") or name.startswith(".data") or name.startswith(".sdata")
        ):
            mod.data += size
        else:
            mod.text += size
    return dict(sizes)


def require_qemu(target: Target = M4) -> str | None:
    """None when the target's QEMU and toolchain are present, else the reason to skip."""
    for tool in target.tools:
        if shutil.which(tool) is None:
            return f"{tool} not found on PATH (./dev.sh setup installs it as root)"
    return None
