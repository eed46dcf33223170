"""Spectra in Hz, a median noise floor, peak search near expected lines, and harmonic-comb fitting.

All functions work on the last axis and accept leading batch axes where that makes sense. Amplitudes are
peak amplitudes of a sinusoid (a Hann-windowed spectrum divided by the window's coherent gain), in the unit of
the signal (g for acceleration).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from vibsentry.errors import SignalError

__all__ = [
    "LinePeaks",
    "amplitude_spectrum",
    "comb_fit",
    "noise_floor",
    "peaks_near",
    "snr_db",
]

_TINY = 1e-30


def amplitude_spectrum(
    x: npt.ArrayLike, *, sample_rate: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Single-sided amplitude spectrum with a Hann window.

    Parameters
    ----------
    x : array_like, shape (..., n_samples)
        Signal; the mean of each row is removed first.
    sample_rate : float
        Hz.

    Returns
    -------
    freqs : ndarray, shape (n_samples // 2 + 1,)
        Hz, spaced ``sample_rate / n_samples``.
    amp : ndarray, shape (..., n_samples // 2 + 1)
        Peak amplitude of a sinusoid centred on a bin, in the signal's unit.
    """
    a = np.asarray(x, dtype=np.float64)
    n = a.shape[-1]
    if n < 8:
        raise SignalError(f"spectrum of {n} samples: need at least 8")
    w = np.hanning(n + 1)[:-1]  # periodic Hann: exact coherent gain 0.5
    spec = np.fft.rfft((a - a.mean(axis=-1, keepdims=True)) * w, axis=-1)
    amp = np.abs(spec) * (2.0 / w.sum())
    return np.fft.rfftfreq(n, 1.0 / sample_rate).astype(np.float64), amp


def noise_floor(amp: npt.ArrayLike, *, half_width_bins: int) -> npt.NDArray[np.float64]:
    """Local noise floor: a running median over ``2 * half_width_bins + 1`` bins (edges repeat).

    A median ignores the few lines inside the window, so a peak is measured against the noise around it,
    not against itself.
    """
    a = np.asarray(amp, dtype=np.float64)
    size = [1] * (a.ndim - 1) + [2 * max(int(half_width_bins), 1) + 1]
    return np.maximum(ndimage.median_filter(a, size=size, mode="nearest"), _TINY)


