"""Anomaly model selection: every candidate the node can run in INT8, compared on held-out faults.

Candidates (all scored by the same definition, reconstruction MSE of an INT8 model, so the threshold and the
alarm rule mean the same whatever wins):

- ``autoencoder``: the dense autoencoder (:class:`vibsentry.training.models.AutoencoderDetector`);
- ``mahalanobis``: Ledoit-Wolf Mahalanobis distance as one linear layer (:class:`LinearDetector`);
- ``pca``: residual energy outside the principal subspace (:class:`LinearDetector`).

Each is fitted on the normal training windows, converted to INT8, and scored on the validation split: its
normal windows against **fault windows that the test split never sees**: real ones when the manifest has
fault recordings in ``val`` (whole groups, see ``docs/datasets.md``), otherwise synthetic ones, made by
adding bearing-defect impulse trains ringing a resonance (:func:`vibsentry.synth.machine_signal` with only
the defect switched on) to the user's own normal validation recordings. The highest INT8 validation AUC wins;
within 0.005 of it the smaller model wins (fewer parameters: less flash, faster on the node).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.dsp.params import FeatureParams
from vibsentry.training.dataset import Windows
from vibsentry.training.manifest import NORMAL, ManifestRow

CANDIDATES = ("autoencoder", "mahalanobis", "pca")
#: INT8 validation AUCs this close count as a tie, broken by model size.
TIE = 0.005
#: Synthetic defects added to normal validation recordings: (kind, impulse RMS / signal RMS).
SYNTH_FAULTS = (("outer", 0.5), ("inner", 0.5), ("ball", 0.5), ("outer", 0.2), ("inner", 0.2), ("ball", 0.2))

F32 = npt.NDArray[np.float32]


@dataclass
class Candidate:
    """One fitted candidate and its validation numbers."""

    name: str
    architecture: str
    n_params: int
    est: Any
    int8: bytes
    flt: bytes
    val_auc_float: float | None = None
    val_auc_int8: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready row of the selection table."""
        return {
            "name": self.name,
            "architecture": self.architecture,
            "parameters": self.n_params,
            "val_auc_float": self.val_auc_float,
            "val_auc_int8": self.val_auc_int8,
        }


def auc(neg: npt.ArrayLike, pos: npt.ArrayLike) -> float | None:
    """Rank AUC of ``pos`` scoring above ``neg`` (ties count half); None when either side is empty."""
    from scipy.stats import rankdata

    a, b = np.asarray(neg, np.float64), np.asarray(pos, np.float64)
    if a.size == 0 or b.size == 0:
        return None
    r = rankdata(np.concatenate([a, b]))
    return float((r[a.size :].sum() - b.size * (b.size + 1) / 2) / (a.size * b.size))


def synthetic_fault_windows(
    rows: Sequence[ManifestRow], w: Windows, params: FeatureParams, *, seed: int, allow_resample: bool
) -> F32:
    """Features of the normal validation windows with synthetic bearing defects added, (n, n_features).

    For every normal row with validation windows and every entry of :data:`SYNTH_FAULTS`, a defect-only
    signal (impacts at the defect rate of the row's ``rpm``, 1800 rpm when not given, ringing a resonance
    at 20-40 % of the sample rate; no shaft, line or noise components) is scaled to the given fraction of the
    recording's RMS, added, and the features of the validation frames are kept.
    """
    from vibsentry.dsp.features import extract_features
    from vibsentry.synth import machine_signal
    from vibsentry.training.manifest import load_signal

    rng = np.random.default_rng(seed)
    fs = float(params.sample_rate)
    out: list[F32] = []
    for i, r in enumerate(rows):
        sel = (w.row == i) & (w.split == "val")
        if r.label != NORMAL or not np.any(sel):
            continue
        x = load_signal(r, target_sr=fs, allow_resample=allow_resample).astype(np.float64)
        frames = w.frame[sel]
        rms = float(np.sqrt(np.mean((x - x.mean()) ** 2))) or 1.0
        for j, (kind, ratio) in enumerate(SYNTH_FAULTS):
            d = machine_signal(
                duration_s=x.size / fs,
                sample_rate=fs,
                rpm=float(r.rpm) if r.rpm else 1800.0,
                fault=kind,
                severity=1.0,
                unbalance=0.0,
                misalignment=0.0,
                line_hz=None,
                noise_g=0.0,
                resonance_hz=float(rng.uniform(0.2, 0.4) * fs),
                full_scale_g=1e6,
                seed=seed + 7919 * i + j,
            ).astype(np.float64)[: x.size]
            drms = float(np.sqrt(np.mean(d**2))) or 1.0
            f = extract_features((x + d * (ratio * rms / drms)).astype(np.float32), params=params)
            out.append(f[frames[frames < f.shape[0]]])
    if not out:
        return np.zeros((0, params.n_features), np.float32)
    return np.concatenate(out).astype(np.float32)


def select(
    candidates: Sequence[Candidate],
    score_int8: Callable[[Candidate, F32], F32],
    score_float: Callable[[Candidate, F32], F32],
    normal_val: F32,
    fault_val: F32,
) -> tuple[Candidate, str]:
    """Score every candidate on the validation windows; return the winner and why it won (one sentence)."""
    for c in candidates:
        c.val_auc_int8 = auc(score_int8(c, normal_val), score_int8(c, fault_val))
        c.val_auc_float = auc(score_float(c, normal_val), score_float(c, fault_val))
    scored = [c for c in candidates if c.val_auc_int8 is not None]
    if not scored:
        best = min(candidates, key=lambda c: c.n_params)
        return best, "no validation faults to compare on: the smallest candidate was kept"
    top = max(c.val_auc_int8 for c in scored if c.val_auc_int8 is not None)
    near = [c for c in scored if c.val_auc_int8 is not None and c.val_auc_int8 >= top - TIE]
    best = min(near, key=lambda c: c.n_params)
    if len(near) > 1:
        why = (
            f"highest INT8 validation AUC ({top:.4f}) within {TIE} reached by "
            f"{', '.join(c.name for c in near)}; {best.name} is the smallest ({best.n_params} parameters)"
        )
    else:
        why = f"highest INT8 validation AUC ({best.val_auc_int8:.4f})"
    return best, why


__all__ = ["CANDIDATES", "Candidate", "auc", "select", "synthetic_fault_windows"]
