"""From manifest rows to feature windows with leak-free train/val/test splits (``docs/datasets.md``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from vibsentry.dsp.params import FeatureParams
from vibsentry.training.manifest import NORMAL, SPLITS, ManifestRow, load_signal

from vibsentry.errors import DatasetError, SignalError
from vibsentry.progress import progress

#: Fractions of groups / frames that go to train, val, test when the manifest does not say.
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class Windows:
    """Feature windows of a whole manifest, one row per frame.

    Attributes
    ----------
    X : ndarray, float32, shape (n_windows, n_features)
        Raw (not normalised) features.
    label : ndarray of str, shape (n_windows,)
    group : ndarray of str, shape (n_windows,)
    split : ndarray of str, shape (n_windows,)
        ``"train"``, ``"val"``, ``"test"``, or ``""`` for frames dropped at split boundaries.
    row : ndarray of int, shape (n_windows,)
        Index of the manifest row the window came from.
    frame : ndarray of int, shape (n_windows,)
        Frame index within that row's (sliced, resampled) signal; it starts at ``frame * hop_length``.
    load : ndarray of str, shape (n_windows,)
    """

    X: npt.NDArray[np.float32]
    label: npt.NDArray[np.str_]
    group: npt.NDArray[np.str_]
    split: npt.NDArray[np.str_]
    row: npt.NDArray[np.int64]
    frame: npt.NDArray[np.int64]
    load: npt.NDArray[np.str_]

    def select(self, mask: npt.NDArray[np.bool_]) -> Windows:
        """The windows where ``mask`` is True."""
        return Windows(
            *(getattr(self, f)[mask] for f in ("X", "label", "group", "split", "row", "frame", "load"))
        )

    def in_split(self, split: str) -> Windows:
        """Windows of one split."""
        return self.select(self.split == split)

    def __len__(self) -> int:
        return int(self.X.shape[0])


def boundary_gap(params: FeatureParams) -> int:
    """Frames dropped at each time-block boundary so that windows on either side share no sample (>= 1)."""
    return max(1, math.ceil(params.frame_length / params.hop_length) - 1)


def assign_splits(
    rows: Sequence[ManifestRow], n_frames: Sequence[int], *, params: FeatureParams, kind: str, seed: int
) -> list[npt.NDArray[np.str_]]:
    """Split label of every frame of every row (rules in ``docs/datasets.md``).

    Parameters
    ----------
    rows : sequence of ManifestRow
    n_frames : sequence of int
        Frames per row.
    params : FeatureParams
    kind : {"anomaly", "classifier"}
    seed : int
        Seed of the group shuffle.

    Returns
    -------
    splits : list of ndarray of str, one per row, shape (n_frames[i],)
        ``""`` marks frames dropped at a time-block boundary.
    """
    groups_split: dict[str, set[str]] = {}
    for r in rows:
        groups_split.setdefault(r.group, set())
        if r.split:
            groups_split[r.group].add(r.split)
    for g, s in groups_split.items():
        if len(s) > 1:
            bad = next(r for r in rows if r.group == g and r.split)
            raise DatasetError(f"{bad.where}: group {g!r} has rows in several splits {sorted(s)}; that leaks")
    out: list[npt.NDArray[np.str_]] = [np.full(n, "", dtype="<U5") for n in n_frames]
    rng = np.random.default_rng(seed)
    todo: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        fixed = r.split or next(iter(groups_split[r.group]), "")
        if fixed:
            out[i][:] = fixed
        elif kind == "anomaly" and r.label != NORMAL:
            out[i][:] = "test"
        else:
            todo.setdefault(r.label, []).append(i)
    gap = boundary_gap(params)
    for label in sorted(todo):
        idx = todo[label]
        groups = sorted({rows[i].group for i in idx})
        if len(groups) >= 3:
            order = [groups[j] for j in rng.permutation(len(groups))]
            n_test = max(1, round(SPLIT_FRACTIONS[2] * len(groups)))
            n_val = max(1, round(SPLIT_FRACTIONS[1] * len(groups)))
            n_val = min(n_val, len(groups) - n_test - 1)
            which = {g: "test" for g in order[:n_test]}
            which.update({g: "val" for g in order[n_test : n_test + n_val]})
            for i in idx:
                out[i][:] = which.get(rows[i].group, "train")
            continue
        for i in idx:
            n = n_frames[i]
            b1 = round(SPLIT_FRACTIONS[0] * n)
            b2 = round((SPLIT_FRACTIONS[0] + SPLIT_FRACTIONS[1]) * n)
            sp = out[i]
            sp[:b1] = "train"
            sp[b1:b2] = "val"
            sp[b2:] = "test"
            # Windows overlap when hop < frame_length: blank the frames straddling each boundary.
            for b in (b1, b2):
                sp[max(0, b - gap) : b] = ""
    return out


def build_windows(
    rows: Sequence[ManifestRow],
    *,
    params: FeatureParams,
    kind: str = "anomaly",
    seed: int = 0,
    allow_resample: bool = True,
    quiet: bool = True,
) -> Windows:
    """Load every row, compute features, assign splits.

    Parameters
    ----------
    rows : sequence of ManifestRow
    params : FeatureParams
    kind : {"anomaly", "classifier"}
    seed : int
    allow_resample : bool
    quiet : bool
        Hide the progress bar.

    Returns
    -------
    Windows

    Raises
    ------
    DatasetError
        A row too short for one frame, or any loader error (naming the manifest line).
    """
    from vibsentry.dsp.features import extract_features

    feats: list[npt.NDArray[np.float32]] = []
    for r in progress(rows, total=len(rows), desc="features", unit="file", quiet=quiet):
        x = load_signal(r, target_sr=params.sample_rate, allow_resample=allow_resample)
        try:
            f = extract_features(x, params=params)
        except SignalError as exc:
            raise DatasetError(f"{r.where}: {r.path!r}: {exc}") from None
        feats.append(f)
    counts = [f.shape[0] for f in feats]
    splits = assign_splits(rows, counts, params=params, kind=kind, seed=seed)

    def rep(values: Sequence[str]) -> npt.NDArray[np.str_]:
        return np.repeat(np.asarray(values, dtype=str), counts)

    return Windows(
        X=np.concatenate(feats).astype(np.float32, copy=False),
        label=rep([r.label for r in rows]),
        group=rep([r.group for r in rows]),
        split=np.concatenate(splits),
        row=np.repeat(np.arange(len(rows), dtype=np.int64), counts),
        frame=np.concatenate([np.arange(c, dtype=np.int64) for c in counts]),
        load=rep([r.load for r in rows]),
    )


def check_labels(w: Windows, rows: Sequence[ManifestRow], *, kind: str) -> list[str]:
    """Validate that the splits hold what the model kind needs; return the sorted class list.

    Raises
    ------
    DatasetError
        No normal training/val windows for an anomaly model, or a label with no training windows.
    """
    labels = sorted(set(w.label.tolist()))
    if kind == "anomaly":
        for sp in ("train", "val"):
            if not np.any((w.label == NORMAL) & (w.split == sp)):
                m = rows[0].manifest if rows else "manifest"
                raise DatasetError(
                    f"{m}: no '{NORMAL}' windows in the {sp} split; an anomaly model trains on normal data only "
                    "(add rows labelled 'normal')"
                )
        return [NORMAL] + [lb for lb in labels if lb != NORMAL]
    for lb in labels:
        if not np.any((w.label == lb) & (w.split == "train")):
            first = next(r for r in rows if r.label == lb)
            raise DatasetError(
                f"{first.where}: label {lb!r} has no training windows (check its split column)"
            )
    if len(labels) < 2:
        raise DatasetError(f"{rows[0].manifest}: a classifier needs at least two labels, found {labels}")
    return labels


__all__ = ["SPLITS", "Windows", "assign_splits", "boundary_gap", "build_windows", "check_labels"]
