"""Mel filterbank and DCT-II tables, built exactly as ``cmsisdsp.mfcc`` builds them for ``arm_mfcc_f32``.

Same mel scale (``1127 ln(1 + f/700)``), same filter centres (``n_mels + 2`` points evenly spaced in mel between
``fmin`` and ``fmax``), same evaluation on the FFT bin frequencies ``linspace(0, fs/2, N/2 + 1)``, same packing
(each filter stored from its first non-zero bin up to the bin before its next zero) and the same orthonormal-
style DCT scaling ``sqrt(2 / n_mels)`` with no special case for the first row. Vectorised over filters; the
arithmetic per element is the one ``cmsisdsp.mfcc`` does, so the float64 values are identical and the float32
tables are bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from vibsentry.errors import ConfigError

if TYPE_CHECKING:
    from vibsentry.dsp.params import FeatureParams


def hz_to_mel(freq: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Mel value of a frequency in Hz (``1127 ln(1 + f / 700)``, the scale CMSIS-DSP uses)."""
    return 1127.0 * np.log(1.0 + np.asarray(freq, dtype=np.float64) / 700.0)


def mel_to_hz(mels: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (np.exp(np.asarray(mels, dtype=np.float64) / 1127.0) - 1.0)


@dataclass(frozen=True)
class MelTable:
    """A mel filterbank in CMSIS ``arm_mfcc_instance_f32`` layout plus its dense equivalent.

    Attributes
    ----------
    pos : ndarray of uint32, shape (n_mels,)
        First FFT bin of each filter (``filterPos``).
    lengths : ndarray of uint32, shape (n_mels,)
        Bins per filter (``filterLengths``).
    coefs : ndarray of float32, shape (sum(lengths),)
        Packed filter weights (``filterCoefs``).
    matrix : ndarray of float32, shape (n_mels, n_fft // 2 + 1)
        The same weights as a dense matrix (zeros outside each filter's packed range).
    matrix_t : ndarray of float32, shape (n_fft // 2 + 1, n_mels)
        ``matrix.T`` stored contiguously (what a batched ``spectra @ matrix_t`` wants).
    """

    pos: npt.NDArray[np.uint32]
    lengths: npt.NDArray[np.uint32]
    coefs: npt.NDArray[np.float32]
    matrix: npt.NDArray[np.float32]
    matrix_t: npt.NDArray[np.float32]


@lru_cache(maxsize=32)
def _mel_table(fmin: float, fmax: float, n_mels: int, fs: float, n_fft: int) -> MelTable:
    n_bins = n_fft // 2 + 1
    mels = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), num=n_mels + 2)
    spec_mels = hz_to_mel(np.linspace(0, fs / 2.0, n_bins))[1:]
    lo, mid, hi = mels[:-2, None], mels[1:-1, None], mels[2:, None]
    upper = (spec_mels[None, :] - lo) / (mid - lo)
    lower = (hi - spec_mels[None, :]) / (hi - mid)
    dense = np.zeros((n_mels, n_bins))
    dense[:, 1:] = np.maximum(0.0, np.minimum(upper, lower))

    nz = dense != 0.0
    if not nz.any(axis=1).all():
        empty = int(np.flatnonzero(~nz.any(axis=1))[0])
        raise ConfigError(
            f"n_mels={n_mels}: mel filter {empty} covers no FFT bin between fmin={fmin:g} and fmax={fmax:g} Hz "
            f"at frame_length {n_fft}; use fewer mel bands or a longer frame"
        )
    start = nz.argmax(axis=1)
    # The packed range ends before the first zero after the start (CMSIS's scan); a filter that never returns
    # to zero runs to the last bin.
    after = ~nz & (np.arange(n_bins)[None, :] > start[:, None])
    has_end = after.any(axis=1)
    end = np.where(has_end, after.argmax(axis=1) - 1, n_bins - 1)
    lengths = end - start + 1

    packed = np.concatenate([dense[i, start[i] : end[i] + 1] for i in range(n_mels)]).astype(np.float32)
    matrix = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        matrix[i, start[i] : end[i] + 1] = dense[i, start[i] : end[i] + 1]
    matrix_t = np.ascontiguousarray(matrix.T)
    for arr in (packed, matrix, matrix_t):
        arr.setflags(write=False)
    return MelTable(start.astype(np.uint32), lengths.astype(np.uint32), packed, matrix, matrix_t)


def mel_filter_table(params: FeatureParams) -> MelTable:
    """The mel filterbank for ``params`` (cached; arrays are read-only).

    Raises :class:`~vibsentry.errors.ConfigError` when a filter would cover no FFT bin.
    """
    assert params.fmax is not None
    return _mel_table(params.fmin, params.fmax, params.n_mels, params.sample_rate, params.frame_length)


@lru_cache(maxsize=32)
def dct_matrix(n_mfcc: int, n_mels: int) -> npt.NDArray[np.float32]:
    """DCT-II matrix as ``cmsisdsp.mfcc.dctMatrix`` builds it.

    Returns
    -------
    ndarray of float32, shape (n_mfcc, n_mels), read-only
        ``D[i, j] = cos(i pi (j + 0.5) / n_mels) sqrt(2 / n_mels)``.
    """
    s = (np.linspace(1, n_mels, n_mels) - 0.5) / n_mels
    d = np.cos(np.arange(n_mfcc)[:, None] * np.pi * s[None, :]) * np.sqrt(2.0 / n_mels)
    out = d.astype(np.float32)
    out.setflags(write=False)
    return out
