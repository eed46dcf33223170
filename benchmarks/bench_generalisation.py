"""Generalisation to conditions the model never saw: CWRU leave-one-out folds and FEMTO early-life training.

    .venv/bin/python benchmarks/bench_generalisation.py [--datasets ../shared/datasets] [--only cwru|femto]
        [--config extra.toml] [--json out.json]

Protocol (issue J; the README table quotes this script's output):

- **CWRU 12 kHz, fault type** (normal / inner_race / ball / outer_race): the label is the fault type, never
  the size or the load, so a fold can test a size or a load that no training window came from.
  - *leave-one-fault-size-out*: three folds (0.007, 0.014, 0.021 in held out in turn; every load). The
    healthy record (97.mat, 0 hp only, 48 kHz) is cut into thirds: fold k tests on third k.
  - *leave-one-load-out*: four folds (0-3 hp held out in turn; every size). The healthy record is cut into
    quarters that stand in for the four loads.
  Accuracy and macro-F1, float and INT8, mean and worst fold.
- **FEMTO Bearing1_2** (run to failure): trained on the first 25 % of life (0-20 % fit, 20-25 % calibrate),
  AUC of the anomaly score of 25-50 % of life (taken as healthy) against the last 10 % (failing), float and
  INT8.

``--config`` adds a TOML file's ``[train]``/``[features]`` tables to every run (e.g. ``[train] model = ...``,
``[train.augment] copies = 2``).

``--experiment envelope`` (CWRU folds only, float, Python only: the node does not compute these features)
replaces the deployed model by logistic regressions on the same windows and splits, fed with the default
features, with envelope-spectrum band energies plus spectral kurtosis (:func:`envelope_features`), and with
both; it measures whether such a feature group would be worth porting to C.
Targets (INT8, within 0.01 of float): leave-one-size-out accuracy >= 0.85, FEMTO AUC >= 0.97.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FAULT_TYPE = {"IR": "inner_race", "B": "ball", "OR": "outer_race"}
NORMAL_FILE = "normal_0_97.mat"
NORMAL_S = 5.08


def _write(rows: list[dict[str, str]], path: Path) -> Path:
    cols = ["path", "label", "fs", "channel", "group", "split", "load", "start_s", "end_s"]
    path.write_text("\n".join([",".join(cols)] + [",".join(r.get(c, "") for c in cols) for r in rows]) + "\n")
    return path


def _config(tmp: Path, name: str, base: str, extra: Path | None) -> Path:
    text = base
    if extra is not None:
        text += "\n" + extra.read_text()
    p = tmp / f"{name}.toml"
    p.write_text(_merge_toml(text))
    return p


def _merge_toml(text: str) -> str:
    """Concatenated TOML snippets may repeat a table header; merge the keys of repeated tables."""
    tables: dict[str, list[str]] = {}
    cur = ""
    for line in text.splitlines():
        m = re.match(r"\s*\[([^\]]+)\]\s*$", line)
        if m:
            cur = m.group(1).strip()
            tables.setdefault(cur, [])
        elif line.strip():
            tables.setdefault(cur, []).append(line)
    out = []
    for t, lines in tables.items():
        if t:
            out.append(f"[{t}]")
        out += lines
    return "\n".join(out) + "\n"


def cwru_fault_rows(cwru: Path) -> list[dict[str, str]]:
    rows = []
    for f in sorted(cwru.glob("12k_Drive_End_*.mat")):
        m = re.match(r"12k_Drive_End_(IR|B|OR)(\d{3})(@6)?_(\d)_\d+\.mat$", f.name)
        if not m or (m.group(1) == "OR" and not m.group(3)):
            continue
        rows.append(
            {
                "path": str(f),
                "label": FAULT_TYPE[m.group(1)],
                "fs": "12000",
                "load": m.group(4),
                "size": m.group(2),
                "group": f.stem,
            }
        )
    return rows


def _normal_parts(cwru: Path, k: int) -> list[dict[str, str]]:
    part = NORMAL_S / k
    return [
        {
            "path": str(cwru / NORMAL_FILE),
            "label": "normal",
            "fs": "48000",
            "group": f"normal_97_{k}_{q}",
            "part": str(q),
            "start_s": f"{q * part:.4f}",
            "end_s": f"{(q + 1) * part:.4f}",
        }
        for q in range(k)
    ]


#: Envelope analysis bands (Hz) for the experiment: where bearing impacts ring the CWRU housing (and most
#: machines' structural resonances at 12 kHz sampling), below the anti-alias roll-off.
ENV_BANDS = ((1000.0, 2500.0), (2500.0, 4000.0), (4000.0, 5500.0))
#: Envelope-spectrum bands: 16 of 25 Hz up to 400 Hz, which holds the first harmonics of BPFO/BPFI/BSF of
#: bearings at 1,000-3,600 rpm.
ENV_MAX_HZ, ENV_N = 400.0, 16
#: Spectral kurtosis: 16 linear bands, short-time segments of 128 samples (hop 64) within a frame.
SK_SEG, SK_N = 128, 16


def envelope_features(frames: np.ndarray, fs: float) -> np.ndarray:
    """Envelope band energies and spectral kurtosis of each frame (experiment; not in the node).

    Parameters
    ----------
    frames : ndarray, shape (n_frames, frame_length)
    fs : float
        Sample rate, Hz.

    Returns
    -------
    ndarray, float32, shape (n_frames, len(ENV_BANDS) * ENV_N + SK_N)
        Per analysis band, log of each envelope-spectrum band's share of the envelope's AC energy up to
        ENV_MAX_HZ (relative, so a gain change cancels); then the spectral kurtosis of SK_N bands.
    """
    n = frames.shape[1]
    X = np.fft.fft(frames - frames.mean(axis=1, keepdims=True), axis=1)
    f = np.abs(np.fft.fftfreq(n, 1 / fs))
    fe = np.fft.rfftfreq(n, 1 / fs)
    edges = np.linspace(0.0, ENV_MAX_HZ, ENV_N + 1)
    out = []
    for lo, hi in ENV_BANDS:
        # Analytic band signal: keep the positive frequencies of the band only.
        A = np.where((f >= lo) & (f < hi) & (np.arange(n) < n // 2), 2 * X, 0)
        env = np.abs(np.fft.ifft(A, axis=1))
        E = np.abs(np.fft.rfft(env - env.mean(axis=1, keepdims=True), axis=1)) ** 2
        band = np.stack([E[:, (fe >= a) & (fe < b)].sum(axis=1) for a, b in itertools.pairwise(edges)], 1)
        out.append(np.log(band / (band.sum(axis=1, keepdims=True) + 1e-30) + 1e-6))
    hop = SK_SEG // 2
    segs = np.stack([frames[:, i : i + SK_SEG] for i in range(0, n - SK_SEG + 1, hop)], 1) * np.hanning(
        SK_SEG
    )
    P = np.abs(np.fft.rfft(segs, axis=2)) ** 2  # (frames, segments, bins)
    groups = np.array_split(np.arange(1, P.shape[2]), SK_N)
    sk = [
        (P[:, :, g] ** 2).mean(axis=(1, 2)) / (P[:, :, g].mean(axis=(1, 2)) ** 2 + 1e-30) - 2 for g in groups
    ]
    out.append(np.stack(sk, 1))
    return np.concatenate(out, axis=1).astype(np.float32)


def _envelope_fold(manifest: Path, config: Path) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from vibsentry.training.api import load_config
    from vibsentry.training.dataset import build_windows
    from vibsentry.training.manifest import load_signal, read_manifest

    t0 = time.perf_counter()
    params, cfg = load_config(config)
    rows = read_manifest(manifest)
    w = build_windows(rows, params=params, kind="classifier", seed=cfg.seed)
    L, hop = params.frame_length, params.hop_length
    env = np.zeros((len(w), len(ENV_BANDS) * ENV_N + SK_N), np.float32)
    for i, r in enumerate(rows):
        at = np.flatnonzero(w.row == i)
        x = load_signal(r, target_sr=params.sample_rate)
        env[at] = envelope_features(
            np.stack([x[k * hop : k * hop + L] for k in w.frame[at]]), params.sample_rate
        )
    keep = [j for j, n in enumerate(params.feature_names) if n not in cfg.ignore_features]
    sets = {"default": w.X[:, keep], "envelope": env, "default+envelope": np.hstack([w.X[:, keep], env])}
    tr, te = w.split == "train", w.split == "test"
    res: dict[str, Any] = {}
    for name, X in sets.items():
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced"))
        clf.fit(X[tr], w.label[tr])
        pred = clf.predict(X[te])
        res[f"float_accuracy[{name}]"] = float(np.mean(pred == w.label[te]))
        res[f"float_macro_f1[{name}]"] = float(f1_score(w.label[te], pred, average="macro"))
    return {"wall_s": round(time.perf_counter() - t0, 1), **res}


def _train_fold(manifest: Path, out: Path, config: Path) -> dict[str, Any]:
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle

    t0 = time.perf_counter()
    b = load_bundle(train_bundle(manifest, out, kind="classifier", config=config))
    mt = b.meta["metrics"]
    return {
        "wall_s": round(time.perf_counter() - t0, 1),
        "model": b.meta.get("model", {}).get("type") if isinstance(b.meta.get("model"), dict) else None,
        **{f"{w}_{k}": mt[w][k] for w in ("float", "int8") for k in ("accuracy", "macro_f1")},
    }


def _summary(folds: list[dict[str, Any]]) -> dict[str, Any]:
    s: dict[str, Any] = {"folds": folds}
    for key in folds[0]:
        if "accuracy" in key or "macro_f1" in key:
            vals = [f[key] for f in folds]
            s[f"{key}_mean"] = round(float(np.mean(vals)), 4)
            s[f"{key}_worst"] = round(float(np.min(vals)), 4)
    return s


def cwru(
    cwru_dir: Path, tmp: Path, extra: Path | None, folds_of: str = "both", experiment: str | None = None
) -> dict[str, Any]:
    faults = cwru_fault_rows(cwru_dir)
    cfg = _config(tmp, "cwru", "", extra)

    def _fold(manifest: Path, out: Path, config: Path) -> dict[str, Any]:
        return (
            _envelope_fold(manifest, config)
            if experiment == "envelope"
            else _train_fold(manifest, out, config)
        )

    out: dict[str, Any] = {}
    folds = []
    for i, size in enumerate(("007", "014", "021") if folds_of != "load" else ()):
        rows = [{**r, "split": "test" if r["size"] == size else "train"} for r in faults]
        rows += [
            {**r, "split": "test" if r["part"] == str(i) else "train"} for r in _normal_parts(cwru_dir, 3)
        ]
        f = _fold(_write(rows, tmp / f"size_{size}.csv"), tmp / f"size_{size}", cfg)
        folds.append({"held_out_size_in": f"0.{size}", **f})
        print(json.dumps(folds[-1]), flush=True)
    if folds:
        out["leave_one_size_out"] = _summary(folds)
    folds = []
    for load in "0123" if folds_of != "size" else "":
        rows = [{**r, "split": "test" if r["load"] == load else "train"} for r in faults]
        rows += [{**r, "split": "test" if r["part"] == load else "train"} for r in _normal_parts(cwru_dir, 4)]
        f = _fold(_write(rows, tmp / f"load_{load}.csv"), tmp / f"load_{load}", cfg)
        folds.append({"held_out_load_hp": int(load), **f})
        print(json.dumps(folds[-1]), flush=True)
    if folds:
        out["leave_one_load_out"] = _summary(folds)
    return out


def _auc(neg: np.ndarray, pos: np.ndarray) -> float:
    from scipy.stats import rankdata

    r = rankdata(np.concatenate([neg, pos]))
    return float((r[neg.size :].sum() - pos.size * (pos.size + 1) / 2) / (neg.size * pos.size))


def femto(datasets: Path, tmp: Path, extra: Path | None) -> dict[str, Any]:
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle
    from vibsentry.training.dataset import build_windows
    from vibsentry.training.manifest import read_manifest

    run = datasets / "femto_pronostia" / "Learning_set" / "Bearing1_2"
    files = sorted(run.glob("acc_*.csv"))
    n = len(files)
    life = np.arange(n) / (n - 1)
    lines = ["path,label,channel,group,split"]
    for i, f in enumerate(files):
        split = "train" if life[i] < 0.20 else "val" if life[i] < 0.25 else "test"
        label = "normal" if life[i] < 0.5 else "late_life"
        lines.append(f"{f},{label},horizontal,{f.stem},{split}")
    m = tmp / "femto.csv"
    m.write_text("\n".join(lines) + "\n")
    cfg = _config(tmp, "femto", "[features]\nsample_rate = 25600.0\nhop_length = 512\n", extra)
    t0 = time.perf_counter()
    b = load_bundle(train_bundle(m, tmp / "femto", config=cfg))
    wall = time.perf_counter() - t0
    w = build_windows(read_manifest(m), params=b.params, kind="anomaly")
    at = life[w.row]
    mid, late = (at >= 0.25) & (at < 0.5), at >= 0.9
    res: dict[str, Any] = {"wall_s": round(wall, 1), "snapshots": n}
    res["model"] = b.meta.get("model", {}).get("type") if isinstance(b.meta.get("model"), dict) else None
    for which in ("float", "int8"):
        s = np.asarray(b.score_features(w.X, model=which), dtype=np.float64)
        res[f"auc_{which}_25_50_vs_last_10"] = round(_auc(s[mid], s[late]), 4)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--only", choices=("cwru", "femto"))
    ap.add_argument("--folds", choices=("both", "size", "load"), default="both", help="CWRU protocols to run")
    ap.add_argument("--config", type=Path, help="TOML whose [train]/[features] tables are added to every run")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument(
        "--experiment",
        choices=("envelope",),
        help="CWRU only: logistic regressions on default / envelope+spectral-kurtosis features (float, Python)",
    )
    args = ap.parse_args(argv)
    if not (args.datasets / "cwru" / NORMAL_FILE).is_file():
        print(f"skipped: datasets not found at {args.datasets} (pass --datasets)")
        return 0
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as td:
        if args.only in (None, "femto") and not args.experiment:
            out["femto"] = femto(args.datasets, Path(td), args.config)
            print(json.dumps(out["femto"]), flush=True)
        if args.only in (None, "cwru"):
            out["cwru"] = cwru(args.datasets / "cwru", Path(td), args.config, args.folds, args.experiment)
    for fold in ("leave_one_size_out", "leave_one_load_out"):
        if fold in out.get("cwru", {}):
            out["cwru"][fold].pop("folds")
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
