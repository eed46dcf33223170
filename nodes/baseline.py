"""On-node baseline learning in Python: the float32 twin of ``firmware_core/src/vs_baseline.c`` and the NumPy fit
it is checked against (docs/node.md, "Baseline learning").

:class:`BaselineLearner` does the C node's operations in the same order in float32 (Welford per feature over
the first ``n - n // 2`` frames, then Welford of the held-out frames' scores), so its mean, std, threshold,
stored record and CRC are bit for bit the C node's for the same feature vectors. :func:`numpy_fit` is the
plain float64 definition (``mean``, population ``std``, scores of the held-out half, ``mean + k std``) that both
are compared with.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vibsentry import protocol as vp

#: vs_baseline.h: record magic "VBSL", version, default and largest threshold_k, most frames.
MAGIC, VERSION = 0x4C534256, 1
DEFAULT_K, MAX_K, MAX_FRAMES = 4.0, 1000.0, 1 << 24

F32 = np.float32


def split(n_frames: int) -> tuple[int, int]:
    """(frames fitting mean/std, held-out frames setting the threshold) of a learning from ``n_frames``."""
    return n_frames - n_frames // 2, n_frames // 2


def baseline_score(mean: npt.ArrayLike, std: npt.ArrayLike, feats: npt.ArrayLike) -> np.float32:
    """Score of one feature vector: sum of squared z-scores / n_features, summed in feature order (float32)."""
    z = (np.asarray(feats, F32) - np.asarray(mean, F32)) / np.asarray(std, F32)
    acc = np.cumsum(z * z, dtype=F32)[-1]  # sequential float32 sum, as the C loop
    return F32(acc / F32(z.size))


@dataclass(frozen=True)
class NumpyFit:
    """The float64 reference fit: per-feature ``mean``/``std`` (population) of the fit frames, the held-out
    scores' ``score_mean``/``score_std``, ``threshold = score_mean + k score_std``."""

    mean: np.ndarray
    std: np.ndarray
    score_mean: float
    score_std: float
    threshold: float
    clear_threshold: float


def numpy_fit(features: npt.ArrayLike, k: float = DEFAULT_K) -> NumpyFit:
    """Fit on ``features``, shape (n_frames, n_features), in float64 (the definition, not the node's arithmetic)."""
    x = np.asarray(features, dtype=np.float64)
    n_fit, _ = split(len(x))
    mean, std = x[:n_fit].mean(axis=0), x[:n_fit].std(axis=0)
    s = (((x[n_fit:] - mean) / std) ** 2).mean(axis=1)
    sm, ss = float(s.mean()), float(s.std())
    return NumpyFit(mean, std, sm, ss, sm + k * ss, sm + 0.5 * k * ss)


