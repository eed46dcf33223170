"""Known values, streaming equivalence and bad input for the feature pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from vibsentry.dsp import (
    FeatureParams,
    FeatureStream,
    extract_features,
    features_from_frames,
    frame_signal,
    spectral,
)
from vibsentry.errors import SignalError, VibsentryError

G = 9.80665


def tone(
    freq: float, amp: float, *, fs: float = 12000.0, seconds: float = 1.0, phase: float = 0.3, dc: float = 0.0
):
    t = np.arange(int(fs * seconds)) / fs
    return (amp * np.sin(2 * np.pi * freq * t + phase) + dc).astype(np.float32)


def col(params: FeatureParams, name: str) -> int:
    return params.feature_names.index(name)


def test_pure_tone_lands_in_its_bin_with_its_amplitude() -> None:
    p = FeatureParams(window="rect")
    n = p.frame_length
    k = 100  # exactly on bin 100
    x = tone(k * p.sample_rate / n, 2.5, seconds=n / p.sample_rate)[:n]
    X = spectral.rfft(x)
    mag = np.abs(X)
    assert int(mag.argmax()) == k
    # One-sided amplitude of an on-bin tone: |X[k]| * 2 / N equals the tone's amplitude.
    assert mag[k] * 2 / n == pytest.approx(2.5, rel=1e-4)
    # With a Hann window the coherent gain is sum(w)/N = 0.5.
    ph = FeatureParams()
    w = spectral.window_coefs(ph)
    mag_h = np.abs(spectral.rfft(x * w))
    assert int(mag_h.argmax()) == k
    assert mag_h[k] * 2 / w.sum() == pytest.approx(2.5, rel=1e-4)


@pytest.mark.parametrize("freq", [50.0, 80.0, 160.0, 400.0])
@pytest.mark.parametrize("unit", ["g", "m/s2"])
def test_velocity_rms_of_a_sine_matches_the_analytic_value(freq: float, unit: str) -> None:
    p = FeatureParams(accel_unit=unit)
    amp = 0.8  # in the declared unit
    # A gravity offset must not matter (remove_dc), whatever phase the frames cut the tone at.
    x = tone(freq, amp, seconds=2.0, dc=1.0)
    v = extract_features(x, params=p)[:, col(p, "velocity_rms_mm_s")]
    to_ms2 = G if unit == "g" else 1.0
    expected = amp * to_ms2 * 1000.0 / (2 * np.pi * freq) / np.sqrt(2)  # mm/s RMS
    assert np.abs(v / expected - 1).max() < 0.01


def test_velocity_ignores_content_outside_10_to_1000_hz() -> None:
    p = FeatureParams()
    v = extract_features(tone(2500.0, 3.0), params=p)[:, col(p, "velocity_rms_mm_s")]
    v_in = extract_features(tone(100.0, 3.0), params=p)[:, col(p, "velocity_rms_mm_s")]
    assert v.max() < 0.01 * v_in.min()


def test_time_domain_statistics_of_a_sine() -> None:
    p = FeatureParams()
    x = tone(93.75, 2.0, dc=0.5)  # 8 cycles per 1024-sample frame: whole cycles
    f = extract_features(x, params=p)[0]
    assert f[col(p, "mean")] == pytest.approx(0.5, abs=1e-5)
    assert f[col(p, "rms")] == pytest.approx(2.0 / np.sqrt(2), rel=1e-4)
    assert f[col(p, "peak")] == pytest.approx(2.0, rel=1e-3)
    assert f[col(p, "peak_to_peak")] == pytest.approx(4.0, rel=1e-3)
    assert f[col(p, "crest_factor")] == pytest.approx(np.sqrt(2), rel=1e-3)
    assert f[col(p, "skewness")] == pytest.approx(0.0, abs=1e-4)
    assert f[col(p, "kurtosis")] == pytest.approx(1.5, rel=1e-3)  # Pearson kurtosis of a sine


def test_kurtosis_of_gaussian_noise_is_three_and_impulses_raise_it() -> None:
    p = FeatureParams()
    rng = np.random.default_rng(1)
    noise = rng.normal(size=1024 * 200).astype(np.float32)
    k = extract_features(noise, params=p)[:, col(p, "kurtosis")]
    assert np.median(k) == pytest.approx(3.0, abs=0.15)
    noise[::512] += 12.0  # bearing-defect-like impulses
    assert np.median(extract_features(noise, params=p)[:, col(p, "kurtosis")]) > 6.0


def test_band_rms_puts_a_tone_in_its_band_and_conserves_energy() -> None:
    p = FeatureParams(features=("band_rms",), n_bands=6, window="hann")
    x = tone(2600.0, 1.5, seconds=1.0)  # band 2 of 6 over 0..6000 Hz is 2000..3000 Hz
    b = extract_features(x, params=p)
    assert (b.argmax(axis=1) == 2).all()
    total = np.sqrt((b.astype(np.float64) ** 2).sum(axis=1))
    assert np.allclose(total, 1.5 / np.sqrt(2), rtol=0.01)


def test_spectral_centroid_of_a_tone_is_its_frequency() -> None:
    p = FeatureParams(features=("spectral_shape",))
    f = extract_features(tone(1500.0, 1.0), params=p)
    assert np.allclose(f[:, 0], 1500.0, rtol=0.01)
    assert (f[:, 1] < 30.0).all()


def test_feature_vector_follows_the_documented_order() -> None:
    p = FeatureParams(features=("velocity_rms", "mfcc", "stats", "logmel", "band_rms", "spectral_shape"))
    assert p.features == ("logmel", "mfcc", "band_rms", "stats", "spectral_shape", "velocity_rms")
    f = extract_features(tone(300.0, 1.0), params=p)
    assert f.shape[1] == p.n_features == 32 + 13 + 8 + 7 + 2 + 1
    assert f.dtype == np.float32


@pytest.mark.parametrize("hop", [256, 1024, 1500])
def test_streaming_gives_the_same_frames_as_batch(hop: int) -> None:
    p = FeatureParams(hop_length=hop)
    rng = np.random.default_rng(hop)
    x = rng.normal(size=50_000).astype(np.float32)
    batch = extract_features(x, params=p)
    stream = FeatureStream(p)
    sizes = rng.integers(1, 4000, size=100)
    parts, pos = [], 0
    for s in sizes:
        parts.append(stream.push(x[pos : pos + s]))
        pos += int(s)
        # Bounded memory: never more than one frame of samples is held between pushes.
        assert stream._buf.size < p.frame_length + max(0, hop - p.frame_length) + 1
    parts.append(stream.push(x[pos:]))
    streamed = np.concatenate(parts)
    assert streamed.shape == batch.shape
    np.testing.assert_allclose(streamed, batch, rtol=0, atol=1e-5 * np.abs(batch).max())


def test_frames_are_the_documented_slices() -> None:
    p = FeatureParams(hop_length=300)
    x = np.arange(5000, dtype=np.float32)
    fr = frame_signal(x, params=p)
    assert fr.shape == ((5000 - 1024) // 300 + 1, 1024)
    np.testing.assert_array_equal(fr[3], x[900:1924])


@pytest.mark.parametrize(
    ("signal", "needle"),
    [
        (np.array([], dtype=np.float32), "empty"),
        (np.zeros(100, dtype=np.float32), "shorter than one frame"),
        (np.array([1.0, np.nan] * 1024), "sample 1 is nan"),
        (np.array([0.0] * 1500 + [np.inf]), "sample 1500 is inf"),
        (np.zeros((2000, 3)), "not 1-D"),
        (np.zeros(2048, dtype=np.complex64), "not a real number type"),
        (np.array(["1.0"] * 2048), "not a real number type"),
    ],
)
def test_bad_signals_raise_signal_error_naming_the_problem(signal: np.ndarray, needle: str) -> None:
    with pytest.raises(SignalError, match=needle):
        extract_features(signal, params=FeatureParams())


def test_bad_frames_and_chunks_are_refused() -> None:
    p = FeatureParams()
    with pytest.raises(SignalError, match="does not match"):
        features_from_frames(np.zeros((3, 512)), params=p)
    s = FeatureStream(p)
    s.push(np.zeros(700))
    with pytest.raises(SignalError, match="sample 702 is nan"):
        s.push(np.array([0.0, 0.0, np.nan]))
    assert issubclass(SignalError, VibsentryError)


@pytest.mark.parametrize(("hop", "bad"), [(1024, 500), (512, 3000), (2000, 1500), (1024, 10_239)])
def test_a_non_finite_sample_anywhere_is_named_whatever_the_hop(hop: int, bad: int) -> None:
    # Inside a frame, in a gap that hop > frame_length skips, and in the trailing partial frame.
    x = np.random.default_rng(0).normal(size=10_240).astype(np.float32)
    x[bad] = np.inf
    with pytest.raises(SignalError, match=f"sample {bad} is inf"):
        extract_features(x, params=FeatureParams(hop_length=hop))
