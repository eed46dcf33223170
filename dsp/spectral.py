"""Windows, real FFT (NumPy order or CMSIS ``arm_rfft_fast_f32`` packed order) and spectra, batched over frames."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.fft

if TYPE_CHECKING:
    from vibsentry.dsp.params import FeatureParams


@lru_cache(maxsize=32)
def _window(name: str, n: int) -> npt.NDArray[np.float32]:
    k = np.arange(n, dtype=np.float64)
    if name == "hann":
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * k / n)
    elif name == "hamming":
        w = 0.54 - 0.46 * np.cos(2.0 * np.pi * k / n)
    elif name == "rect":
        w = np.ones(n)
    else:  # FeatureParams validation makes this unreachable
        raise ValueError(name)
    out = w.astype(np.float32)
    out.setflags(write=False)
    return out


def window_coefs(params: FeatureParams) -> npt.NDArray[np.float32]:
    """Analysis window of ``params.frame_length`` samples, float32, read-only.

    Windows are *periodic* (DFT-even: ``w[k] = 0.5 - 0.5 cos(2 pi k / N)`` for Hann), the form spectral
    analysis wants and the one the CMSIS MFCC examples use. The C firmware gets this exact table.
    """
    return _window(params.window, params.frame_length)


def rfft(frames: npt.ArrayLike) -> npt.NDArray[np.complex64]:
    """One-sided DFT of each row, unscaled (``X[k] = sum x[n] e^{-2 pi i k n / N}``).

    Parameters
    ----------
    frames : array_like, shape (n_frames, N) or (N,)

    Returns
    -------
    ndarray of complex64, shape (..., N // 2 + 1)
    """
    x = np.asarray(frames, dtype=np.float32)
    return scipy.fft.rfft(x, axis=-1, workers=1).astype(np.complex64, copy=False)


def pack_cmsis(spectrum: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Convert one-sided spectra to ``arm_rfft_fast_f32`` packed layout.

    Parameters
    ----------
    spectrum : array_like of complex, shape (..., N // 2 + 1)

    Returns
    -------
    ndarray of float32, shape (..., N)
        ``[Re X0, Re X(N/2), Re X1, Im X1, ..., Re X(N/2-1), Im X(N/2-1)]``: the imaginary parts of the DC and
        Nyquist bins are always zero, so CMSIS stores the real Nyquist value in slot 1.
    """
    X = np.asarray(spectrum)
    n = 2 * (X.shape[-1] - 1)
    out = np.empty((*X.shape[:-1], n), dtype=np.float32)
    out[..., 0] = X[..., 0].real
    out[..., 1] = X[..., -1].real
    out[..., 2::2] = X[..., 1:-1].real
    out[..., 3::2] = X[..., 1:-1].imag
    return out


def unpack_cmsis(packed: npt.ArrayLike) -> npt.NDArray[np.complex64]:
    """Inverse of :func:`pack_cmsis`: packed (..., N) float -> one-sided complex (..., N // 2 + 1)."""
    p = np.asarray(packed, dtype=np.float32)
    n = p.shape[-1]
    X = np.zeros((*p.shape[:-1], n // 2 + 1), dtype=np.complex64)
    X[..., 0] = p[..., 0]
    X[..., -1] = p[..., 1]
    X[..., 1:-1] = p[..., 2::2] + 1j * p[..., 3::2]
    return X


def rfft_packed(frames: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Real FFT of each row in CMSIS ``arm_rfft_fast_f32`` packed layout, shape (..., N), float32."""
    return pack_cmsis(rfft(frames))


def magnitude(spectrum: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """``|X|`` of complex spectra (what ``arm_cmplx_mag_f32`` computes), float32, same shape."""
    return np.abs(np.asarray(spectrum)).astype(np.float32, copy=False)


def power(spectrum: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """``|X|^2`` of complex spectra (``arm_cmplx_mag_squared_f32``), float32, same shape."""
    X = np.asarray(spectrum)
    return (X.real * X.real + X.imag * X.imag).astype(np.float32, copy=False)


def bin_frequencies(params: FeatureParams) -> npt.NDArray[np.float64]:
    """Centre frequency in Hz of each one-sided bin, shape (N // 2 + 1,)."""
    return np.arange(params.n_bins, dtype=np.float64) * np.float64(params.sample_rate / params.frame_length)


def one_sided_scale(params: FeatureParams) -> npt.NDArray[np.float64]:
    """Per-bin factor turning ``|X_k|^2`` of a windowed frame into that bin's share of the mean square.

    By Parseval, ``mean(x^2) ~= sum_k c_k |X_k|^2 / (N * sum(w^2))`` with ``c_k = 2`` for the bins that stand
    for a positive and a negative frequency and ``c_k = 1`` for DC and Nyquist. Shape (N // 2 + 1,).
    """
    n = params.frame_length
    w = window_coefs(params).astype(np.float64)
    c = np.full(params.n_bins, 2.0)
    c[0] = c[-1] = 1.0
    return c / (n * float(np.sum(w * w)))