class BaselineLearner:
    """The node's learning state machine (``vs_baseline_t``), float32 like the C.

    Parameters
    ----------
    n_features : int
    feature_hash : bytes
        The node's 32-byte feature hash (its first 8 bytes go into the record).
    """

    def __init__(self, n_features: int, feature_hash: bytes) -> None:
        self.n_features = n_features
        self.hash8 = bytes(feature_hash[:8])
        self.have = False
        self.learning = False
        self.state = int(vp.BaselineState.NONE)
        self.target = self.done = 0
        self.k = F32(0)
        self.record = b""
        self.mean = self.std = np.zeros(n_features, F32)
        self.threshold = self.clear_threshold = F32(0)
        self.score_mean = self.score_std = F32(0)
        self.crc = 0
        self._m = self._m2 = np.zeros(n_features, F32)  # fit: Welford mean / M2, then candidate mean / std
        self._sm: np.float32 = F32(0)  # held-out scores: Welford mean / M2
        self._sm2: np.float32 = F32(0)

    def start(self, n_frames: int, k: float) -> int:
        """START: 0 or the NACK reason (BAD_VALUE)."""
        k32 = F32(k)
        if not (vp.MIN_BASELINE_FRAMES <= n_frames <= MAX_FRAMES) or not (0 <= k32 <= MAX_K):
            return int(vp.NackReason.BAD_VALUE)
        self.learning, self.state = True, int(vp.BaselineState.LEARNING)
        self.target, self.done = n_frames, 0
        self.k = k32 if k32 > 0 else F32(DEFAULT_K)
        self._m = np.zeros(self.n_features, F32)
        self._m2 = np.zeros(self.n_features, F32)
        self._sm, self._sm2 = F32(0), F32(0)
        return 0

    def abort(self) -> int:
        if not self.learning:
            return int(vp.NackReason.BAD_STATE)
        self.learning, self.state = False, int(vp.BaselineState.ABORTED)
        return 0

    def clear(self) -> int:
        self.learning = self.have = False
        self.done = self.target = 0
        self.state = int(vp.BaselineState.NONE)
        self.crc = 0
        return 0

    def step(self, feats: npt.ArrayLike) -> str | None:
        """One analysed frame's features while learning: None, ``"done"`` or ``"failed"``."""
        if not self.learning:
            return None
        x = np.asarray(feats, F32)
        n_fit, n_thr = split(self.target)
        with np.errstate(all="ignore"):
            if self.done < n_fit:
                c = F32(self.done + 1)
                d = x - self._m
                self._m = self._m + d / c
                self._m2 = self._m2 + d * (x - self._m)
                self.done += 1
                if self.done == n_fit:
                    self._m2 = np.sqrt(self._m2 / F32(n_fit)).astype(F32)
                    if not (
                        np.all(self._m2 > 0)
                        and np.all(np.isfinite(self._m2))
                        and np.all(np.isfinite(self._m))
                    ):
                        self.learning, self.state = False, int(vp.BaselineState.FAILED)
                        return "failed"
                return None
            s = baseline_score(self._m, self._m2, x)
            c = F32(self.done - n_fit + 1)
            ds = F32(s - self._sm)
            self._sm = F32(self._sm + ds / c)
            self._sm2 = F32(self._sm2 + ds * F32(s - self._sm))
            self.done += 1
            if self.done < self.target:
                return None
            return self._finish(n_thr)

    def _finish(self, n_thr: int) -> str:
        self.learning, self.state = False, int(vp.BaselineState.FAILED)
        sstd = F32(np.sqrt(F32(self._sm2 / F32(n_thr))))
        thr = F32(self._sm + F32(self.k * sstd))
        clear = F32(self._sm + F32(F32(F32(0.5) * self.k) * sstd))
        if not (np.isfinite(thr) and np.isfinite(clear) and clear <= thr):
            return "failed"
        body = struct.pack(
            f"<IHH8sIfffff{self.n_features}f{self.n_features}f",
            MAGIC, VERSION, self.n_features, self.hash8, self.target, self.k, self._sm, sstd, thr, clear,
            *self._m.tolist(), *self._m2.tolist(),
        )  # fmt: skip
        self.crc = zlib.crc32(body)
        self.record = body + struct.pack("<I", self.crc)
        self.mean, self.std = self._m.copy(), self._m2.copy()
        self.threshold, self.clear_threshold = thr, clear
        self.score_mean, self.score_std = self._sm, sstd
        self.have, self.state = True, int(vp.BaselineState.DONE)
        return "done"

    def score(self, feats: npt.ArrayLike) -> np.float32:
        """Score with the baseline in use (``have`` must be True)."""
        return baseline_score(self.mean, self.std, feats)

    def progress(self) -> vp.BaselineProgress:
        """The BASELINE_PROGRESS the node sends now."""
        done_state = self.state == int(vp.BaselineState.DONE)
        live = self.learning or not done_state
        return vp.BaselineProgress(
            self.state,
            self.done if live else self.target,
            self.target,
            float(self.threshold) if done_state else 0.0,
            self.crc if self.have else 0,
        )
