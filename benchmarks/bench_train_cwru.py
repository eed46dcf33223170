"""CWRU-10 (12 kHz drive end): cross-load fault classifier and normal-only anomaly detector, float vs INT8.

    .venv/bin/python benchmarks/bench_train_cwru.py [--datasets ../shared/datasets] [--only classifier|anomaly]

Classifier: the 10 CWRU-10 classes (normal, IR/B/OR@6 at 0.007/0.014/0.021 in). Train on three loads, test on
the fourth, all four folds (no window of a test load is ever trained on). The dataset copy holds healthy data
only at 0 hp (file 97, sampled at 48 kHz: resampled to 12 kHz by the loader); its 5.08 s are cut into four
contiguous quarters that stand in for the four loads, so the normal class is also tested on unseen data.

The same protocol without the normal class (9 fault types, ``--only faults9``) separates the fault-type
question from that confound.

Anomaly: the autoencoder trained on the first 60 % of file 97 (normal, 0 hp), calibrated on the next 20 %,
scored on the last 20 % plus every 12 kHz fault file: AUC per fault class. CWRU healthy-vs-faulty is easy
(RMS alone separates it), so AUC near 1.0 is expected and says little about harder plants.

Each run goes through ``vibsentry.training.api.train_bundle`` (features, training, INT8, evaluation, report)
and its wall time is printed: the whole-run budget is 3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("IR007", "IR014", "IR021", "B007", "B014", "B021", "OR007@6", "OR014@6", "OR021@6")
NORMAL_FILE = "normal_0_97.mat"


def cwru_rows(cwru: Path) -> list[dict[str, str]]:
    """Manifest rows of the CWRU-10 fault files (12 kHz DE) plus the normal record split in four quarters."""
    rows = []
    for f in sorted(cwru.glob("12k_Drive_End_*.mat")):
        m = re.match(r"12k_Drive_End_(\w+?(?:@6)?)_(\d)_(\d+)\.mat$", f.name)
        if not m or m.group(1) not in CLASSES:
            continue
        label, load = m.group(1), m.group(2)
        rows.append({"path": str(f), "label": label, "fs": "12000", "load": load, "group": f.stem})
    quarter = 5.08 / 4
    for q in range(4):
        rows.append(
            {
                "path": str(cwru / NORMAL_FILE),
                "label": "normal",
                "fs": "48000",
                "load": str(q),
                "group": f"normal_97_q{q}",
                "start_s": f"{q * quarter:.4f}",
                "end_s": f"{(q + 1) * quarter:.4f}",
            }
        )
    return rows


def write_manifest(rows: list[dict[str, str]], path: Path) -> Path:
    cols = ["path", "label", "fs", "channel", "group", "split", "load", "start_s", "end_s"]
    lines = [",".join(cols)] + [",".join(r.get(c, "") for c in cols) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def classifier(cwru: Path, tmp: Path, *, with_normal: bool = True) -> dict[str, object]:
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle

    base = [r for r in cwru_rows(cwru) if with_normal or r["label"] != "normal"]
    folds = []
    for test_load in "0123":
        rows = [{**r, "split": "test" if r["load"] == test_load else "train"} for r in base]
        tag = f"cls{int(with_normal)}_{test_load}"
        m = write_manifest(rows, tmp / f"{tag}.csv")
        t0 = time.perf_counter()
        b = load_bundle(train_bundle(m, tmp / tag, kind="classifier"))
        wall = time.perf_counter() - t0
        mt = b.meta["metrics"]
        folds.append(
            {
                "test_load_hp": int(test_load),
                "wall_s": round(wall, 1),
                "n_test_windows": mt["n_windows"],
                **{f"{w}_{k}": mt[w][k] for w in ("float", "int8") for k in ("accuracy", "macro_f1")},
            }
        )
        print(json.dumps(folds[-1]), flush=True)
    summary: dict[str, object] = {"folds": folds}
    for w in ("float", "int8"):
        for k in ("accuracy", "macro_f1"):
            vals = [f[f"{w}_{k}"] for f in folds]
            summary[f"{w}_{k}_mean"] = sum(vals) / len(vals)  # type: ignore[arg-type]
            summary[f"{w}_{k}_worst"] = min(vals)  # type: ignore[type-var]
    return summary


def anomaly(cwru: Path, tmp: Path) -> dict[str, object]:
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle

    rows = [r for r in cwru_rows(cwru) if r["label"] != "normal"]
    rows.append(
        {"path": str(cwru / NORMAL_FILE), "label": "normal", "fs": "48000", "load": "0", "group": "normal_97"}
    )
    m = write_manifest(rows, tmp / "anomaly.csv")
    cfg = tmp / "anomaly.toml"
    # 59 frames at the default hop are too few to train and calibrate on; hop 256 gives 235 (overlapping,
    # with the time-block split dropping the straddling frames).
    cfg.write_text("[features]\nhop_length = 256\n")
    t0 = time.perf_counter()
    b = load_bundle(train_bundle(m, tmp / "anomaly", config=cfg))
    wall = time.perf_counter() - t0
    mt = b.meta["metrics"]
    return {
        "wall_s": round(wall, 1),
        "windows": b.meta["training_data"]["windows"],
        "auc_float": mt["float"]["auc"],
        "auc_int8": mt["int8"]["auc"],
        "per_class_auc_int8": mt["int8"]["per_class_auc"],
        "detection_rate_int8": mt["int8"]["detection_rate"],
        "false_alarm_rate_int8": mt["int8"]["false_alarm_rate"],
        "alarm": b.meta["alarm"],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--only", choices=("classifier", "faults9", "anomaly"))
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    cwru = args.datasets / "cwru"
    if not (cwru / NORMAL_FILE).is_file():
        print(f"skipped: CWRU data not found at {cwru} (pass --datasets)")
        return 0
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as td:
        if args.only in (None, "classifier"):
            out["classifier_cross_load"] = classifier(cwru, Path(td))
        if args.only in (None, "faults9"):
            # Fault type only (9 classes): the healthy class exists at 0 hp alone, which confounds load 0.
            out["fault_type_cross_load"] = classifier(cwru, Path(td), with_normal=False)
        if args.only in (None, "anomaly"):
            out["anomaly"] = anomaly(cwru, Path(td))
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
