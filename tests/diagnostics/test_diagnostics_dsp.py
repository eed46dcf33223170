"""Building blocks of the diagnosis: amplitude spectrum, floor and peaks, kurtogram, envelope, shaft speed."""

from __future__ import annotations

import numpy as np
import pytest

from vibsentry.diagnostics import envelope_spectrum, estimate_speed, fast_kurtogram
from vibsentry.diagnostics.spectral import amplitude_spectrum, noise_floor, peaks_near
from vibsentry.errors import ConfigError, SignalError

FS = 12000.0


def test_amplitude_spectrum_reads_the_peak_amplitude_of_a_sinusoid() -> None:
    n = 12000
    t = np.arange(n) / FS
    x = 0.5 * np.sin(2 * np.pi * 100.0 * t) + 0.02 * np.sin(2 * np.pi * 1234.0 * t)
    f, a = amplitude_spectrum(np.stack([x, 2 * x]), sample_rate=FS)  # batched over a leading axis
    assert f[1] == pytest.approx(1.0) and a.shape == (2, n // 2 + 1)
    assert a[0, 100] == pytest.approx(0.5, rel=1e-6) and a[0, 1234] == pytest.approx(0.02, rel=1e-6)
    assert a[1, 100] == pytest.approx(1.0, rel=1e-6)


def test_peaks_near_interpolates_between_bins_and_measures_against_the_floor() -> None:
    rng = np.random.default_rng(0)
    n = 24000
    t = np.arange(n) / FS
    x = 0.1 * np.sin(2 * np.pi * 107.3 * t) + 0.01 * rng.standard_normal(n)
    f, a = amplitude_spectrum(x, sample_rate=FS)
    floor = noise_floor(a, half_width_bins=40)
    pk = peaks_near(f, a, floor, np.array([107.0, 250.0, 7000.0]), tol_hz=1.0)
    assert abs(pk.freq_hz[0] - 107.3) < 0.05  # bins are 0.5 Hz apart
    assert pk.db[0] > 30 and pk.db[1] < 12  # a line, then noise
    assert np.isnan(pk.freq_hz[2])  # beyond Nyquist


def _impulses_in_noise(seed: int, fres: float) -> np.ndarray:
    """Impacts every 1/97 s ringing a 4 % damped mode at ``fres``, in white noise of similar power."""
    rng = np.random.default_rng(seed)
    n = int(2 * FS)
    x = np.zeros(n)
    x[(np.arange(0, 2, 1 / 97.0) * FS).astype(int)] = 1.0
    tt = np.arange(400) / FS
    h = np.exp(-0.04 * 2 * np.pi * fres * tt) * np.sin(2 * np.pi * fres * tt)
    y = np.convolve(x, h)[:n]
    return y + 0.35 * np.std(y) * 3 * rng.standard_normal(n)


@pytest.mark.parametrize("fres", [1700.0, 4200.0])
def test_kurtogram_chooses_the_band_of_the_ringing_and_gaussian_noise_scores_zero(fres: float) -> None:
    x = _impulses_in_noise(1, fres)
    kg = fast_kurtogram(x, sample_rate=FS, min_bandwidth_hz=300)
    lo, hi = kg.best_band
    assert lo <= fres <= hi, kg.best_band
    # Demodulating the resonance band beats the whole band (level 0), where the noise dilutes the impacts.
    assert kg.best_kurtosis > 0.5 and kg.best_kurtosis > 1.5 * float(kg.kurtosis[0][0])
    assert kg.levels[:5] == (0.0, 1.0, 1.6, 2.0, 2.6)
    assert [k.shape[0] for k in kg.kurtosis[:5]] == [1, 2, 3, 4, 6]
    noise = fast_kurtogram(np.random.default_rng(2).standard_normal(int(4 * FS)), sample_rate=FS)
    # Spectral kurtosis of Gaussian noise is 0; the estimator's spread over ~2k samples per band is small.
    assert abs(noise.kurtosis[3]).max() < 0.3


def test_envelope_spectrum_shows_the_modulation_rate() -> None:
    n = int(4 * FS)
    t = np.arange(n) / FS
    x = (1.0 + 0.5 * np.cos(2 * np.pi * 37.0 * t)) * np.sin(2 * np.pi * 3000.0 * t)
    f, a = envelope_spectrum(x, sample_rate=FS, band=(2500.0, 3500.0))
    assert f[1] == pytest.approx(0.25)
    # |c|^2 = (1 + 0.5 cos)^2 -> line at 37 Hz of amplitude 1.0 (2 * 0.5), at 74 Hz of 0.125.
    i = int(np.argmax(a[5:])) + 5
    assert f[i] == pytest.approx(37.0) and a[i] == pytest.approx(1.0, rel=0.02)
    assert a[np.searchsorted(f, 74.0)] == pytest.approx(0.125, rel=0.05)
    with pytest.raises(SignalError, match="not inside"):
        envelope_spectrum(x, sample_rate=FS, band=(5000.0, 7000.0))


@pytest.mark.parametrize("rpm", [740.0, 1797.0, 2950.0])
def test_speed_from_a_harmonic_series_not_its_half_or_double(rpm: float) -> None:
    rng = np.random.default_rng(int(rpm))
    n = int(8 * FS)
    t = np.arange(n) / FS
    f0 = rpm / 60.0
    x = sum(a * np.cos(2 * np.pi * k * f0 * t + k) for k, a in ((1, 0.05), (2, 0.03), (3, 0.02), (4, 0.01)))
    x = x + 0.05 * rng.standard_normal(n)
    f, a = amplitude_spectrum(x, sample_rate=FS)
    est = estimate_speed(f, a, rpm_range=(600.0, 3600.0))
    assert est.rpm == pytest.approx(rpm, rel=2e-3)
    assert est.confidence > 0.3 and est.source == "spectrum"
    with pytest.raises(ConfigError, match="lower bound"):
        estimate_speed(f, a, rpm_range=(3000.0, 600.0))
