"""Spectral kurtosis by the fast kurtogram, and the squared-envelope spectrum of the band it picks.

Method (after J. Antoni, "The spectral kurtosis: a useful tool for characterising non-stationary signals",
Mech. Syst. Signal Process. 20 (2006) 282-307, and J. Antoni, "Fast computation of the kurtogram for the
detection of transient faults", MSSP 21 (2007) 108-124):

* the band ``[0, fs/2]`` is split in a 1/3-binary tree: level ``k`` has ``2**k`` bands of width
  ``fs / 2**(k+1)``; between levels ``k`` and ``k+1`` (``k >= 1``) an intermediate level ``k + 0.6``
  (``log2(3) - 1``, rounded as Antoni labels it) has ``3 * 2**(k-1)`` bands of width ``fs / (3 * 2**k)``;
* in each band the complex envelope ``c`` is formed and its kurtosis ``K = E|c|^4 / (E|c|^2)^2 - 2`` is
  computed (0 for Gaussian noise, large for a train of impacts ringing a resonance in that band);
* the band with the largest ``K`` (among bands wide enough to carry the defect harmonics) is demodulated.

Antoni builds the tree from quasi-analytic FIR low/high-pass filters and decimation. Here each band is cut
out of one FFT of the whole record (rectangular band, circular signal) and brought to baseband by an inverse
FFT of its bins: the same bands and the same estimator, computed in O(N log N) per level and vectorised over
the bands of a level. The squared envelope ``|c|^2`` of the chosen band, sampled at twice the bandwidth (so
it cannot alias), is Hann-windowed and Fourier transformed: the squared-envelope spectrum of R.B. Randall and
J. Antoni, "Rolling element bearing diagnostics - a tutorial", MSSP 25 (2011) 485-520.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vibsentry.errors import SignalError

__all__ = ["Kurtogram", "envelope_spectrum", "fast_kurtogram"]


@dataclass(frozen=True)
class Kurtogram:
    """Spectral kurtosis of every band of the 1/3-binary tree.

    Attributes
    ----------
    levels : tuple of float
        Level labels 0, 1, 1.6, 2, 2.6, ...
    kurtosis : tuple of ndarray
        ``kurtosis[i][j]``: kurtosis of band ``j`` of level ``i`` (ndarray of shape (n_bands_i,)).
    sample_rate : float
        Hz.
    best_level : float
    best_band : tuple of float
        ``(f_lo, f_hi)`` in Hz of the chosen band.
    best_kurtosis : float
    """

    levels: tuple[float, ...]
    kurtosis: tuple[npt.NDArray[np.float64], ...]
    sample_rate: float
    best_level: float
    best_band: tuple[float, float]
    best_kurtosis: float

    def band_edges(self, level_index: int) -> npt.NDArray[np.float64]:
        """Band edges in Hz of level ``levels[level_index]``, shape (n_bands + 1,)."""
        nb = self.kurtosis[level_index].shape[0]
        return np.linspace(0.0, self.sample_rate / 2.0, nb + 1)

    def as_image(self, n_cols: int = 512) -> npt.NDArray[np.float64]:
        """The kurtogram as an image, shape (n_levels, n_cols): each band painted over its frequency span."""
        img = np.empty((len(self.levels), n_cols))
        for i, k in enumerate(self.kurtosis):
            img[i] = k[np.minimum((np.arange(n_cols) * k.shape[0]) // n_cols, k.shape[0] - 1)]
        return img


def _level_bands(max_level: int) -> list[tuple[float, int]]:
    """(label, n_bands) of the 1/3-binary tree up to ``max_level``."""
    out: list[tuple[float, int]] = [(0.0, 1)]
    for k in range(1, max_level + 1):
        out.append((float(k), 2**k))
        if k < max_level:
            out.append((k + 0.6, 3 * 2 ** (k - 1)))
    return out


def fast_kurtogram(
    x: npt.ArrayLike,
    *,
    sample_rate: float,
    max_level: int = 7,
    min_bandwidth_hz: float = 0.0,
) -> Kurtogram:
    """Spectral kurtosis of every band of the 1/3-binary tree up to ``max_level``.

    Parameters
    ----------
    x : array_like, shape (n_samples,)
        Signal (any unit).
    sample_rate : float
        Hz.
    max_level : int
        Deepest level (bands of ``fs / 2**(max_level+1)``); lowered when a band would hold fewer than 16
        spectral lines.
    min_bandwidth_hz : float
        Bands narrower than this are computed but never chosen.

    Returns
    -------
    Kurtogram
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.shape[0] < 256:
        raise SignalError(f"kurtogram needs a 1-D signal of >= 256 samples, got shape {a.shape}")
    n = a.shape[0]
    spec = np.fft.rfft(a - a.mean())[: n // 2]  # drop Nyquist: n//2 bins span [0, fs/2)
    nbins = spec.shape[0]
    while max_level > 0 and nbins // 2**max_level < 16:
        max_level -= 1
    levels: list[float] = []
    kurt: list[npt.NDArray[np.float64]] = []
    best = (-np.inf, 0.0, (0.0, sample_rate / 2.0))
    for label, nb in _level_bands(max_level):
        m = nbins // nb
        bands = spec[: nb * m].reshape(nb, m)
        c = np.fft.ifft(bands, axis=-1)
        p = np.abs(c) ** 2
        k = (p**2).mean(axis=-1) / np.maximum(p.mean(axis=-1) ** 2, 1e-300) - 2.0
        levels.append(label)
        kurt.append(k)
        width = sample_rate / 2.0 / nb
        if width >= min_bandwidth_hz:
            j = int(np.argmax(k))
            if k[j] > best[0]:
                best = (float(k[j]), label, (j * width, (j + 1) * width))
    if not np.isfinite(best[0]):
        raise SignalError(f"no kurtogram band is at least {min_bandwidth_hz:g} Hz wide at {sample_rate:g} Hz")
    return Kurtogram(
        levels=tuple(levels),
        kurtosis=tuple(kurt),
        sample_rate=float(sample_rate),
        best_level=best[1],
        best_band=best[2],
        best_kurtosis=best[0],
    )


def envelope_spectrum(
    x: npt.ArrayLike, *, sample_rate: float, band: tuple[float, float]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Squared-envelope spectrum of ``x`` band-passed to ``band``.

    Parameters
    ----------
    x : array_like, shape (n_samples,)
    sample_rate : float
        Hz.
    band : (float, float)
        Pass band in Hz, ``0 <= f_lo < f_hi <= sample_rate / 2``.

    Returns
    -------
    freqs : ndarray, shape (n_lines,)
        Hz, spaced ``sample_rate / n_samples`` (the resolution of the record), up to the bandwidth.
    amp : ndarray, shape (n_lines,)
        Peak amplitude of each line of the squared envelope (signal unit squared).
    """
    a = np.asarray(x, dtype=np.float64)
    n = a.shape[0]
    f_lo, f_hi = band
    if not 0.0 <= f_lo < f_hi <= sample_rate / 2.0 + 1e-9:
        raise SignalError(f"envelope band {band!r} is not inside [0, {sample_rate / 2:g}] Hz")
    spec = np.fft.rfft(a - a.mean())
    i0, i1 = round(f_lo * n / sample_rate), min(round(f_hi * n / sample_rate), spec.shape[0])
    m = i1 - i0
    if m < 4:
        raise SignalError(f"envelope band {band!r} holds fewer than 4 spectral lines")
    padded = np.zeros(2 * m, dtype=complex)
    padded[:m] = spec[i0:i1]
    # Analytic band signal at rate 2 * bandwidth; scaled so |c| is the band signal's amplitude.
    c = np.fft.ifft(padded) * (2.0 * 2 * m / n)
    ses = np.abs(c) ** 2
    w = np.hanning(ses.shape[0] + 1)[:-1]
    e = np.fft.rfft((ses - ses.mean()) * w)
    amp = np.abs(e) * (2.0 / w.sum())
    freqs = np.arange(amp.shape[0]) * (sample_rate / n)
    return freqs, amp


def prewhitened(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Cepstral prewhitening: the signal with a flat magnitude spectrum and its phase kept.

    ``ifft(X / |X|)`` removes the discrete shaft and gear lines and the colouring of the transmission path, so
    impacts stand out in every band (P. Borghesani, P. Pennacchi, R.B. Randall, N. Sawalhi, R. Ricci,
    "Application of cepstrum pre-whitening for the diagnosis of bearing faults under variable speed
    conditions", MSSP 36 (2013) 370-384).
    """
    a = np.asarray(x, dtype=np.float64)
    spec = np.fft.rfft(a - a.mean())
    return np.fft.irfft(spec / np.maximum(np.abs(spec), 1e-300), n=a.shape[-1])
