"""Threshold calibration: k-of-n rule probability, tail-model quantiles, stored rule semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vibsentry.errors import DatasetError
from vibsentry.runtime.alarm import apply_alarm_rule
from vibsentry.training.calibrate import (
    calibrate,
    per_frame_probability,
    rule_raise_probability,
    tail_quantile,
)


def test_rule_probability_inverts() -> None:
    for k, n in [(1, 1), (3, 5), (2, 3), (5, 8)]:
        p = per_frame_probability(1e-6, k, n)
        assert rule_raise_probability(p, k, n) == pytest.approx(1e-6, rel=1e-6)
    assert per_frame_probability(1e-6, 1, 1) == pytest.approx(1e-6)
    # Persistence lets single frames be far noisier for the same alarm budget.
    assert per_frame_probability(1e-6, 3, 5) > 1000 * per_frame_probability(1e-6, 1, 1)


@pytest.mark.parametrize("dist", ["exponential", "pareto"])
def test_tail_model_extrapolates_quantiles(dist: str) -> None:
    rng = np.random.default_rng(3)
    n, p = 2000, 1e-4  # p far beyond what 2000 samples can show (at most 1/2000 = 5e-4)
    if dist == "exponential":
        s = rng.exponential(0.2, n)
        truth = 0.2 * math.log(1 / p)
    else:
        s = rng.pareto(4.0, n)  # Lomax, tail index 4: xi = 0.25
        truth = p ** (-1 / 4.0) - 1
    thr, method, _ = tail_quantile(s, p)
    assert method in ("gpd", "exponential")
    assert thr > np.max(s) * 0.9  # extrapolated, not the sample max or a low empirical quantile
    assert thr == pytest.approx(truth, rel=0.35)


def test_small_samples_use_lognormal() -> None:
    s = np.random.default_rng(0).lognormal(0.0, 0.5, 30)
    thr, method, params = tail_quantile(s, 1e-3)
    assert method == "lognormal" and thr > s.max() * 0.8 and set(params) == {"mu", "sigma"}


def test_calibrate_meets_target_on_a_long_normal_stream() -> None:
    rng = np.random.default_rng(7)
    frame_rate = 11.71875
    val = rng.gamma(4.0, 0.05, 3000).astype(np.float32)
    cal = calibrate(val, frame_rate=frame_rate, alarms_per_day=1.0, k=3, n=5)
    r = cal.rule
    assert (r.k, r.n) == (3, 5)
    assert r.clear_threshold <= r.threshold
    assert float(np.float32(r.threshold)) == r.threshold  # stored as float32 values
    assert cal.p_frame == pytest.approx(per_frame_probability(1.0 / (86400 * frame_rate), 3, 5))
    # One simulated day of the same normal process (i.i.d. frames) raises about one alarm or fewer.
    day = rng.gamma(4.0, 0.05, int(86400 * frame_rate)).astype(np.float32)
    _, ev = apply_alarm_rule(day[:200_000], r)  # a 4.7 h slice keeps the test fast
    assert int(np.count_nonzero(ev == 1)) <= 2
    assert cal.val_raises == 0


def test_calibrate_needs_data() -> None:
    with pytest.raises(DatasetError, match="held-out normal windows"):
        calibrate(np.array([1.0], np.float32), frame_rate=10.0)
