"""From manifest rows to feature windows with leak-free train/val/test splits (``docs/datasets.md``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vibsentry.dsp.params import FeatureParams
from vibsentry.errors import DatasetError, SignalError
from vibsentry.progress import progress
from vibsentry.training.manifest import NORMAL, SPLITS, ManifestRow, load_signal

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
            # A val split of a frame or two cannot calibrate a threshold: take further groups until it
            # holds MIN_VAL_FRAMES (while at least one group is left to train on).
            size = {g: 0 for g in groups}
            for i in idx:
                size[rows[i].group] += n_frames[i]
            while (
                sum(size[g] for g in order[n_test : n_test + n_val]) < MIN_VAL_FRAMES
                and n_test + n_val < len(groups) - 1
            ):
                n_val += 1
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


#: A row with fewer frames than this whose group was not given is chained with its neighbours (see
#: :func:`group_short_rows`): split on its own, it would leave a split with a frame or two.
MIN_GROUP_FRAMES = 16
#: Runs formed per series of short rows at least (so a grouped split has enough groups to hold out).
MIN_RUNS = 10
#: Frames the automatic group split puts in val at least (when groups allow): the threshold is calibrated
#: on them.
MIN_VAL_FRAMES = 8


def group_short_rows(rows: Sequence[ManifestRow], n_frames: Sequence[int]) -> list[ManifestRow]:
    """Chain short recordings (e.g. FEMTO's 0.1 s snapshots) into contiguous runs that split as groups.

    Rows whose group defaulted to their own path, that have no split and fewer than
    :data:`MIN_GROUP_FRAMES` frames, are taken in manifest order as series (same label, folder, rate and
    channel; a row of another kind ends a series). Each series is cut into consecutive runs of
    ``max(ceil(MIN_GROUP_FRAMES / frames per row), 1)`` rows, fewer when that would leave under
    :data:`MIN_RUNS` runs; a run's group is ``"<first path>..<last path>"``. Neighbouring snapshots of one
    machine are strongly alike, so whole runs (not scattered snapshots) go to val and test.

    Parameters
    ----------
    rows : sequence of ManifestRow
    n_frames : sequence of int
        Frames per row.

    Returns
    -------
    list of ManifestRow
        ``rows`` with the ``group`` of chained rows replaced; others unchanged.
    """
    out = list(rows)
    series: list[list[int]] = []
    key_prev: tuple[str, str, float | None, str] | None = None
    for i, r in enumerate(rows):
        short = r.group == r.path and not r.split and n_frames[i] < MIN_GROUP_FRAMES
        key = (r.label, str(r.file.parent), r.fs, r.channel) if short else None
        if key is None:
            key_prev = None
            continue
        if key != key_prev:
            series.append([])
        series[-1].append(i)
        key_prev = key
    for idx in series:
        if len(idx) < 2:
            continue
        per = max(1, math.ceil(MIN_GROUP_FRAMES / max(1, min(n_frames[i] for i in idx))))
        per = max(1, min(per, len(idx) // MIN_RUNS))
        for a in range(0, len(idx), per):
            run = idx[a : a + per]
            name = f"{rows[run[0]].path}..{rows[run[-1]].path}" if len(run) > 1 else rows[run[0]].path
            for i in run:
                out[i] = dataclasses.replace(rows[i], group=name)
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
    rows = group_short_rows(rows, counts)
    splits = assign_splits(rows, counts, params=params, kind=kind, seed=seed)
    if kind == "classifier" and rows and not any(np.any(sp == "test") for sp in splits):
        raise DatasetError(
            f"{rows[0].manifest}: no row is left for the test split (every row is "
            f"{'/'.join(sorted({r.split for r in rows if r.split})) or 'train'}); a classifier is evaluated on "
            "held-out recordings: leave the split column empty for an automatic grouped split, or mark whole "
            "groups 'test'"
        )

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
