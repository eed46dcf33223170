"""Instructions per 1024-sample frame on Cortex-M4F and RV32IMC (QEMU), side by side with arm_mfcc_f32.

    .venv/bin/python benchmarks/bench_c_qemu.py [--bundle BUNDLE_DIR]

Builds firmware_core's benchmark images (``make qemu-m4 rv32imc-probe MODEL_DIR=...``) with the INT8 40-32-16-32-40
autoencoder: exported from ``--bundle`` when given, otherwise trained here for a few epochs on sample_data
normal recordings (TensorFlow; the weights do not change the instruction count, only the shapes do). Runs them
(qemu-system-arm -M mps2-an386, qemu-system-riscv32 -M virt) under ``-singlestep -d exec,nochain`` and counts
the instructions between markers (tests/support/cqemu.py). Reports instructions, not cycles: QEMU does not
model pipeline timing. RV32IMC has no FPU (ESP32-C3 class): its float work is libgcc soft float.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import cqemu  # noqa: E402

MODEL_DIR = ROOT / "firmware_core" / "build" / "bench-model"
BUDGET_INSTRUCTIONS = 150_000


def _normal_features() -> np.ndarray:
    from vibsentry.dsp import FeatureParams, extract_features
    from vibsentry.dsp.io import read_recording

    p = FeatureParams()
    rows = [
        extract_features(read_recording(w).data[:, 0], params=p)
        for w in sorted((ROOT / "sample_data" / "synthetic").glob("*normal*.wav"))
    ]
    return np.concatenate(rows)


def build_model(bundle: Path | None) -> Path:
    """Write vs_model_data.[ch] for the benchmark into MODEL_DIR and return it."""
    from vibsentry.codegen.export import export_c
    from vibsentry.codegen.lower import lower
    from vibsentry.codegen.render import render
    from vibsentry.codegen.tflite_reader import read_tflite

    if bundle is not None:
        export_c(bundle, MODEL_DIR, force=True)
        return MODEL_DIR
    from vibsentry.training.models import AutoencoderDetector, normalise
    from vibsentry.training.quantize import convert_int8, representative_rows

    X = _normal_features()
    ae = AutoencoderDetector(hidden=(32, 16, 32), epochs=20, seed=0).fit(X, quiet=True)
    tfl = convert_int8(ae.model_, representative_rows(normalise(X, ae.mean_, ae.std_)))
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    path = MODEL_DIR / "ae_40_32_16_32_40.tflite"
    path.write_bytes(tfl)
    h, c = render(
        lower(read_tflite(path)),
        name="vs_model",
        source_name=path.name,
        normalisation=([float(v) for v in ae.mean_], [float(v) for v in ae.std_]),
    )
    (MODEL_DIR / "vs_model_data.h").write_text(h, encoding="utf-8")
    (MODEL_DIR / "vs_model_data.c").write_text(c, encoding="utf-8")
    return MODEL_DIR


def build_image(target: cqemu.Target, model_dir: Path | None) -> Path:
    import subprocess

    extra = [f"MODEL_DIR={model_dir}"] if model_dir else []
    make_target = "qemu-m4" if target is cqemu.M4 else "rv32imc-probe"
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(ROOT / "firmware_core"),
            "-j2",
            make_target,
            f"PYTHON={sys.executable}",
            *extra,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return (
        ROOT / "firmware_core" / "build" / (target.image + ("-model" if model_dir else "")) / "vs_bench.elf"
    )


def table(target: cqemu.Target, model_dir: Path | None) -> None:
    elf = build_image(target, model_dir)
    out = cqemu.parse_output(cqemu.run_image(elf, target=target))
    counts = cqemu.count_regions(elf, target=target)
    by = dict(zip(cqemu.REGIONS, counts, strict=True))
    mfcc = by[cqemu.REGIONS[5]]
    print(f"\n### {target.name}: {' '.join(target.qemu[:3])}, -Os, instructions per 1024-sample frame")
    print(f"(executed-instruction trace; marker overhead {counts[0]} subtracted)\n")
    print(f"| {'region':54s} | {'instructions':>12s} | {'vs arm_mfcc_f32':>15s} |")
    print(f"|{'-' * 56}|{'-' * 14}|{'-' * 17}|")
    for name, n in list(by.items())[1:]:
        print(f"| {name:54s} | {n:12,d} | {n / mfcc:14.2f}x |")
    node = by[cqemu.REGIONS[2]] + by[cqemu.REGIONS[3]] + by[cqemu.REGIONS[4]]
    print(f"| {'node frame: features + AE + scoring + alarm':54s} | {node:12,d} | {node / mfcc:14.2f}x |")
    sent = node + by[cqemu.REGIONS[7]]
    print(f"| {'... + SCORE message on the wire':54s} | {sent:12,d} | {sent / mfcc:14.2f}x |")
    if target is cqemu.M4:
        verdict = "met" if node <= BUDGET_INSTRUCTIONS else "MISSED"
        print(
            f"\nbudget {BUDGET_INSTRUCTIONS:,d} per frame: {verdict} ({node / BUDGET_INSTRUCTIONS:.0%} of it); "
            f"stack high-water {out.get('STACK', 0)} bytes"
        )
    else:
        print("\nno FPU: every float operation above is a libgcc soft-float call")
    if "SCORE" in out:
        score = struct.unpack("<f", struct.pack("<I", int(out["SCORE"])))[0]  # type: ignore[arg-type]
        print(f"anomaly score of the benchmark frame (CWRU inner-race fault): {score:.4g}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, help="model bundle to export (default: train a small AE here)")
    ap.add_argument("--no-model", action="store_true", help="features only (no TensorFlow needed)")
    ap.add_argument("--no-rv32", action="store_true", help="skip the RV32IMC run (soft float: ~10 M lines)")
    args = ap.parse_args(argv)
    model_dir = None if args.no_model else build_model(args.bundle)
    if model_dir:
        print(f"model: INT8 40-32-16-32-40 autoencoder from {model_dir}")
    for target in (cqemu.M4,) if args.no_rv32 else (cqemu.M4, cqemu.RV32):
        reason = cqemu.require_qemu(target)
        if reason:
            print(f"\n{target.name} skipped: {reason}")
            continue
        table(target, model_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