def snr_db(amp: npt.ArrayLike, floor: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``20 log10(amp / floor)``: dB above the local floor for an amplitude spectrum."""
    return 20.0 * np.log10(np.maximum(np.asarray(amp), _TINY) / np.asarray(floor))


@dataclass(frozen=True)
class LinePeaks:
    """The strongest bin near each expected line.

    Attributes (all ndarray of the targets' shape)
    ----------------------------------------------
    expected_hz : float64
        Where the line was looked for.
    freq_hz : float64
        Peak frequency, refined by a parabola through the peak and its neighbours (log amplitude).
    amplitude : float64
        Peak amplitude (signal unit).
    floor : float64
        Local noise floor at the peak.
    db : float64
        dB above the floor.
    """

    expected_hz: npt.NDArray[np.float64]
    freq_hz: npt.NDArray[np.float64]
    amplitude: npt.NDArray[np.float64]
    floor: npt.NDArray[np.float64]
    db: npt.NDArray[np.float64]

    @property
    def error_hz(self) -> npt.NDArray[np.float64]:
        """Peak minus expected frequency, Hz."""
        return self.freq_hz - self.expected_hz


def peaks_near(
    freqs: npt.NDArray[np.float64],
    amp: npt.NDArray[np.float64],
    floor: npt.NDArray[np.float64],
    targets: npt.ArrayLike,
    *,
    tol_hz: npt.ArrayLike,
) -> LinePeaks:
    """Find the highest bin within ``target +- tol_hz`` of each target (vectorised over targets).

    Parameters
    ----------
    freqs : ndarray, shape (n_bins,)
        Uniformly spaced bin frequencies starting at 0.
    amp, floor : ndarray, shape (n_bins,)
    targets : array_like, shape (...)
        Expected line frequencies in Hz; those beyond the last bin give NaN results.
    tol_hz : array_like, broadcastable to targets
        Half-width of the search window; at least one bin is always searched on each side.
    """
    t = np.asarray(targets, dtype=np.float64)
    df = float(freqs[1] - freqs[0])
    nb = freqs.shape[0]
    half = np.maximum(np.rint(np.broadcast_to(np.asarray(tol_hz, dtype=np.float64), t.shape) / df), 1)
    hmax = int(half.max()) if half.size else 1
    centre = np.rint(t / df).astype(np.int64)
    offs = np.arange(-hmax, hmax + 1)
    idx = centre[..., None] + offs
    inside = (np.abs(offs) <= half[..., None]) & (idx >= 1) & (idx < nb - 1)
    idx_c = np.clip(idx, 1, nb - 2)
    vals = np.where(inside, amp[idx_c], -np.inf)
    k = np.argmax(vals, axis=-1)
    best = np.take_along_axis(idx_c, k[..., None], axis=-1)[..., 0]
    la, lb, lc = (np.log(np.maximum(amp[best + d], _TINY)) for d in (-1, 0, 1))
    den = la - 2.0 * lb + lc
    shift = np.where(den < 0, 0.5 * (la - lc) / np.where(den < 0, den, -1.0), 0.0)
    shift = np.clip(shift, -0.5, 0.5)
    peak_amp = amp[best]
    fl = floor[best]
    ok = (centre < nb - 1) & np.isfinite(t)
    nan = np.full(t.shape, np.nan)
    return LinePeaks(
        expected_hz=t,
        freq_hz=np.where(ok, (best + shift) * df, nan),
        amplitude=np.where(ok, peak_amp, nan),
        floor=np.where(ok, fl, nan),
        db=np.where(ok, snr_db(peak_amp, fl), nan),
    )


def comb_fit(
    snr: npt.NDArray[np.float64],
    df: float,
    *,
    f_lo: float,
    f_hi: float,
    n_harmonics: int,
    cap_db: float = 30.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Harmonic-sum score of every candidate fundamental in ``[f_lo, f_hi]``.

    The score of a candidate ``f`` is ``sum_h clip(snr(h f), 0, cap_db) / h`` for ``h = 1..n_harmonics``,
    where ``snr(h f)`` is the best bin within ``+- h / 2`` candidate steps of ``h f`` (the tolerance grows with
    the harmonic number because a frequency error does). The ``1 / h`` weights make the true fundamental
    beat both its half (whose odd harmonics fall on noise) and its double (which misses the odd harmonics).

    Parameters
    ----------
    snr : ndarray, shape (n_bins,)
        dB above the local floor.
    df : float
        Bin spacing in Hz.
    f_lo, f_hi : float
        Candidate range in Hz.
    n_harmonics : int
    cap_db : float
        Per-line cap, so one huge line cannot outweigh a whole comb.

    Returns
    -------
    candidates : ndarray, shape (n_candidates,)
        Hz, spaced ``df / 2``.
    score : ndarray, shape (n_candidates,)
    """
    step = df / 2.0
    cand = np.arange(f_lo, f_hi + 0.5 * step, step)
    s = np.clip(snr, 0.0, cap_db)
    nb = s.shape[0]
    score = np.zeros(cand.shape)
    for h in range(1, n_harmonics + 1):
        half = max(1, round(h * step / 2.0 / df))
        smax = ndimage.maximum_filter1d(s, size=2 * half + 1, mode="nearest")
        idx = np.rint(h * cand / df).astype(np.int64)
        score += np.where(idx < nb, smax[np.minimum(idx, nb - 1)], 0.0) / h
    return cand, score
