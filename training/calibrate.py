"""Threshold calibration for a target false-alarm rate, with a tail model, plus the k-of-n alarm rule.

A plant wants about one false alarm per day. At 11.7 frames/s that is a per-frame raise probability near 1e-6,
far beyond what a few hundred held-out normal windows can measure directly. So:

1. the *rule* target ``r = alarms_per_day / (86400 * frame_rate)`` (raises per frame);
2. with persistence ``k`` of ``n`` and frames treated as independent, a raise needs at least ``k``
   exceedances among ``n`` frames: ``P = sum_{j>=k} C(n,j) p^j (1-p)^(n-j)``; solve ``P = r`` for the per-frame
   exceedance probability ``p`` (this binomial tail over-counts raises, so it errs on the safe side);
3. the threshold is the ``1 - p`` quantile of the held-out normal scores, read from a tail model: a generalized
   Pareto distribution fitted to the exceedances over the 90th percentile (peaks over threshold), with the
   shape clamped at 0 (exponential tail) because a bounded tail fitted from few points is over-confident;
   with fewer than 50 windows a log-normal fit of all scores is used instead;
4. the clear threshold is the 99th percentile of the held-out normal scores (capped at the threshold), so an
   alarm clears after ``n`` ordinary frames and cannot flap around the threshold.

Correlated consecutive frames make real raise rates differ from this estimate; the report says so and also
counts the raises the rule actually produces on the held-out normal data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.errors import DatasetError
from vibsentry.runtime.alarm import AlarmRule, apply_alarm_rule

SECONDS_PER_DAY = 86400.0


def rule_raise_probability(p: float, k: int, n: int) -> float:
    """Probability that at least ``k`` of ``n`` independent frames exceed, each with probability ``p``."""
    return float(sum(math.comb(n, j) * p**j * (1.0 - p) ** (n - j) for j in range(k, n + 1)))


def per_frame_probability(rate_per_frame: float, k: int, n: int) -> float:
    """Per-frame exceedance probability ``p`` whose k-of-n raise probability equals ``rate_per_frame``."""
    from scipy.optimize import brentq

    if rate_per_frame >= 1.0:
        return 1.0
    return float(brentq(lambda p: rule_raise_probability(p, k, n) - rate_per_frame, 1e-300, 1.0, xtol=1e-300))


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate`.

    Attributes
    ----------
    rule : AlarmRule
    p_frame : float
        Per-frame exceedance probability aimed at.
    method : str
        ``"gpd"``, ``"exponential"``, ``"lognormal"`` or ``"empirical"``.
    tail : dict
        Tail-model parameters.
    target_alarms_per_day : float
    frame_rate : float
    n_val : int
        Held-out normal windows used.
    val_exceedance_rate : float
        Fraction of held-out normal windows above the threshold.
    val_raises : int
        Raises the rule produced on the held-out normal sequence.
    """

    rule: AlarmRule
    p_frame: float
    method: str
    tail: dict[str, float]
    target_alarms_per_day: float
    frame_rate: float
    n_val: int
    val_exceedance_rate: float
    val_raises: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (stored as ``calibration`` in ``bundle.json``)."""
        return {
            "p_frame": self.p_frame,
            "method": self.method,
            "tail": self.tail,
            "target_alarms_per_day": self.target_alarms_per_day,
            "frame_rate": self.frame_rate,
            "n_val": self.n_val,
            "val_exceedance_rate": self.val_exceedance_rate,
            "val_raises": self.val_raises,
        }


def tail_quantile(scores: npt.ArrayLike, p: float) -> tuple[float, str, dict[str, float]]:
    """Score exceeded with probability ``p`` under the tail model (see module docstring).

    Returns
    -------
    threshold : float
    method : str
    params : dict of float
    """
    s = np.sort(np.asarray(scores, dtype=np.float64))
    n = s.size
    if n < 50:
        logs = np.log(np.maximum(s, 1e-12))
        from scipy.stats import norm

        mu, sd = float(logs.mean()), float(max(logs.std(ddof=1), 1e-6))
        return float(math.exp(mu + sd * norm.isf(p))), "lognormal", {"mu": mu, "sigma": sd}
    zeta = 0.1
    u = float(np.quantile(s, 1.0 - zeta))
    if p >= zeta:
        return float(np.quantile(s, 1.0 - p)), "empirical", {}
    exc = s[s > u] - u
    if exc.size < 5:
        return float(s[-1]), "empirical", {}
    from scipy.stats import genpareto

    xi, _, sigma = genpareto.fit(exc, floc=0.0)
    if xi <= 0.0 or not math.isfinite(xi):
        sigma = float(exc.mean())
        return u + sigma * math.log(zeta / p), "exponential", {"u": u, "sigma": sigma, "zeta": zeta}
    thr = u + sigma / xi * ((p / zeta) ** (-xi) - 1.0)
    return float(thr), "gpd", {"u": u, "sigma": float(sigma), "xi": float(xi), "zeta": zeta}


def calibrate(
    val_scores: npt.ArrayLike,
    *,
    frame_rate: float,
    alarms_per_day: float = 1.0,
    k: int = 3,
    n: int = 5,
    sequences: list[npt.NDArray[np.float32]] | None = None,
) -> Calibration:
    """Choose threshold, clear threshold and persistence for a target false-alarm rate.

    Parameters
    ----------
    val_scores : array_like, shape (n_windows,)
        Scores of held-out normal windows (from the model that will be deployed: INT8).
    frame_rate : float
        Frames per second of a continuously analysed stream (``FeatureParams.frame_rate``).
    alarms_per_day : float
        Target false alarms per 24 h of normal operation.
    k, n : int
        Persistence: raise when ``k`` of the last ``n`` frames exceed.
    sequences : list of ndarray, optional
        The same scores as contiguous per-recording sequences, to count the raises the rule really makes.

    Returns
    -------
    Calibration
    """
    s = np.asarray(val_scores, dtype=np.float32)
    if s.size < 2:
        raise DatasetError(f"need held-out normal windows to calibrate the threshold, got {s.size}")
    rate = alarms_per_day / (SECONDS_PER_DAY * frame_rate)
    p = per_frame_probability(rate, k, n)
    thr, method, tail = tail_quantile(s, p)
    thr32 = float(np.float32(thr))
    clear = float(min(np.float32(np.quantile(s, 0.99)), np.float32(thr32)))
    rule = AlarmRule(thr32, clear, k, n)
    raises = 0
    for seq in sequences if sequences is not None else [s]:
        _, ev = apply_alarm_rule(seq, rule)
        raises += int(np.count_nonzero(ev == 1))
    return Calibration(
        rule=rule,
        p_frame=p,
        method=method,
        tail=tail,
        target_alarms_per_day=alarms_per_day,
        frame_rate=frame_rate,
        n_val=int(s.size),
        val_exceedance_rate=float(np.mean(s > np.float32(thr32))),
        val_raises=raises,
    )
