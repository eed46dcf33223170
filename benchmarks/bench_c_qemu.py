"""Instructions per 1024-sample frame on Cortex-M4F and RV32IMC (QEMU), side by side with arm_mfcc_f32.

    .venv/bin/python benchmarks/bench_c_qemu.py [--bundle BUNDLE_DIR] [--no-rv32] [--no-mahalanobis]
                                                [--arithmetic f32|q31|both]

Builds firmware_core's benchmark images (``make qemu-m4 rv32imc-probe MODEL_DIR=...``) with the INT8 40-32-16-32-40
autoencoder: exported from ``--bundle`` when given, otherwise trained here for a few epochs on sample_data
normal recordings (TensorFlow; the weights do not change the instruction count, only the shapes do). Runs them
(qemu-system-arm -M mps2-an386, qemu-system-riscv32 -M virt) under ``-singlestep -d exec,nochain`` and counts
the instructions between markers (tests/support/cqemu.py). Reports instructions, not cycles: QEMU does not
model pipeline timing. RV32IMC has no FPU (ESP32-C3 class): its float work is libgcc soft float.

Each target runs with ``FeatureParams.arithmetic = "f32"`` (CMSIS-DSP float32) and ``"q31"`` (the fixed-point
path of vs_features_q31.c, built into its own BUILD dir from a features TOML); the goals table puts them side
by side. The model is the same for both (its weights do not change the instruction count).
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
MAHA_DIR = ROOT / "firmware_core" / "build" / "bench-model-mahalanobis"
MAHA_BUILD = ROOT / "firmware_core" / "build" / "bench-mahalanobis"
Q31_BUILD = ROOT / "firmware_core" / "build" / "bench-q31"
RV32_GOAL = 800_000
BUDGET_INSTRUCTIONS = 150_000
AE_MACS = 40 * 32 + 32 * 16 + 16 * 32 + 32 * 40
MAHA_MACS = 40 * 40
FRAME = 1024

#: Measured by this script at commit a659165 (before issue P), same regions and marker subtraction.
BEFORE = {
    "m4 node frame": 118_125,
    "m4 features": 89_352,
    "m4 z-score + model + score": 28_727,
    "m4 trigger float per sample": 17_041 / FRAME,
    "rv32 node frame": 3_980_464,
}


def _normal_features() -> np.ndarray:
    from vibsentry.dsp import FeatureParams, extract_features
    from vibsentry.dsp.io import read_recording

    p = FeatureParams()
    rows = [
        extract_features(read_recording(w).data[:, 0], params=p)
        for w in sorted((ROOT / "sample_data" / "synthetic").glob("*normal*.wav"))
    ]
    return np.concatenate(rows)


def _render(tfl: bytes, out: Path, name: str, mean: np.ndarray, std: np.ndarray) -> Path:
    from vibsentry.codegen.lower import lower
    from vibsentry.codegen.render import render
    from vibsentry.codegen.tflite_reader import read_tflite

    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_bytes(tfl)
    h, c = render(
        lower(read_tflite(path)),
        name="vs_model",
        source_name=path.name,
        normalisation=([float(v) for v in mean], [float(v) for v in std]),
    )
    (out / "vs_model_data.h").write_text(h, encoding="utf-8")
    (out / "vs_model_data.c").write_text(c, encoding="utf-8")
    return out


def build_mahalanobis() -> Path:
    """The 40x40 single FULLY_CONNECTED "mahalanobis" model (LinearDetector), INT8, into MAHA_DIR."""
    from vibsentry.training.models import LinearDetector, normalise
    from vibsentry.training.quantize import convert_int8, representative_rows

    X = _normal_features()
    det = LinearDetector(method="mahalanobis").fit(X)
    tfl = convert_int8(det.model_, representative_rows(normalise(X, det.mean_, det.std_)))
    return _render(tfl, MAHA_DIR, "mahalanobis_40x40.tflite", det.mean_, det.std_)


def build_model(bundle: Path | None) -> Path:
    """Write vs_model_data.[ch] for the benchmark into MODEL_DIR and return it."""
    from vibsentry.codegen.export import export_c

    if bundle is not None:
        export_c(bundle, MODEL_DIR, force=True)
        return MODEL_DIR
    from vibsentry.training.models import AutoencoderDetector, normalise
    from vibsentry.training.quantize import convert_int8, representative_rows

    X = _normal_features()
    ae = AutoencoderDetector(hidden=(32, 16, 32), epochs=20, seed=0).fit(X, quiet=True)
    tfl = convert_int8(ae.model_, representative_rows(normalise(X, ae.mean_, ae.std_)))
    return _render(tfl, MODEL_DIR, "ae_40_32_16_32_40.tflite", ae.mean_, ae.std_)


def q31_toml() -> Path:
    """A features TOML with the default FeatureParams but ``arithmetic = "q31"`` (in Q31_BUILD)."""
    Q31_BUILD.mkdir(parents=True, exist_ok=True)
    path = Q31_BUILD / "features_q31.toml"
    path.write_text('[features]\narithmetic = "q31"\n', encoding="utf-8")
    return path


def build_image(
    target: cqemu.Target, model_dir: Path | None, build: Path | None = None, features_toml: Path | None = None
) -> Path:
    import subprocess

    extra = [f"MODEL_DIR={model_dir}"] if model_dir else []
    if build is not None:
        extra.append(f"BUILD={build}")
    if features_toml is not None:
        extra.append(f"FEATURES_TOML={features_toml}")
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
    base = build if build is not None else ROOT / "firmware_core" / "build"
    return base / (target.image + ("-model" if model_dir else "")) / "vs_bench.elf"


def table(target: cqemu.Target, model_dir: Path | None, arithmetic: str = "f32") -> dict[str, int]:
    if arithmetic == "q31":
        elf = build_image(target, model_dir, Q31_BUILD, q31_toml())
    else:
        elf = build_image(target, model_dir)
    out = cqemu.parse_output(cqemu.run_image(elf, target=target))
    counts = cqemu.count_regions(elf, target=target)
    by = dict(zip(cqemu.REGIONS, counts, strict=True))
    mfcc = by[cqemu.REGIONS[5]]
    print(
        f"\n### {target.name}, arithmetic={arithmetic}: {' '.join(target.qemu[:3])}, -Os, "
        "instructions per 1024-sample frame"
    )
    print(f"(executed-instruction trace; marker overhead {counts[0]} subtracted)\n")
    print(f"| {'region':54s} | {'instructions':>12s} | {'vs arm_mfcc_f32':>15s} |")
    print(f"|{'-' * 56}|{'-' * 14}|{'-' * 17}|")
    for name, n in list(by.items())[1:]:
        print(f"| {name:54s} | {n:12,d} | {n / mfcc:14.2f}x |")
    node = by[cqemu.REGIONS[2]] + by[cqemu.REGIONS[3]] + by[cqemu.REGIONS[4]]
    print(f"| {'node frame: features + AE + scoring + alarm':54s} | {node:12,d} | {node / mfcc:14.2f}x |")
    sent = node + by[cqemu.REGIONS[7]]
    print(f"| {'... + SCORE message on the wire':54s} | {sent:12,d} | {sent / mfcc:14.2f}x |")
    if target is cqemu.M4 and arithmetic == "q31":
        print(
            f"\nq31 on an FPU core, for comparison only (the M4F node uses f32); "
            f"stack high-water {out.get('STACK', 0)} bytes"
        )
    elif target is cqemu.M4:
        verdict = "met" if node <= BUDGET_INSTRUCTIONS else "MISSED"
        print(
            f"\nbudget {BUDGET_INSTRUCTIONS:,d} per frame: {verdict} ({node / BUDGET_INSTRUCTIONS:.0%} of it); "
            f"stack high-water {out.get('STACK', 0)} bytes"
        )
    elif arithmetic == "q31":
        verdict = "met" if node <= RV32_GOAL else "MISSED"
        print(
            f"\nno FPU; integer features; goal {RV32_GOAL:,d} per node frame: {verdict} ({node / RV32_GOAL:.0%})"
        )
    else:
        print("\nno FPU: every float operation above is a libgcc soft-float call")
    if "SCORE" in out:
        score = struct.unpack("<f", struct.pack("<I", int(out["SCORE"])))[0]  # type: ignore[arg-type]
        print(f"anomaly score of the benchmark frame (CWRU inner-race fault): {score:.4g}")
    by["node"] = node
    return by


def model_alone(model_dir: Path, build: Path) -> int:
    """Instructions of vs_model_run_s8 alone on the M4 for another exported model (its own build dir)."""
    elf = build_image(cqemu.M4, model_dir, build)
    return cqemu.count_regions(elf)[cqemu.REGIONS.index("INT8 model alone (vs_model_run_s8)")]


def goals(
    m4: dict[str, int] | None,
    rv: dict[str, int] | None,
    maha: int | None,
    q31: dict[str, dict[str, int]] | None = None,
) -> None:
    """Issue P's goals: before (BEFORE) and now, side by side."""
    R = cqemu.REGIONS
    rows: list[tuple[str, str, str, str]] = []

    def row(goal: str, before: str, now: str, met: bool | None) -> None:
        rows.append((goal, before, now, "-" if met is None else ("met" if met else "MISSED")))

    if m4:
        node, model = m4["node"], m4[R[9]]
        row(
            "M4 node frame (features+model+score+alarm) <= 100,000",
            f"{BEFORE['m4 node frame']:,}",
            f"{node:,}",
            node <= 100_000,
        )
        row("M4 features", f"{BEFORE['m4 features']:,}", f"{m4[R[2]]:,}", None)
        row("M4 z-score + INT8 AE + MSE", f"{BEFORE['m4 z-score + model + score']:,}", f"{m4[R[3]]:,}", None)
        row("M4 INT8 40-32-16-32-40 AE alone <= 10,000", "-", f"{model:,}", model <= 10_000)
        row(
            "M4 AE instructions per MAC <= 2.5 (whole model, 3,584 MACs)",
            f"~{BEFORE['m4 z-score + model + score'] / AE_MACS:.1f} (incl. z-score)",
            f"{model / AE_MACS:.2f}",
            model / AE_MACS <= 2.5,
        )
        tr = m4[R[8]] / FRAME
        row(
            "M4 trigger <= 4 instructions/sample on raw int16",
            f"{BEFORE['m4 trigger float per sample']:.1f} (float)",
            f"{tr:.2f} (int16; float path {m4[R[1]] / FRAME:.1f})",
            tr <= 4.0,
        )
    if maha is not None:
        row("M4 INT8 40x40 mahalanobis model alone", "-", f"{maha:,} ({maha / MAHA_MACS:.2f}/MAC)", None)
    if rv:
        row(
            "RV32IMC node frame, arithmetic=f32 (soft float)",
            f"{BEFORE['rv32 node frame']:,}",
            f"{rv['node']:,}",
            None,
        )
    q31 = q31 or {}
    if cqemu.RV32.name in q31:
        rq = q31[cqemu.RV32.name]
        row(
            f"RV32IMC node frame, arithmetic=q31 <= {RV32_GOAL:,}",
            f"{BEFORE['rv32 node frame']:,}",
            f"{rq['node']:,} (features {rq[R[2]]:,})",
            rq["node"] <= RV32_GOAL,
        )
    if cqemu.M4.name in q31:
        mq = q31[cqemu.M4.name]
        row("M4 node frame, arithmetic=q31", "-", f"{mq['node']:,} (features {mq[R[2]]:,})", None)
    print("\n### Goals of issue P (instructions; before = commit a659165)\n")
    print(f"| {'goal':58s} | {'before':>22s} | {'now':>32s} | {'':6s} |")
    print(f"|{'-' * 60}|{'-' * 24}|{'-' * 34}|{'-' * 8}|")
    for g, b, n, v in rows:
        print(f"| {g:58s} | {b:>22s} | {n:>32s} | {v:6s} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, help="model bundle to export (default: train a small AE here)")
    ap.add_argument("--no-model", action="store_true", help="features only (no TensorFlow needed)")
    ap.add_argument("--no-rv32", action="store_true", help="skip the RV32IMC run (soft float: ~10 M lines)")
    ap.add_argument("--no-mahalanobis", action="store_true", help="skip the 40x40 mahalanobis model image")
    ap.add_argument(
        "--arithmetic",
        choices=("f32", "q31", "both"),
        default="both",
        help="feature arithmetic(s) to measure",
    )
    args = ap.parse_args(argv)
    model_dir = None if args.no_model else build_model(args.bundle)
    if model_dir:
        print(f"model: INT8 40-32-16-32-40 autoencoder from {model_dir}")
    results: dict[str, dict[str, int]] = {}
    q31: dict[str, dict[str, int]] = {}
    for target in (cqemu.M4,) if args.no_rv32 else (cqemu.M4, cqemu.RV32):
        reason = cqemu.require_qemu(target)
        if reason:
            print(f"\n{target.name} skipped: {reason}")
            continue
        if args.arithmetic in ("f32", "both"):
            results[target.name] = table(target, model_dir)
        if args.arithmetic in ("q31", "both"):
            q31[target.name] = table(target, model_dir, "q31")
    maha = None
    if model_dir and not args.no_mahalanobis and cqemu.M4.name in results:
        maha = model_alone(build_mahalanobis(), MAHA_BUILD)
    if model_dir:
        goals(results.get(cqemu.M4.name), results.get(cqemu.RV32.name), maha, q31)
    return 0


if __name__ == "__main__":
    sys.exit(main())
