"""FEMTO-ST PRONOSTIA Bearing1_2 run to failure: false alarms in mid-life and time of the first persistent alarm.

    .venv/bin/python benchmarks/bench_train_femto.py [--datasets ../shared/datasets] [--out build/bench]

The dataset copy holds every 4th snapshot of Bearing1_2 (0.1 s at 25.6 kHz, horizontal axis used, one
snapshot every 40 s over 2 h 25 min). FEMTO gives no health labels, so the convention used here (state it
with the numbers): the first 25 % of life is healthy and trains the detector (snapshots 0-20 % train,
20-25 % calibrate the threshold), 25-50 % of life is assumed healthy too and measures false alarms, and the
rest is scored to find the first persistent alarm (k of the last n windows above the threshold).

Features run at the recording's own rate (25.6 kHz, frame 1024, hop 512: 4 windows per snapshot) rather
than resampling 0.1 s snapshots to 12 kHz, which would leave one window each. The alarm rule runs over the
windows in time order as if they were contiguous (they are 40 s apart between snapshots). Writes
``femto_score_over_life.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = ap.parse_args(argv)
    run = args.datasets / "femto_pronostia" / "Learning_set" / "Bearing1_2"
    files = sorted(run.glob("acc_*.csv"))
    if not files:
        print(f"skipped: FEMTO Bearing1_2 not found at {run} (pass --datasets)")
        return 0
    from vibsentry.runtime.alarm import apply_alarm_rule
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle
    from vibsentry.training.dataset import build_windows
    from vibsentry.training.manifest import read_manifest

    n = len(files)
    life = np.arange(n) / (n - 1)  # fraction of life at each snapshot
    lines = ["path,label,channel,group,split"]
    for i, f in enumerate(files):
        split = "train" if life[i] < 0.20 else "val" if life[i] < 0.25 else "test"
        label = "normal" if life[i] < 0.5 else "late_life"
        lines.append(f"{f},{label},horizontal,{f.stem},{split}")
    with tempfile.TemporaryDirectory() as td:
        m = Path(td) / "femto.csv"
        m.write_text("\n".join(lines) + "\n")
        cfg = Path(td) / "femto.toml"
        cfg.write_text("[features]\nsample_rate = 25600.0\nhop_length = 512\n")
        t0 = time.perf_counter()
        b = load_bundle(train_bundle(m, Path(td) / "bundle", config=cfg))
        wall = time.perf_counter() - t0
        rows = read_manifest(m)
        w = build_windows(rows, params=b.params, kind="anomaly")
    order = np.lexsort((w.frame, w.row))
    scores = b.score_features(w.X[order])
    at = life[w.row[order]]
    assert b.alarm is not None
    _, events = apply_alarm_rule(scores, b.alarm)
    mid = (at >= 0.25) & (at < 0.5)
    raises_mid = int(np.count_nonzero(events[mid] == 1))
    after = np.flatnonzero((events == 1) & (at >= 0.25))
    first = float(at[after[0]]) if after.size else None
    persistent = None  # first raise after which the alarm stays up to the end (the end-of-life alarm)
    states, _ = apply_alarm_rule(scores, b.alarm)
    ok_idx = np.flatnonzero(states == 0)
    if states[-1] == 1:
        persistent = float(at[ok_idx[-1] + 1]) if ok_idx.size else 0.0
    result = {
        "snapshots": n,
        "windows": int(scores.size),
        "wall_s": round(wall, 1),
        "threshold": b.alarm.threshold,
        "rule": f"{b.alarm.k} of {b.alarm.n}",
        "false_alarm_rate_windows_25_50": float(np.mean(scores[mid] > np.float32(b.alarm.threshold))),
        "alarm_raises_25_50": raises_mid,
        "first_alarm_fraction_of_life": first,
        "alarm_stays_on_from_fraction_of_life": persistent,
        "auc_int8_normal_vs_late_life": b.meta["metrics"]["int8"]["auc"],
    }
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.semilogy(at * 100, scores, ".", ms=2, label="anomaly score (INT8)")
    ax.axhline(b.alarm.threshold, color="r", ls="--", label=f"threshold {b.alarm.threshold:.3g}")
    ax.axvspan(0, 25, color="g", alpha=0.1, label="training (0-25 %)")
    ax.axvspan(25, 50, color="y", alpha=0.1, label="false-alarm window (25-50 %)")
    if persistent is not None:
        ax.axvline(persistent * 100, color="k", label=f"alarm on to the end from {persistent * 100:.0f} %")
    ax.set_xlabel("% of life (Bearing1_2)")
    ax.set_ylabel("score")
    ax.legend(fontsize=7)
    fig.savefig(args.out / "femto_score_over_life.png", dpi=90, bbox_inches="tight")
    print(json.dumps(result, indent=2))
    (args.out / "femto.json").write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
