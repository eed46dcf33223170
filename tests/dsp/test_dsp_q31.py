"""The fixed-point feature path (``arithmetic = "q31"``, vibsentry.dsp.fixed) against the float32 reference.

Stated tolerances, q31 against f32, on synthetic frames (4 decades of amplitude, offsets, impulses, a zero and a
constant frame) and sample_data frames (measured worst case in brackets):

- ``logmel``: in the linear domain ``|E_q31 - E_f32| <= 1e-4 max(max_m E_f32, s W / 2)`` as in
  tests/firmware/test_c_features.py [2e-5], and ``<= 1e-3`` in natural-log units for bands holding at least 1 %
  of that scale [3e-4]. (A constant frame gives the q31 floor ln 1e-6 where f32 holds rounding residue.)
- ``mean``, ``rms``, ``peak``, ``peak_to_peak``: ``<= 2e-5 s`` with ``s = max|x|`` [4e-6];
- ``crest_factor``, ``skewness``, ``kurtosis``: ``<= 2e-3 max(1, |f32|)`` [5e-4] (14-bit centred samples);
- ``velocity_rms_mm_s``: ``<= 1e-4 v_s + 5e-4 |v_f32|`` (v_s as in test_c_features.py; the relative term covers
  a large offset's leakage without DC removal, [1.2e-4 relative]) [below 3e-5 relative on sample_data].

The C side is bit-identical to this model (tests/firmware/test_c_features_q31.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.cfeatures import synthetic_frames, wav_frames
from vibsentry.dsp import FeatureParams, extract_features, features_from_frames, fixed
from vibsentry.dsp.params import ACCEL_UNITS
from vibsentry.errors import ConfigError, SignalError

pytest.importorskip("cmsisdsp", reason="the q31 path runs CMSIS-DSP's arm_cfft_q31 through cmsisdsp")

F32 = FeatureParams()
Q31 = F32.replace(arithmetic="q31")
DEFAULT_HASH = "275c8cb501636838ef94d2c28853ac2fcc230955c323b9881b4772301c2d7ab4"


def test_arithmetic_is_in_the_hash_only_when_q31() -> None:
    assert F32.feature_hash == DEFAULT_HASH  # hashes made before the field existed are unchanged
    assert "arithmetic" not in F32.canonical_json()
    assert '"arithmetic":"q31"' in Q31.canonical_json()
    assert Q31.feature_hash != DEFAULT_HASH
    assert FeatureParams.from_dict(Q31.to_dict()) == Q31
    old_bundle = dict(F32.to_dict())
    assert FeatureParams.from_dict(old_bundle).arithmetic == "f32"


def test_q31_refuses_groups_without_a_fixed_point_version() -> None:
    with pytest.raises(ConfigError) as e:
        F32.replace(arithmetic="q31", features=("logmel", "mfcc"))
    assert "mfcc" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="arithmetic"):
        F32.replace(arithmetic="q15")


def _compare(frames: np.ndarray, p32: FeatureParams, pq: FeatureParams) -> None:
    a = features_from_frames(frames, params=p32).astype(np.float64)
    b = features_from_frames(frames, params=pq).astype(np.float64)
    s = np.abs(frames).max(axis=1).astype(np.float64)
    names = p32.feature_names
    nm = p32.n_mels
    ea, eb = np.exp(a[:, :nm]), np.exp(b[:, :nm])
    w = float(fixed.spectral.window_coefs(p32).sum())
    scale = np.maximum(ea.max(axis=1), s * w / 2)
    lin = np.abs(ea - eb).max(axis=1) / scale
    assert lin.max() <= 1e-4, f"logmel linear error {lin.max():.3g}"
    big = ea >= 0.01 * scale[:, None]
    assert np.abs(a[:, :nm] - b[:, :nm])[big].max() <= 1e-3
    for j, n in enumerate(names[nm:], start=nm):
        d = np.abs(a[:, j] - b[:, j])
        if n in ("mean", "rms", "peak", "peak_to_peak"):
            assert (d <= 2e-5 * s).all(), f"{n}: {(d / np.maximum(s, 1e-30)).max():.3g} of the signal scale"
        elif n == "velocity_rms_mm_s":
            hi = p32.velocity_band[1]
            vs = s * ACCEL_UNITS[p32.accel_unit] * 1000.0 / (2 * np.pi * hi)
            tol = 1e-4 * vs + 5e-4 * np.abs(a[:, j])
            assert (d <= tol).all(), f"velocity: {(d / np.maximum(tol, 1e-30)).max():.3g} of the tolerance"
        else:
            tol = 2e-3 * np.maximum(1.0, np.abs(a[:, j]))
            assert (d <= tol).all(), f"{n}: {(d / np.maximum(1.0, np.abs(a[:, j]))).max():.3g}"


def test_q31_close_to_f32_on_synthetic_frames() -> None:
    _compare(synthetic_frames(300, 1024, 12000.0, seed=11), F32, Q31)


def test_q31_close_to_f32_on_sample_data() -> None:
    _compare(wav_frames(1024, limit=600), F32, Q31)


def test_q31_close_to_f32_other_configuration() -> None:
    p = FeatureParams(
        sample_rate=25600.0,
        frame_length=256,
        hop_length=256,
        window="hamming",
        remove_dc=False,
        accel_unit="m/s2",
        n_mels=24,
        fmin=20.0,
        fmax=10000.0,
        velocity_band=(100.0, 5000.0),
    )
    frames = synthetic_frames(200, 256, 25600.0, seed=5)[2:]  # no constant frame: remove_dc is off
    _compare(frames, p, p.replace(arithmetic="q31"))


def test_block_scaling_makes_powers_of_two_exact() -> None:
    frames = synthetic_frames(40, 1024, 12000.0, seed=2)[2:]
    a = features_from_frames(frames, params=Q31)
    b = features_from_frames(frames * np.float32(8.0), params=Q31)
    # Same integers inside, so the statistics scale exactly and log-mel moves by ln 8 up to float rounding.
    np.testing.assert_array_equal(b[:, 32:36], a[:, 32:36] * np.float32(8.0))
    np.testing.assert_array_equal(b[:, 36:39], a[:, 36:39])
    np.testing.assert_allclose(b[:, :32] - a[:, :32], np.log(8.0), atol=1e-5)


def test_integer_sqrt_and_log2_accuracy() -> None:
    rng = np.random.default_rng(0)
    t = fixed.q31_tables(Q31)
    v = (rng.integers(1, 2**62, 20000, dtype=np.int64) >> rng.integers(0, 62, 20000)).clip(1)
    r = fixed.isqrt16(v, t.sqrt_seed).astype(np.float64)
    exact = np.sqrt(v.astype(np.float64))
    assert (np.abs(r - exact) <= exact * 2.0**-15 + 1.0).all()
    acc = rng.integers(1, 2**62, 20000, dtype=np.int64) >> rng.integers(0, 60, 20000)
    l2 = fixed.log2_q24(acc.clip(1), t) / 2.0**24
    assert np.abs(l2 - np.log2(acc.clip(1).astype(np.float64))).max() < 4e-6


def test_q31_nan_sample_is_named() -> None:
    x = np.zeros(4096, dtype=np.float32)
    x[1500] = np.nan
    with pytest.raises(SignalError, match="sample 1500"):
        extract_features(x, params=Q31)
