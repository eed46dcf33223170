"""Anomaly AUC of models trained on q31 features against the same models on f32 features (issue P).

    .venv/bin/python benchmarks/bench_q31_auc.py [--autoencoder] [--cwru ../shared/datasets/cwru]

Features: default FeatureParams with ``arithmetic = "f32"`` and ``"q31"`` (vibsentry.dsp.fixed, bit-identical
to the node's vs_features_q31.c). Two datasets from sample_data/:

- synthetic: train on the ``train`` split's normal recordings, test the ``test`` split (normal vs faults);
- CWRU excerpts: train on the first half of the normal excerpt, test its second half against the three faults.

Detectors: the Gaussian (Mahalanobis) and IsolationForest baselines of vibsentry.training.models, seeded, and
with ``--autoencoder`` the 32-16-32 autoencoder (TensorFlow, float). Prints AUC f32, AUC q31 and the difference
(issue P's goal: within 0.01). Also prints the largest feature differences q31 - f32 on the test frames.

``--cwru DIR`` also runs benchmarks/bench_train_cwru.py's anomaly protocol on the full CWRU 12 kHz drive-end
records (autoencoder through ``train_bundle``, INT8, per-class AUC) once with f32 and once with q31 features.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vibsentry.dsp import FeatureParams, extract_features  # noqa: E402
from vibsentry.dsp.io import read_recording  # noqa: E402


def _features(path: Path, params: FeatureParams, start: float | None, end: float | None) -> np.ndarray:
    rec = read_recording(path)
    x = rec.data[:, 0]
    fs = rec.sample_rate
    a = int(start * fs) if start else 0
    b = int(end * fs) if end else x.size
    return extract_features(x[a:b], params=params)


def datasets(params: FeatureParams) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """name -> (train normal, test normal, test fault) feature matrices."""
    from vibsentry.training.manifest import read_manifest

    rows = read_manifest(ROOT / "sample_data" / "manifest.csv")
    tr: list[np.ndarray] = []
    tn: list[np.ndarray] = []
    tf: list[np.ndarray] = []
    cw_norm: list[np.ndarray] = []
    cw_fault: list[np.ndarray] = []
    for r in rows:
        path = r.file
        f = _features(path, params, r.start_s, r.end_s)
        if "cwru" in path.parts:
            (cw_norm if r.label == "normal" else cw_fault).append(f)
        elif r.split == "train" and r.label == "normal":
            tr.append(f)
        elif r.split == "test":
            (tn if r.label == "normal" else tf).append(f)
    cn = np.concatenate(cw_norm)
    h = cn.shape[0] // 2
    return {
        "synthetic": (np.concatenate(tr), np.concatenate(tn), np.concatenate(tf)),
        "cwru": (cn[:h], cn[h:], np.concatenate(cw_fault)),
    }


def cwru_full(cwru: Path) -> None:
    """bench_train_cwru.anomaly with arithmetic f32 and q31: AUC float / INT8 and the worst per-class AUC."""
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_train_cwru import NORMAL_FILE, cwru_rows, write_manifest  # type: ignore[import-not-found]

    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle

    rows = [r for r in cwru_rows(cwru) if r["label"] != "normal"]
    rows.append(
        {"path": str(cwru / NORMAL_FILE), "label": "normal", "fs": "48000", "load": "0", "group": "n97"}
    )
    print("\n| CWRU 12 kHz DE, autoencoder (train_bundle) | AUC float | AUC INT8 | worst class AUC INT8 |")
    print("|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        m = write_manifest(rows, tmp / "anomaly.csv")
        for a in ("f32", "q31"):
            cfg = tmp / f"{a}.toml"
            cfg.write_text(f'[features]\nhop_length = 256\narithmetic = "{a}"\n')
            mt = load_bundle(train_bundle(m, tmp / a, config=cfg)).meta["metrics"]
            worst = min(mt["int8"]["per_class_auc"].values())
            print(f"| arithmetic={a} | {mt['float']['auc']:.4f} | {mt['int8']['auc']:.4f} | {worst:.4f} |")


def main(argv: list[str] | None = None) -> int:
    from vibsentry.training.models import IsolationForestDetector, MahalanobisDetector
    from vibsentry.training.select import auc

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--autoencoder", action="store_true", help="also the 32-16-32 autoencoder (TensorFlow)")
    ap.add_argument("--cwru", type=Path, help="folder of the CWRU .mat records (bench_train_cwru's layout)")
    args = ap.parse_args(argv)
    if args.cwru:
        cwru_full(args.cwru.resolve())
    f32 = FeatureParams()
    data = {a: datasets(f32.replace(arithmetic=a)) for a in ("f32", "q31")}
    makers = {
        "mahalanobis": lambda: MahalanobisDetector(seed=0),
        "isolation forest": lambda: IsolationForestDetector(seed=0),
    }
    if args.autoencoder:
        from vibsentry.training.models import AutoencoderDetector

        makers["autoencoder 32-16-32"] = lambda: AutoencoderDetector(hidden=(32, 16, 32), epochs=30, seed=0)
    print("| dataset | detector | frames (train / normal / fault) | AUC f32 | AUC q31 | q31 - f32 |")
    print("|---|---|---|---:|---:|---:|")
    worst = 0.0
    for name in data["f32"]:
        for det_name, make in makers.items():
            aucs = []
            for a in ("f32", "q31"):
                train, neg, pos = data[a][name]
                det = make()
                det.fit(train, quiet=True) if det_name.startswith("autoencoder") else det.fit(train)
                aucs.append(auc(det.score_samples(neg), det.score_samples(pos)) or float("nan"))
            tr, ng, ps = data["f32"][name]
            d = aucs[1] - aucs[0]
            worst = max(worst, abs(d))
            print(
                f"| {name} | {det_name} | {len(tr)} / {len(ng)} / {len(ps)} | {aucs[0]:.4f} | {aucs[1]:.4f} | "
                f"{d:+.4f} |"
            )
    print(
        f"\nlargest |AUC q31 - AUC f32|: {worst:.4f} (goal <= 0.01: {'met' if worst <= 0.01 else 'MISSED'})"
    )
    names = f32.feature_names
    for name in data["f32"]:
        fa = np.concatenate(data["f32"][name][1:])
        fb = np.concatenate(data["q31"][name][1:])
        lm = np.abs(fa[:, :32] - fb[:, :32]).max()
        rel = np.abs(fa[:, 32:] - fb[:, 32:]) / np.maximum(np.abs(fa[:, 32:]), 1e-3)
        j = int(rel.max(axis=0).argmax())
        print(
            f"{name}: max |logmel q31 - f32| = {lm:.2e} (natural log); largest relative difference of the others "
            f"{rel.max():.2e} ({names[32 + j]})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
