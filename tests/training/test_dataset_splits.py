"""Leak-free splits: no window of one recording on both sides, by group or by separated time blocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.io import wavfile

from tests.support import training as T
from vibsentry.dsp.params import FeatureParams
from vibsentry.errors import DatasetError
from vibsentry.training.dataset import assign_splits, boundary_gap, build_windows, check_labels
from vibsentry.training.manifest import ManifestRow, read_manifest


def _row(i: int, label: str, group: str, split: str = "") -> ManifestRow:
    return ManifestRow(
        path=f"r{i}.wav",
        file=Path(f"r{i}.wav"),
        label=label,
        fs=None,
        channel="",
        group=group,
        split=split,
        rpm=None,
        load="",
        start_s=None,
        end_s=None,
        line=i + 2,
        manifest="m.csv",
    )


def _sample_spans(split: np.ndarray, params: FeatureParams) -> dict[str, set[int]]:
    """Samples touched by the frames of each split (frame i covers [i*hop, i*hop+frame_length))."""
    out: dict[str, set[int]] = {}
    for i, s in enumerate(split):
        if s:
            out.setdefault(str(s), set()).update(
                range(i * params.hop_length, i * params.hop_length + params.frame_length)
            )
    return out


@settings(max_examples=40, deadline=None)
@given(
    n_frames=st.integers(min_value=8, max_value=400),
    hop=st.sampled_from([128, 256, 300, 512, 1024, 2048]),
)
def test_time_blocks_share_no_sample(n_frames: int, hop: int) -> None:
    params = FeatureParams(hop_length=hop)
    rows = [_row(0, "normal", "only")]
    split = assign_splits(rows, [n_frames], params=params, kind="anomaly", seed=0)[0]
    spans = _sample_spans(split, params)
    names = sorted(spans)
    for a in names:
        for b in names:
            if a < b:
                assert not spans[a] & spans[b], (a, b)
    if n_frames > 5 * (boundary_gap(params) + 2):
        assert set(names) == {"train", "val", "test"}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_groups_never_straddle_splits(seed: int) -> None:
    params = FeatureParams()
    rows = [_row(i, "normal", f"asset{i // 2}") for i in range(12)]  # 6 groups, 2 recordings each
    rows += [_row(20 + i, "outer_race", f"f{i}") for i in range(5)]
    splits = assign_splits(rows, [10] * len(rows), params=params, kind="classifier", seed=seed)
    by_group: dict[str, set[str]] = {}
    for r, s in zip(rows, splits, strict=True):
        assert len(set(s.tolist())) == 1  # a whole recording in one split
        by_group.setdefault(r.group, set()).update(s.tolist())
    assert all(len(v) == 1 for v in by_group.values())
    for label in ("normal", "outer_race"):
        got = {s[0] for r, s in zip(rows, splits, strict=True) if r.label == label}
        assert got == {"train", "val", "test"}


def test_explicit_split_and_anomaly_faults_to_test() -> None:
    params = FeatureParams()
    rows = [_row(0, "normal", "a", "train"), _row(1, "normal", "b"), _row(2, "ball", "c")]
    splits = assign_splits(rows, [10, 10, 10], params=params, kind="anomaly", seed=0)
    assert set(splits[0]) == {"train"}
    assert set(splits[2]) == {"test"}  # a detector never sees faults while training or calibrating
    with pytest.raises(DatasetError, match="group 'a' has rows in several splits"):
        assign_splits(
            [*rows, _row(3, "normal", "a", "test")], [10] * 4, params=params, kind="anomaly", seed=0
        )


def test_build_windows_and_label_checks(tmp_path: Path) -> None:
    m = T.write_toy_dataset(
        tmp_path, n_normal=3, normal_seconds=3, fault_seconds=2, n_fault=1, faults=("outer_race",)
    )
    rows = read_manifest(m)
    params = FeatureParams()
    w = build_windows(rows, params=params, kind="anomaly")
    assert w.X.shape == (len(w), params.n_features) and w.X.dtype == np.float32
    assert check_labels(w, rows, kind="anomaly") == ["normal", "outer_race"]
    # Every window's frame index is within its recording, and a row's windows are contiguous.
    for r in range(len(rows)):
        f = w.frame[w.row == r]
        assert f.tolist() == list(range(f.size))
    with pytest.raises(DatasetError, match="label 'outer_race' has no training windows"):
        check_labels(w, rows, kind="classifier")  # its single recording went to test
    only_faults = [r for r in rows if r.label != "normal"]
    wf = build_windows(only_faults, params=params, kind="anomaly")
    with pytest.raises(DatasetError, match="no 'normal' windows in the train split"):
        check_labels(wf, only_faults, kind="anomaly")


def test_recording_shorter_than_a_frame_names_the_line(tmp_path: Path) -> None:
    wavfile.write(tmp_path / "short.wav", 12000, np.zeros(100, np.float32))
    (tmp_path / "m.csv").write_text("path,label\nshort.wav,normal\n")
    with pytest.raises(DatasetError, match=r"m\.csv:2: 'short.wav': .*shorter than one frame"):
        build_windows(read_manifest(tmp_path / "m.csv"), params=FeatureParams())
