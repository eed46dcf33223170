"""Helpers for the synthetic-data and sample_data tests (import explicitly: ``from tests.support import synth``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from scipy import signal as sps


def envelope_spectrum(
    x: np.ndarray, *, sample_rate: float, band: tuple[float, float], pad: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Envelope (demodulation) spectrum, the way a vibration analyst looks for bearing defect lines.

    The signal is band-passed around the structural resonance (4th-order Butterworth, zero phase), its
    Hilbert envelope taken, the mean removed, and the magnitude spectrum computed with a Hann window,
    zero-padded ``pad`` times for a finer frequency grid.

    Returns
    -------
    freqs : ndarray, shape (n_bins,)
        Hz.
    magnitude : ndarray, shape (n_bins,)
        Envelope spectrum magnitude (arbitrary units).
    """
    sos = sps.butter(4, band, btype="bandpass", fs=sample_rate, output="sos")
    env = np.abs(sps.hilbert(sps.sosfiltfilt(sos, np.asarray(x, dtype=np.float64))))
    env -= env.mean()
    n = pad * env.size
    mag = np.abs(np.fft.rfft(env * np.hanning(env.size), n=n))
    return np.fft.rfftfreq(n, 1.0 / sample_rate), mag


def peak_frequency(freqs: np.ndarray, mag: np.ndarray, *, lo: float, hi: float) -> float:
    """Frequency (Hz) of the largest ``mag`` in ``[lo, hi]``."""
    m = (freqs >= lo) & (freqs <= hi)
    return float(freqs[m][np.argmax(mag[m])])


def read_sums(path: Path) -> dict[str, str]:
    """``SHA256SUMS`` (``sha256sum`` format) as {relative path: hex digest}."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        out[name.lstrip("*")] = digest
    return out


def sha256(path: Path) -> str:
    """SHA-256 hex digest of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
