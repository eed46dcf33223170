"""Manifests that real users write (issue J, item 4): short snapshots and an all-``train`` split column."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from vibsentry.dsp import FeatureParams
from vibsentry.errors import DatasetError
from vibsentry.training.dataset import MIN_GROUP_FRAMES, build_windows, group_short_rows
from vibsentry.training.manifest import read_manifest


def _snapshots(folder, n: int, *, seconds: float = 0.1, fs: int = 12000, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        name = f"acc_{i:05d}.wav"
        wavfile.write(folder / name, fs, (0.05 * rng.standard_normal(int(seconds * fs))).astype(np.float32))
        names.append(f"{folder.name}/{name}")
    return names


def test_short_snapshots_are_chained_into_contiguous_runs_that_split_as_groups(tmp_path):
    names = _snapshots(tmp_path / "run", 200)  # 0.1 s at 12 kHz: one 1024-sample frame each
    m = tmp_path / "m.csv"
    m.write_text("path,label\n" + "".join(f"{n},normal\n" for n in names))
    rows = read_manifest(m)
    grouped = group_short_rows(rows, [1] * len(rows))
    groups = [r.group for r in grouped]
    # Runs are contiguous in manifest order and there are enough of them to hold some out.
    firsts = [i for i in range(len(groups)) if i == 0 or groups[i] != groups[i - 1]]
    assert len(set(groups)) == len(firsts) >= 5
    assert groups[0] == f"{names[0]}..{names[MIN_GROUP_FRAMES - 1]}"
    w = build_windows(rows, params=FeatureParams(), kind="anomaly", seed=0)
    for sp in ("train", "val", "test"):
        assert np.count_nonzero(w.split == sp) >= 8, sp
    # No run is cut across splits: every group's windows share one split.
    for g in set(w.group.tolist()):
        assert len(set(w.split[w.group == g].tolist())) == 1


def test_rows_with_their_own_group_or_split_are_left_alone(tmp_path):
    names = _snapshots(tmp_path / "run", 30)
    m = tmp_path / "m.csv"
    m.write_text(
        "path,label,group,split\n"
        + "".join(
            f"{n},normal,{'g' + str(i // 10) if i < 20 else ''},{'' if i < 25 else 'test'}\n"
            for i, n in enumerate(names)
        )
    )
    rows = read_manifest(m)
    out = group_short_rows(rows, [1] * len(rows))
    assert [r.group for r in out[:20]] == [f"g{i // 10}" for i in range(20)]
    assert [r.group for r in out[25:]] == [r.path for r in rows[25:]]


def test_classifier_manifest_with_every_row_train_gives_one_clear_error(tmp_path):
    a = _snapshots(tmp_path / "a", 3, seconds=1.0, seed=1)
    b = _snapshots(tmp_path / "b", 3, seconds=1.0, seed=2)
    m = tmp_path / "m.csv"
    m.write_text(
        "path,label,split\n"
        + "".join(f"{n},normal,train\n" for n in a)
        + "".join(f"{n},fault,train\n" for n in b)
    )
    with pytest.raises(DatasetError, match="no row is left for the test split"):
        build_windows(read_manifest(m), params=FeatureParams(), kind="classifier")
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibsentry",
            "train",
            "-m",
            str(m),
            "--kind",
            "classifier",
            "-o",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "no row is left for the test split" in lines[0]
    assert not (tmp_path / "out").exists()
