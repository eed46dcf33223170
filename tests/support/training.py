"""Helpers for the training / bundle / dataset tests (import explicitly: ``from tests.support import training``).

The toy dataset is a seeded shaft-rotation signal plus noise; faults add decaying resonance bursts at a
bearing-like repetition rate (outer race: constant amplitude; inner race: amplitude-modulated by the shaft).
Small enough that a whole train/convert/evaluate cycle takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import wavfile

FS = 12000


def toy_signal(seconds: float, *, fault: str | None = None, seed: int = 0, fs: int = FS) -> np.ndarray:
    """Seeded synthetic vibration in g, float32, shape (round(seconds * fs),)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * fs)
    t = np.arange(n) / fs
    shaft = 29.5 + 0.3 * rng.standard_normal()
    x = (
        0.3 * np.sin(2 * np.pi * shaft * t)
        + 0.1 * np.sin(2 * np.pi * 2 * shaft * t)
        + 0.05 * rng.standard_normal(n)
    )
    if fault is not None:
        rate = {"outer_race": 3.58, "inner_race": 5.42, "ball": 4.71}[fault] * shaft
        imp = np.zeros(n)
        imp[:: int(fs / rate)] = 1.0
        k = np.arange(200)
        ring = np.exp(-k / 18.0) * np.sin(2 * np.pi * (3000 + 500 * len(fault) % 3) * k / fs)
        burst = np.convolve(imp, ring)[:n]
        if fault == "inner_race":
            burst *= 1 + 0.5 * np.sin(2 * np.pi * shaft * t)
        x = x + 0.7 * burst
    return x.astype(np.float32)


def write_toy_dataset(
    root: Path,
    *,
    n_normal: int = 3,
    normal_seconds: float = 8.0,
    fault_seconds: float = 4.0,
    faults: tuple[str, ...] = ("outer_race", "inner_race"),
    n_fault: int = 3,
    seed: int = 0,
) -> Path:
    """Write WAV recordings and a manifest (one group per recording); return the manifest path."""
    root.mkdir(parents=True, exist_ok=True)
    lines = ["path,label,group,load"]
    for i in range(n_normal):
        name = f"normal_{i}.wav"
        wavfile.write(root / name, FS, toy_signal(normal_seconds, seed=seed + i))
        lines.append(f"{name},normal,n{i},{i % 4}")
    for f in faults:
        for i in range(n_fault):
            name = f"{f}_{i}.wav"
            wavfile.write(root / name, FS, toy_signal(fault_seconds, fault=f, seed=seed + 100 + i))
            lines.append(f"{name},{f},{f}{i},{i % 4}")
    m = root / "manifest.csv"
    m.write_text("\n".join(lines) + "\n")
    return m


def write_config(path: Path, **train: object) -> Path:
    """A TOML file with a ``[train]`` table (fast settings unless overridden)."""
    # model = autoencoder: these tests are about one pipeline, not the comparison of candidates (tested on
    # sample_data in tests/training/test_train_sample_data.py); training one candidate keeps them fast.
    vals: dict[str, object] = {
        "epochs": 40,
        "patience": 8,
        "baselines": False,
        "representative_rows": 500,
        "model": "autoencoder",
    }
    vals.update(train)

    def lit(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(lit(x) for x in v) + "]"
        return repr(v)

    path.write_text("[train]\n" + "".join(f"{k} = {lit(v)}\n" for k, v in vals.items()))
    return path


def no_leftovers(parent: Path, name: str) -> bool:
    """True when neither ``parent/name`` nor any temp sibling ``.name.tmp-*`` exists (atomic write check)."""
    return not (parent / name).exists() and not list(parent.glob(f".{name}.tmp-*"))
