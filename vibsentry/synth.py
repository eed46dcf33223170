"""Seeded synthetic accelerometer signals of a rotating machine on rolling-element bearings.

The model is the one vibration analysts reason with, kept simple enough to be fast and explainable:

* the shaft turns at ``rpm`` (an induction motor slows a little as load rises, so a load change moves the
  speed), with a slow random speed wander of a fraction of a percent;
* shaft harmonics at 1x (unbalance, grows with speed squared), 2x and 3x (misalignment, grow with load), plus
  the electrical vibration at twice the line frequency;
* a localised bearing defect makes a train of impacts at the defect frequency of :func:`bearing_frequencies`:
  BPFO for the outer race (stationary, in the load zone: steady amplitude), BPFI for the inner race (the
  defect turns with the shaft through the load zone: amplitude modulated at the shaft rate), 2 x BSF for a
  ball (it strikes both races once per spin: modulated at the cage rate FTF). The spacing of the impacts
  jitters by ``slip`` (rolling elements slip by 1-2 %), so the signal is cyclostationary, not periodic;
* every impact rings a structural resonance of the housing (a decaying sinusoid of ``resonance_hz`` with
  damping ratio ``damping_ratio``); that ringing is what envelope analysis demodulates;
* broadband sensor noise plus a little resonance-band noise (a healthy bearing is not silent);
* a 24-bit ADC with a +-``full_scale_g`` range quantises the result.

The fault can start partway through (``fault_onset_s``) and grow (``growth_s``), which is how the demo turns a
healthy machine faulty after about a minute. Everything is vectorised (no loop per sample or per impact) and
seeded from a :class:`numpy.random.Generator`: the same arguments give the same array, bit for bit.

Amplitudes are in g and chosen to resemble the CWRU drive-end records: about 0.07 g RMS healthy, impacts of
a few g for a 0.007 in (0.18 mm) outer-race spall at ``severity=1``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal as sps

from vibsentry.errors import ConfigError

__all__ = [
    "FAULTS",
    "MACHINES",
    "BearingGeometry",
    "MachineProfile",
    "bearing_frequencies",
    "bearing_orders",
    "machine_signal",
]

#: Fault kinds :func:`machine_signal` can simulate, mapped to the manifest label used in ``sample_data/``.
FAULTS: dict[str, str] = {"outer": "outer_race", "inner": "inner_race", "ball": "ball"}

_MM_PER_INCH = 25.4


@dataclass(frozen=True)
class BearingGeometry:
    """Geometry of a rolling-element bearing, the input of the defect-frequency formulas.

    The default is the SKF 6205-2RS JEM deep-groove ball bearing at the drive end of the CWRU test rig
    (CWRU Bearing Data Center): 9 balls of 0.3126 in on a 1.537 in pitch diameter, 0 degree contact angle.

    Parameters
    ----------
    n_balls : int
        Number of rolling elements (>= 3).
    ball_diameter_mm : float
        Rolling-element diameter ``Bd`` in mm.
    pitch_diameter_mm : float
        Pitch (cage) diameter ``Pd`` in mm; must exceed ``ball_diameter_mm``.
    contact_angle_deg : float
        Contact angle in degrees (0 for a deep-groove bearing under radial load), in [0, 90).
    name : str
        Designation, for reports.
    """

    n_balls: int = 9
    ball_diameter_mm: float = 0.3126 * _MM_PER_INCH
    pitch_diameter_mm: float = 1.537 * _MM_PER_INCH
    contact_angle_deg: float = 0.0
    name: str = "SKF 6205-2RS JEM"

    def __post_init__(self) -> None:
        if isinstance(self.n_balls, bool) or not isinstance(self.n_balls, int) or self.n_balls < 3:
            raise ConfigError(f"bearing n_balls={self.n_balls!r}: must be an integer >= 3")
        for name in ("ball_diameter_mm", "pitch_diameter_mm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"bearing {name}={value!r}: must be a positive number of mm")
        if self.ball_diameter_mm >= self.pitch_diameter_mm:
            raise ConfigError(
                f"bearing ball_diameter_mm={self.ball_diameter_mm!r}: must be smaller than "
                f"pitch_diameter_mm={self.pitch_diameter_mm!r}"
            )
        if not (math.isfinite(self.contact_angle_deg) and 0.0 <= self.contact_angle_deg < 90.0):
            raise ConfigError(f"bearing contact_angle_deg={self.contact_angle_deg!r}: must be in [0, 90)")


def bearing_orders(geometry: BearingGeometry | None = None) -> dict[str, float]:
    """Bearing defect frequencies as multiples of the shaft frequency (orders), outer race stationary.

    With ``N`` balls, ball diameter ``Bd``, pitch diameter ``Pd``, contact angle ``phi`` and
    ``rho = Bd / Pd * cos(phi)``:

    * ``ftf  = (1 - rho) / 2``                  fundamental train (cage) frequency
    * ``bpfo = N / 2 * (1 - rho)``              ball pass frequency, outer race
    * ``bpfi = N / 2 * (1 + rho)``              ball pass frequency, inner race
    * ``bsf  = Pd / (2 Bd) * (1 - rho**2)``     ball spin frequency (a ball defect strikes at ``2 * bsf``)

    For the default 6205-2RS these give 0.3983, 3.5848, 5.4152 and 2.3567, the values CWRU publishes
    (CWRU lists the ball as 4.7135 = 2 x BSF).

    Parameters
    ----------
    geometry : BearingGeometry, optional
        Defaults to :class:`BearingGeometry` ().

    Returns
    -------
    dict of str to float
        Keys ``"ftf"``, ``"bpfo"``, ``"bpfi"``, ``"bsf"``; dimensionless orders.
    """
    g = geometry if geometry is not None else BearingGeometry()
    rho = g.ball_diameter_mm / g.pitch_diameter_mm * math.cos(math.radians(g.contact_angle_deg))
    return {
        "ftf": 0.5 * (1.0 - rho),
        "bpfo": 0.5 * g.n_balls * (1.0 - rho),
        "bpfi": 0.5 * g.n_balls * (1.0 + rho),
        "bsf": g.pitch_diameter_mm / (2.0 * g.ball_diameter_mm) * (1.0 - rho * rho),
    }


def bearing_frequencies(geometry: BearingGeometry | None = None, rpm: float = 1797.0) -> dict[str, float]:
    """Bearing defect frequencies in Hz at a shaft speed.

    Parameters
    ----------
    geometry : BearingGeometry, optional
        Defaults to the CWRU drive-end 6205-2RS.
    rpm : float
        Shaft speed in revolutions per minute (> 0).

    Returns
    -------
    dict of str to float
        ``"shaft"`` (rpm / 60) and ``"ftf"``, ``"bpfo"``, ``"bpfi"``, ``"bsf"`` in Hz: the orders of
        :func:`bearing_orders` times the shaft frequency. Example: 6205-2RS at 1797 rpm gives
        BPFO 107.36 Hz, BPFI 162.19 Hz.
    """
    if not (isinstance(rpm, (int, float)) and math.isfinite(rpm) and rpm > 0):
        raise ConfigError(f"rpm={rpm!r}: must be a positive number of revolutions per minute")
    shaft = float(rpm) / 60.0
    out = {"shaft": shaft}
    out.update({k: v * shaft for k, v in bearing_orders(geometry).items()})
    return out


@dataclass(frozen=True)
class MachineProfile:
    """A named machine: the constant keyword arguments of :func:`machine_signal` that describe it.

    ``machine_signal(**profile.kwargs(), duration_s=..., load=..., seed=...)`` simulates it.
    """

    name: str
    rpm: float
    resonance_hz: float = 3000.0
    damping_ratio: float = 0.05
    unbalance: float = 1.0
    misalignment: float = 0.0
    line_hz: float | None = 60.0
    noise_g: float = 0.05
    geometry: BearingGeometry = field(default_factory=BearingGeometry)

    def kwargs(self) -> dict[str, Any]:
        """The profile as keyword arguments for :func:`machine_signal` (``name`` left out)."""
        return {
            "rpm": self.rpm,
            "resonance_hz": self.resonance_hz,
            "damping_ratio": self.damping_ratio,
            "unbalance": self.unbalance,
            "misalignment": self.misalignment,
            "line_hz": self.line_hz,
            "noise_g": self.noise_g,
            "geometry": self.geometry,
        }


#: Three machines used by ``sample_data/`` and the demo: a 4-pole 60 Hz motor-pump like the CWRU rig, a
#: 4-pole 50 Hz fan with a softer housing, a 2-pole 50 Hz compressor with some misalignment.
MACHINES: dict[str, MachineProfile] = {
    "m1": MachineProfile(name="m1", rpm=1797.0, resonance_hz=3000.0, line_hz=60.0),
    "m2": MachineProfile(name="m2", rpm=1480.0, resonance_hz=2500.0, unbalance=1.6, line_hz=50.0, noise_g=0.04),
    "m3": MachineProfile(
        name="m3", rpm=2960.0, resonance_hz=3600.0, damping_ratio=0.04, unbalance=0.7, misalignment=0.4,
        line_hz=50.0, noise_g=0.06,
    ),
}  # fmt: skip


def _check(name: str, value: Any, ok: bool, why: str) -> None:
    if not ok:
        raise ConfigError(f"machine_signal {name}={value!r}: {why}")


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _resonator(x: np.ndarray, *, freq_hz: float, zeta: float, sample_rate: float) -> np.ndarray:
    """Filter ``x`` through a sampled decaying sinusoid ``exp(-zeta w t) sin(w_d t)`` (impulse invariance).

    A unit impulse in ``x`` at sample ``k`` becomes a ringing burst that starts at ``k + 1`` with a first
    peak near 1; an IIR filter makes this O(n) whatever the number of impacts.
    """
    w_n = 2.0 * math.pi * freq_hz
    w_d = w_n * math.sqrt(1.0 - zeta * zeta) / sample_rate
    r = math.exp(-zeta * w_n / sample_rate)
    b = [0.0, r * math.sin(w_d)]
    a = [1.0, -2.0 * r * math.cos(w_d), r * r]
    return np.asarray(sps.lfilter(b, a, x))


def _load_curve(
    n: int, *, sample_rate: float, load: float, load_changes: Sequence[tuple[float, float]], tau_s: float
) -> np.ndarray:
    """Per-sample load: steps at the ``load_changes`` times, smoothed by a first-order lag of ``tau_s``."""
    if not load_changes:
        return np.full(n, float(load))
    times = np.array([t for t, _ in load_changes], dtype=np.float64)
    levels = np.array([float(load)] + [v for _, v in load_changes], dtype=np.float64)
    steps = levels[np.searchsorted(times * sample_rate, np.arange(n), side="right")]
    alpha = 1.0 - math.exp(-1.0 / (tau_s * sample_rate))
    zi = np.array([(1.0 - alpha) * float(load)])
    out, _ = sps.lfilter([alpha], [1.0, alpha - 1.0], steps, zi=zi)
    return np.asarray(out)


def _impact_train(
    rate: np.ndarray,
    amplitude: np.ndarray,
    *,
    rng: np.random.Generator,
    slip: float,
    spread: float,
) -> np.ndarray:
    """Impulses whose spacing follows the instantaneous ``rate`` (defect cycles per sample) with random slip.

    The cumulative number of defect cycles ``c(t)`` is integrated from the rate; impact ``k`` happens when
    ``c`` reaches ``k + e_1 + ... + e_k`` with ``e_i ~ N(0, slip)``: each spacing jitters by about ``slip``
    without the mean rate drifting. Each impact is split between its two neighbouring samples (linear
    interpolation) so the timing is not quantised to the sample grid, and scaled by ``amplitude`` at that
    instant times a random factor ``1 + spread * N(0, 1)`` (impacts are never identical).
    """
    n = rate.size
    cycles = np.cumsum(rate)
    n_imp = int(cycles[-1]) + 2
    jitter = 1.0 + slip * rng.standard_normal(n_imp)
    targets = np.cumsum(np.clip(jitter, 0.5, 1.5)) - 0.5
    targets = targets[targets < cycles[-1]]
    pos = np.interp(targets, cycles, np.arange(n, dtype=np.float64))
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    scale = amplitude[lo] * np.clip(1.0 + spread * rng.standard_normal(lo.size), 0.2, None)
    out = np.bincount(lo, weights=scale * (1.0 - frac), minlength=n + 1)
    out += np.bincount(lo + 1, weights=scale * frac, minlength=n + 1)
    return out[:n]


def machine_signal(
    *,
    duration_s: float,
    sample_rate: float = 12000.0,
    rpm: float = 1797.0,
    load: float = 0.0,
    load_changes: Sequence[tuple[float, float]] = (),
    fault: str | None = None,
    severity: float = 1.0,
    fault_onset_s: float | None = None,
    growth_s: float = 0.0,
    geometry: BearingGeometry | None = None,
    unbalance: float = 1.0,
    misalignment: float = 0.0,
    line_hz: float | None = 60.0,
    resonance_hz: float = 3000.0,
    damping_ratio: float = 0.05,
    noise_g: float = 0.05,
    slip: float = 0.015,
    rpm_droop: float = 45.0,
    full_scale_g: float = 16.0,
    seed: int = 0,
) -> np.ndarray:
    """Simulate the accelerometer signal (in g) of a rotating machine, healthy or with a bearing defect.

    Parameters
    ----------
    duration_s : float
        Length in seconds (> 0); the output has ``round(duration_s * sample_rate)`` samples.
    sample_rate : float
        Sampling rate in Hz (>= 1000).
    rpm : float
        Shaft speed at the starting ``load``, revolutions per minute (> 0).
    load : float
        Starting load as a fraction of rated load, in [0, 2] (above 1 is overload).
    load_changes : sequence of (time_s, load)
        Later load steps, sorted by time; each is reached with a 0.5 s first-order lag. The speed follows:
        ``rpm - rpm_droop * (load(t) - load)``.
    fault : {None, "outer", "inner", "ball"}
        Bearing defect to simulate (see the module notes for the impact rates and modulation).
    severity : float
        Defect size, >= 0; 1.0 resembles a 0.007 in (0.18 mm) CWRU seeded defect.
    fault_onset_s : float, optional
        Time the defect appears, in [0, duration_s); None means from the start. Requires ``fault``.
    growth_s : float
        Seconds over which the defect grows from nothing to ``severity`` after onset (quadratic growth,
        like a spall that spreads); 0 means it appears at full size.
    geometry : BearingGeometry, optional
        The bearing; defaults to the CWRU drive-end 6205-2RS.
    unbalance : float
        Multiplier of the 1x (unbalance) amplitude, >= 0 (1.0: about 0.03 g at 1800 rpm).
    misalignment : float
        >= 0; raises 2x and 3x (0: well aligned, 1: badly misaligned).
    line_hz : float or None
        Mains frequency of the motor (2 x line electrical vibration, grows with load); None for none.
    resonance_hz, damping_ratio : float
        Structural resonance rung by each impact; ``resonance_hz`` below Nyquist, ratio in (0, 0.5].
    noise_g : float
        RMS of the broadband sensor noise in g, >= 0.
    slip : float
        Relative jitter of the impact spacing, in [0, 0.1] (rolling elements slip by 1-2 %).
    rpm_droop : float
        Speed lost per unit of load in rpm (induction-motor slip), >= 0.
    full_scale_g : float
        Accelerometer range +-``full_scale_g``; the output is clipped to it and quantised to 24 bits.
    seed : int
        Seed of the :class:`numpy.random.Generator`; same arguments and seed give an identical array.

    Returns
    -------
    ndarray of float32, shape (n_samples,)
        Acceleration in g.

    Raises
    ------
    vibsentry.errors.ConfigError
        An argument is out of range; the message quotes it.

    Examples
    --------
    >>> x = machine_signal(duration_s=10.0, rpm=1797, load=0.5, fault="outer", fault_onset_s=5.0, seed=1)
    >>> x.shape, x.dtype
    ((120000,), dtype('float32'))
    """
    _check("duration_s", duration_s, _finite(duration_s) and duration_s > 0, "must be a positive number of s")
    _check("sample_rate", sample_rate, _finite(sample_rate) and sample_rate >= 1000, "must be >= 1000 Hz")
    _check("rpm", rpm, _finite(rpm) and 0 < rpm <= 60000, "must be in (0, 60000] rpm")
    _check("load", load, _finite(load) and 0 <= load <= 2, "must be a fraction of rated load in [0, 2]")
    _check("fault", fault, fault is None or fault in FAULTS, f"must be None or one of {sorted(FAULTS)}")
    _check("severity", severity, _finite(severity) and severity >= 0, "must be a number >= 0")
    _check("growth_s", growth_s, _finite(growth_s) and growth_s >= 0, "must be a number of s >= 0")
    for name, value in (("unbalance", unbalance), ("misalignment", misalignment), ("noise_g", noise_g)):
        _check(name, value, _finite(value) and value >= 0, "must be a number >= 0")
    _check("slip", slip, _finite(slip) and 0 <= slip <= 0.1, "must be in [0, 0.1]")
    _check("rpm_droop", rpm_droop, _finite(rpm_droop) and rpm_droop >= 0, "must be a number >= 0")
    _check("full_scale_g", full_scale_g, _finite(full_scale_g) and full_scale_g > 0, "must be > 0 g")
    _check(
        "damping_ratio",
        damping_ratio,
        _finite(damping_ratio) and 0 < damping_ratio <= 0.5,
        "must be in (0, 0.5]",
    )
    _check(
        "resonance_hz", resonance_hz, _finite(resonance_hz) and 0 < resonance_hz < 0.45 * sample_rate,
        f"must be in (0, {0.45 * sample_rate:g}) Hz (below Nyquist at sample_rate={sample_rate!r})",
    )  # fmt: skip
    _check(
        "line_hz", line_hz, line_hz is None or (_finite(line_hz) and line_hz > 0), "must be None or > 0 Hz"
    )
    _check(
        "seed", seed, isinstance(seed, (int, np.integer)) and not isinstance(seed, bool), "must be an integer"
    )
    if fault_onset_s is not None:
        _check("fault_onset_s", fault_onset_s, fault is not None, "given without a fault")
        _check(
            "fault_onset_s", fault_onset_s, _finite(fault_onset_s) and 0 <= fault_onset_s < duration_s,
            f"must be in [0, duration_s={duration_s!r})",
        )  # fmt: skip
    prev = -math.inf
    for item in load_changes:
        ok = (
            len(item) == 2 and _finite(item[0]) and _finite(item[1]) and item[0] >= prev and 0 <= item[1] <= 2
        )
        _check("load_changes", item, ok, "each must be (time_s, load) with increasing times, load in [0, 2]")
        prev = item[0]

    rng = np.random.default_rng(seed)
    fs = float(sample_rate)
    n = round(duration_s * fs)
    _check("duration_s", duration_s, n >= 1, f"is shorter than one sample at {fs:g} Hz")
    t = np.arange(n, dtype=np.float64) / fs

    # Operating point per sample: load (with lag), speed (droop plus a slow wander of ~0.1 %).
    load_t = _load_curve(n, sample_rate=fs, load=load, load_changes=load_changes, tau_s=0.5)
    wander = sps.lfilter([1.0 - math.exp(-2 * math.pi * 0.2 / fs)], [1.0, -math.exp(-2 * math.pi * 0.2 / fs)],
                         rng.standard_normal(n))  # fmt: skip
    wander *= 0.001 / max(float(np.std(wander)), 1e-12) if n > 1 else 0.0
    rpm_t = np.maximum(rpm - rpm_droop * (load_t - load), 1e-3) * (1.0 + wander)
    f_shaft = rpm_t / 60.0
    shaft_cycles = np.cumsum(f_shaft) / fs  # revolutions since t=0
    theta = 2.0 * math.pi * shaft_cycles
    speed_ratio = rpm_t / 1800.0

    # Shaft harmonics: unbalance force ~ speed^2; misalignment and load raise 2x/3x.
    ph = rng.uniform(0.0, 2.0 * math.pi, size=4)
    a1 = 0.03 * unbalance * speed_ratio**2 * (1.0 + 0.3 * load_t)
    a2 = 0.008 * (1.0 + 4.0 * misalignment) * (1.0 + 0.8 * load_t)
    a3 = 0.003 * (1.0 + 3.0 * misalignment) * (1.0 + 0.5 * load_t)
    x = a1 * np.cos(theta + ph[0]) + a2 * np.cos(2.0 * theta + ph[1]) + a3 * np.cos(3.0 * theta + ph[2])
    if line_hz is not None and 2.0 * line_hz < 0.45 * fs:
        x += 0.004 * (0.5 + load_t) * np.cos(2.0 * math.pi * 2.0 * line_hz * t + ph[3])

    # Broadband noise, and a little resonance-band noise from healthy rolling contact.
    x += noise_g * rng.standard_normal(n)
    rough = _resonator(rng.standard_normal(n), freq_hz=resonance_hz, zeta=damping_ratio, sample_rate=fs)
    x += 0.4 * noise_g * rough / max(float(np.std(rough)), 1e-12)

    if fault is not None and severity > 0:
        orders = bearing_orders(geometry)
        onset = 0.0 if fault_onset_s is None else float(fault_onset_s)
        grown = np.clip((t - onset) / growth_s, 0.0, 1.0) ** 2 if growth_s > 0 else (t >= onset).astype(float)
        # Impact energy grows with speed and load.
        amp = severity * grown * speed_ratio**2 * (0.8 + 0.4 * load_t)
        if fault == "outer":
            rate = orders["bpfo"] * f_shaft
            amp = 3.0 * amp
        elif fault == "inner":
            rate = orders["bpfi"] * f_shaft
            # The defect passes through the load zone once per revolution.
            amp = 2.0 * amp * (0.15 + 0.85 * (0.5 + 0.5 * np.cos(theta)) ** 1.5)
        else:
            rate = 2.0 * orders["bsf"] * f_shaft
            cage = 2.0 * math.pi * orders["ftf"] * shaft_cycles
            amp = 1.0 * amp * (0.2 + 0.8 * (0.5 + 0.5 * np.cos(cage)) ** 1.5)
        impacts = _impact_train(rate / fs, amp, rng=rng, slip=slip, spread=0.15)
        x += _resonator(impacts, freq_hz=resonance_hz, zeta=damping_ratio, sample_rate=fs)

    # A 24-bit ADC over +-full_scale_g: the coarse grid also makes the float32 output independent of the
    # last-bit differences between CPUs' float64 math libraries.
    lsb = 2.0 * full_scale_g / 2.0**24
    x = np.clip(np.round(x / lsb), -(2**23), 2**23 - 1) * lsb
    return x.astype(np.float32)
