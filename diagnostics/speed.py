"""Shaft speed from the spectrum: a harmonic-sum search for 1x inside a declared rpm range."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vibsentry.diagnostics.spectral import comb_fit, noise_floor, peaks_near, snr_db
from vibsentry.errors import ConfigError

__all__ = ["RPM_LIMITS", "SpeedEstimate", "check_rpm", "check_rpm_range", "estimate_speed"]

#: rpm accepted anywhere (a 1 rpm kiln to a 60 000 rpm spindle).
RPM_LIMITS = (1.0, 60000.0)


@dataclass(frozen=True)
class SpeedEstimate:
    """The shaft speed used by the diagnosis.

    Attributes
    ----------
    rpm : float
        Revolutions per minute.
    confidence : float
        In [0, 1]: 1 for a given speed; for an estimate ``1 - exp(-(S_best - S_runner_up) / 10)`` where S is
        the harmonic-sum score (dB-weighted, see :func:`~vibsentry.diagnostics.spectral.comb_fit`) and the
        runner-up is the best candidate more than 3 % away from the winner (0: two speeds explain the
        spectrum equally well; 0.63 for a 10 dB margin).
    source : str
        ``"given"`` or ``"spectrum"``.
    harmonics_db : tuple of float
        dB above the local floor of the 1x, 2x, 3x lines at this speed (raw spectrum).
    search_rpm : tuple of float or None
        The searched range.
    """

    rpm: float
    confidence: float
    source: str
    harmonics_db: tuple[float, ...] = ()
    search_rpm: tuple[float, float] | None = None

    @property
    def shaft_hz(self) -> float:
        """rpm / 60."""
        return self.rpm / 60.0


def check_rpm(rpm: float) -> None:
    """Refuse a speed outside :data:`RPM_LIMITS` (one-line :class:`ConfigError`)."""
    a, b = RPM_LIMITS
    if not (isinstance(rpm, (int, float)) and math.isfinite(rpm) and a <= rpm <= b):
        raise ConfigError(f"rpm {rpm!r} is out of range: must be within [{a:g}, {b:g}] rev/min")


def check_rpm_range(lo: float, hi: float) -> None:
    """Refuse a range outside :data:`RPM_LIMITS` or with ``lo >= hi`` (one-line :class:`ConfigError`)."""
    check_rpm(lo)
    check_rpm(hi)
    if not lo < hi:
        raise ConfigError(f"rpm range {lo:g}..{hi:g}: the lower bound must be below the upper one")


def estimate_speed(
    freqs: npt.NDArray[np.float64],
    amp: npt.NDArray[np.float64],
    *,
    rpm_range: tuple[float, float],
    n_harmonics: int = 5,
) -> SpeedEstimate:
    """Find the shaft frequency inside ``rpm_range`` whose harmonic comb stands highest above the floor.

    Parameters
    ----------
    freqs, amp : ndarray, shape (n_bins,)
        Amplitude spectrum of the raw signal (:func:`~vibsentry.diagnostics.spectral.amplitude_spectrum`).
    rpm_range : (float, float)
        Lowest and highest plausible speed in rev/min.
    n_harmonics : int
        Harmonics in the comb (1x .. n x).

    Returns
    -------
    SpeedEstimate
        The speed is refined to a fraction of a bin by interpolating the strongest of the 1x-3x peaks.
    """
    lo, hi = rpm_range
    check_rpm_range(lo, hi)
    df = float(freqs[1] - freqs[0])
    f_lo, f_hi = lo / 60.0, hi / 60.0
    top = min(freqs.shape[0], int(np.ceil((n_harmonics + 1) * f_hi / df)) + 64)
    floor = noise_floor(amp[:top], half_width_bins=max(8, round(0.5 * f_lo / df)))
    snr = snr_db(amp[:top], floor)
    cand, score = comb_fit(snr, df, f_lo=f_lo, f_hi=f_hi, n_harmonics=n_harmonics)
    i = int(np.argmax(score))
    f0 = float(cand[i])
    far = np.abs(cand - f0) > 0.03 * f0
    runner = float(score[far].max()) if far.any() else 0.0
    conf = float(1.0 - np.exp(-max(float(score[i]) - runner, 0.0) / 10.0))
    pk = peaks_near(freqs[:top], amp[:top], floor, f0 * np.arange(1, 4), tol_hz=np.arange(1, 4) * df)
    h = int(np.nanargmax(pk.db))
    refined = float(pk.freq_hz[h]) / (h + 1)
    if not abs(refined - f0) <= df:  # the interpolation wandered to a neighbour line
        refined = f0
    return SpeedEstimate(
        rpm=refined * 60.0,
        confidence=conf,
        source="spectrum",
        harmonics_db=tuple(float(v) for v in pk.db),
        search_rpm=(float(lo), float(hi)),
    )
