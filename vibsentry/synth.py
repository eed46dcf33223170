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
healthy machine faulty after about a minute. :func:`machine_signal` returns a whole recording;
:class:`MachineSimulator` streams the same samples block by block (bounded memory, hours of signal) and lets
a simulator change the load or inject a fault while it runs. Everything is vectorised (no Python loop per
sample or per impact) and seeded: the same arguments give the same array, bit for bit, whatever the block
sizes.

Amplitudes are in g and chosen to resemble the CWRU drive-end records at 0 hp: about 0.06 g RMS healthy
(CWRU normal: 0.07 g), impacts of about 3 g for an outer-race defect at ``severity=1`` (CWRU OR007@6: peaks
of 3.6 g).

The bearing kinematics (:class:`BearingGeometry`, :func:`bearing_orders`, :func:`bearing_frequencies`) live
in :mod:`vibsentry.diagnostics.bearings`; they are re-exported here.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal as sps

from vibsentry.diagnostics.bearings import BearingGeometry, bearing_frequencies, bearing_orders
from vibsentry.errors import ConfigError

__all__ = [
    "FAULTS",
    "MACHINES",
    "BearingGeometry",
    "MachineProfile",
    "MachineSimulator",
    "bearing_frequencies",
    "bearing_orders",
    "machine_signal",
]

#: Fault kinds :func:`machine_signal` can simulate, mapped to the manifest label used in ``sample_data/``.
FAULTS: dict[str, str] = {"outer": "outer_race", "inner": "inner_race", "ball": "ball"}


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
        raise ConfigError(f"machine signal {name}={value!r}: {why}")


def _finite(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.floating)) and not isinstance(value, bool) and math.isfinite(value)
    )


def _check_load_changes(load_changes: Sequence[tuple[float, float]], after: float = -math.inf) -> None:
    prev = after
    for item in load_changes:
        ok = (
            len(item) == 2 and _finite(item[0]) and _finite(item[1]) and item[0] >= prev and 0 <= item[1] <= 2
        )
        _check("load_changes", item, ok, "each must be (time_s, load) with increasing times, load in [0, 2]")
        prev = item[0]


def _check_fault(fault: str | None, severity: float, growth_s: float, onset_s: float | None) -> None:
    _check("fault", fault, fault is None or fault in FAULTS, f"must be None or one of {sorted(FAULTS)}")
    _check("severity", severity, _finite(severity) and severity >= 0, "must be a number >= 0")
    _check("growth_s", growth_s, _finite(growth_s) and growth_s >= 0, "must be a number of s >= 0")
    if onset_s is not None:
        _check("fault_onset_s", onset_s, fault is not None, "given without a fault")
        _check("fault_onset_s", onset_s, _finite(onset_s) and onset_s >= 0, "must be a number of s >= 0")


class _Resonator:
    """A structural mode as a 2-pole IIR filter, carrying its state from one block to the next.

    Impulse invariance of ``exp(-zeta w_n t) sin(w_d t)``: a unit impulse at sample ``k`` rings from ``k`` on
    with a first peak near 1. Being an IIR filter it costs O(n) whatever the number of impacts.
    """

    def __init__(self, *, freq_hz: float, zeta: float, sample_rate: float) -> None:
        w_n = 2.0 * math.pi * freq_hz
        w_d = w_n * math.sqrt(1.0 - zeta * zeta) / sample_rate
        r = math.exp(-zeta * w_n / sample_rate)
        # h[n] = r**(n+1) sin(w_d (n+1)): the sampled burst, advanced one sample so it starts at once.
        self.b = np.array([r * math.sin(w_d)])
        self.a = np.array([1.0, -2.0 * r * math.cos(w_d), r * r])
        self.zi = np.zeros(2)
        # RMS of the output for unit white noise in: sqrt(sum h[n]^2), in closed form.
        p = r * r
        energy = (
            0.5 / (1.0 - p) - 0.5 * (1.0 / (1.0 - p * complex(math.cos(2 * w_d), math.sin(2 * w_d)))).real
        )
        self.noise_gain = math.sqrt(max(energy, 1e-300))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = sps.lfilter(self.b, self.a, x, zi=self.zi)
        return np.asarray(y)


def _cumsum_from(start: float, x: np.ndarray) -> np.ndarray:
    """Running sum continuing from ``start``; sequential, so blocks give the same bits as one long sum."""
    return np.cumsum(np.concatenate(([start], x)))[1:]


class MachineSimulator:
    """The signal of :func:`machine_signal`, produced block by block with bounded memory.

    ``read(n)`` returns the next ``n`` samples; any sequence of reads gives exactly (bit for bit) the samples
    of one :func:`machine_signal` call with the same arguments, so a simulator can stream for hours. Between
    reads, :meth:`set_load` and :meth:`set_fault` change the machine from the current time on (the demo
    injects a fault this way). Every random component draws from its own stream spawned from ``seed``, which
    is what makes the output independent of the block sizes.

    Parameters
    ----------
    **params
        The keyword arguments of :func:`machine_signal` except ``duration_s``, with the same defaults.

    Attributes
    ----------
    position : int
        Samples produced so far.
    """

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(_SIM_DEFAULTS))
        _check(
            "parameter",
            unknown[0] if unknown else None,
            not unknown,
            f"unknown; known: {sorted(_SIM_DEFAULTS)}",
        )
        p = {**_SIM_DEFAULTS, **params}
        sample_rate, rpm, load, load_changes = p["sample_rate"], p["rpm"], p["load"], p["load_changes"]
        fault, severity, fault_onset_s, growth_s = (
            p["fault"],
            p["severity"],
            p["fault_onset_s"],
            p["growth_s"],
        )
        unbalance, misalignment, line_hz, noise_g = (
            p["unbalance"],
            p["misalignment"],
            p["line_hz"],
            p["noise_g"],
        )
        resonance_hz, damping_ratio, slip, rpm_droop = (
            p["resonance_hz"],
            p["damping_ratio"],
            p["slip"],
            p["rpm_droop"],
        )
        full_scale_g, seed, geometry = p["full_scale_g"], p["seed"], p["geometry"]
        _check("sample_rate", sample_rate, _finite(sample_rate) and sample_rate >= 1000, "must be >= 1000 Hz")
        _check("rpm", rpm, _finite(rpm) and 0 < rpm <= 60000, "must be in (0, 60000] rpm")
        _check("load", load, _finite(load) and 0 <= load <= 2, "must be a fraction of rated load in [0, 2]")
        _check_fault(fault, severity, growth_s, fault_onset_s)
        for name, value in (("unbalance", unbalance), ("misalignment", misalignment), ("noise_g", noise_g)):
            _check(name, value, _finite(value) and value >= 0, "must be a number >= 0")
        _check("slip", slip, _finite(slip) and 0 <= slip <= 0.1, "must be in [0, 0.1]")
        _check("rpm_droop", rpm_droop, _finite(rpm_droop) and rpm_droop >= 0, "must be a number >= 0")
        _check("full_scale_g", full_scale_g, _finite(full_scale_g) and full_scale_g > 0, "must be > 0 g")
        _check("damping_ratio", damping_ratio, _finite(damping_ratio) and 0 < damping_ratio <= 0.5,
               "must be in (0, 0.5]")  # fmt: skip
        _check(
            "resonance_hz", resonance_hz, _finite(resonance_hz) and 0 < resonance_hz < 0.45 * sample_rate,
            f"must be in (0, {0.45 * sample_rate:g}) Hz (below Nyquist at sample_rate={sample_rate!r})",
        )  # fmt: skip
        _check(
            "line_hz",
            line_hz,
            line_hz is None or (_finite(line_hz) and line_hz > 0),
            "must be None or > 0 Hz",
        )
        _check(
            "seed",
            seed,
            isinstance(seed, (int, np.integer)) and not isinstance(seed, bool),
            "must be an integer",
        )
        _check_load_changes(load_changes)

        self.sample_rate = float(sample_rate)
        self.rpm = float(rpm)
        self.load = float(load)
        self.geometry = geometry if geometry is not None else BearingGeometry()
        self.unbalance, self.misalignment, self.line_hz = float(unbalance), float(misalignment), line_hz
        self.noise_g, self.slip, self.rpm_droop = float(noise_g), float(slip), float(rpm_droop)
        self.lsb = 2.0 * full_scale_g / 2.0**24  # a 24-bit ADC over +-full_scale_g
        self.position = 0
        self._load_changes: list[tuple[float, float]] = [(float(t), float(v)) for t, v in load_changes]
        self._orders = bearing_orders(self.geometry)

        streams = np.random.SeedSequence(int(seed)).spawn(6)
        rng_phase, self._rng_wander, self._rng_noise, self._rng_rough, self._rng_jitter, self._rng_spread = (
            np.random.default_rng(s) for s in streams
        )
        self._phases = rng_phase.uniform(0.0, 2.0 * math.pi, size=4)
        fs = self.sample_rate
        self._load_alpha = 1.0 - math.exp(-1.0 / (0.5 * fs))  # 0.5 s first-order lag
        self._load_zi = np.array([(1.0 - self._load_alpha) * self.load])
        # Speed wander: white noise through a 0.2 Hz one-pole low-pass, scaled to 0.1 % RMS.
        self._wander_a = math.exp(-2.0 * math.pi * 0.2 / fs)
        self._wander_scale = 0.001 / math.sqrt((1.0 - self._wander_a) / (1.0 + self._wander_a))
        self._wander_zi = np.zeros(1)
        self._shaft_cycles = 0.0
        self._rough = _Resonator(freq_hz=resonance_hz, zeta=damping_ratio, sample_rate=fs)
        self._ring = _Resonator(freq_hz=resonance_hz, zeta=damping_ratio, sample_rate=fs)
        self.fault: str | None = None
        self.set_fault(fault, severity=severity, growth_s=growth_s, onset_s=fault_onset_s or 0.0)

    @property
    def time_s(self) -> float:
        """Seconds produced so far."""
        return self.position / self.sample_rate

    def set_load(self, load: float, *, at_s: float | None = None) -> None:
        """Change the load (fraction of rated, in [0, 2]) at ``at_s`` (default: now), with a 0.5 s lag."""
        at = self.time_s if at_s is None else at_s
        last = self._load_changes[-1][0] if self._load_changes else -math.inf
        _check_load_changes([(at, load)], after=max(last, self.time_s))
        self._load_changes.append((float(at), float(load)))

    def set_fault(
        self, fault: str | None, *, severity: float = 1.0, growth_s: float = 0.0, onset_s: float | None = None
    ) -> None:
        """Give the bearing a defect (or remove it with ``None``) from ``onset_s`` (default: now) on.

        The defect grows from nothing to ``severity`` over ``growth_s`` seconds (quadratically).
        """
        onset = self.time_s if onset_s is None else float(onset_s)
        _check_fault(fault, severity, growth_s, onset if fault is not None else None)
        self.fault, self.severity, self.growth_s, self.onset_s = (
            fault,
            float(severity),
            float(growth_s),
            onset,
        )
        # A new impact train starts: defect cycles counted from here, first impact about half a cycle on.
        self._fault_cycles = 0.0
        self._targets = np.empty(0)
        self._last_target = -0.5
        self._prev_amp = 0.0
        self._spill = 0.0

    def read(self, n: int) -> np.ndarray:
        """The next ``n`` samples.

        Returns
        -------
        ndarray of float32, shape (n,)
            Acceleration in g.
        """
        _check("n", n, isinstance(n, (int, np.integer)) and n >= 0, "must be an integer >= 0")
        if n == 0:
            return np.empty(0, dtype=np.float32)
        fs = self.sample_rate
        idx = self.position + np.arange(n, dtype=np.float64)
        t = idx / fs

        # Operating point per sample: load (lagged steps), speed (droop with load, slow wander).
        if self._load_changes:
            times = np.array([c[0] for c in self._load_changes]) * fs
            levels = np.array([self.load] + [c[1] for c in self._load_changes])
            steps = levels[np.searchsorted(times, idx, side="right")]
        else:
            steps = np.full(n, self.load)
        a = self._load_alpha
        load_t, self._load_zi = sps.lfilter([a], [1.0, a - 1.0], steps, zi=self._load_zi)
        wa = self._wander_a
        wander, self._wander_zi = sps.lfilter([1.0 - wa], [1.0, -wa], self._rng_wander.standard_normal(n),
                                              zi=self._wander_zi)  # fmt: skip
        rpm_t = np.maximum(self.rpm - self.rpm_droop * (load_t - self.load), 1e-3) * (
            1.0 + self._wander_scale * wander
        )
        f_shaft = rpm_t / 60.0
        cycles = _cumsum_from(self._shaft_cycles, f_shaft / fs)  # revolutions since t = 0
        if n:
            self._shaft_cycles = float(cycles[-1])
        theta = 2.0 * math.pi * np.mod(cycles, 1.0)
        speed_ratio = rpm_t / 1800.0

        # Shaft harmonics: unbalance force ~ speed^2; misalignment and load raise 2x and 3x.
        ph = self._phases
        a1 = 0.03 * self.unbalance * speed_ratio**2 * (1.0 + 0.3 * load_t)
        a2 = 0.008 * (1.0 + 4.0 * self.misalignment) * (1.0 + 0.8 * load_t)
        a3 = 0.003 * (1.0 + 3.0 * self.misalignment) * (1.0 + 0.5 * load_t)
        x = a1 * np.cos(theta + ph[0]) + a2 * np.cos(2.0 * theta + ph[1]) + a3 * np.cos(3.0 * theta + ph[2])
        if self.line_hz is not None and 2.0 * self.line_hz < 0.45 * fs:
            x += 0.004 * (0.5 + load_t) * np.cos(2.0 * math.pi * np.mod(2.0 * self.line_hz * t, 1.0) + ph[3])

        # Broadband sensor noise, and a little resonance-band noise from healthy rolling contact.
        x += self.noise_g * self._rng_noise.standard_normal(n)
        x += (0.4 * self.noise_g / self._rough.noise_gain) * self._rough(self._rng_rough.standard_normal(n))

        x += self._ring(self._impacts(t, cycles, f_shaft, load_t, speed_ratio))

        self.position += n
        x = np.clip(np.round(x / self.lsb), -(2**23), 2**23 - 1) * self.lsb
        return x.astype(np.float32)

    def _impacts(
        self,
        t: np.ndarray,
        cycles: np.ndarray,
        f_shaft: np.ndarray,
        load_t: np.ndarray,
        speed_ratio: np.ndarray,
    ) -> np.ndarray:
        """This block's impulses (before the resonance), each split over two samples for sub-sample timing.

        Impact ``k`` happens when the defect-cycle count reaches ``k - 0.5 + e_1 + ... + e_k`` with
        ``e_i ~ 1 + N(0, slip)``: every spacing jitters by about ``slip`` and the mean rate does not drift.
        Its size is the amplitude envelope at that instant times ``1 + 0.15 N(0, 1)``. The impulse is placed
        one sample late so that both of its samples lie in this block or spill into the next one only.
        """
        n = t.size
        out = np.zeros(n + 1)
        out[0] = self._spill
        if self.fault is None or self.severity == 0.0 or n == 0:
            self._spill = 0.0
            return out[:n]
        # Impact energy grows with speed and load; the defect grows after its onset.
        since = t - self.onset_s
        if self.growth_s * self.sample_rate >= 1.0:  # shorter than a sample: a step
            grown = np.clip(since / self.growth_s, 0.0, 1.0) ** 2
        else:
            grown = (since >= 0).astype(np.float64)
        amp = self.severity * grown * speed_ratio**2 * (0.8 + 0.4 * load_t)
        o = self._orders
        if self.fault == "outer":
            order, amp = o["bpfo"], 3.0 * amp
        elif self.fault == "inner":
            # The defect turns with the shaft through the load zone once per revolution.
            order = o["bpfi"]
            amp = 2.0 * amp * (0.15 + 0.85 * (0.5 + 0.5 * np.cos(2.0 * math.pi * np.mod(cycles, 1.0))) ** 1.5)
        else:
            # A ball strikes both races once per spin and is carried through the load zone by the cage.
            order = 2.0 * o["bsf"]
            cage = 2.0 * math.pi * np.mod(o["ftf"] * cycles, 1.0)
            amp = 1.0 * amp * (0.2 + 0.8 * (0.5 + 0.5 * np.cos(cage)) ** 1.5)

        start = self._fault_cycles
        fc = _cumsum_from(start, order * f_shaft / self.sample_rate)
        end = float(fc[-1])
        while self._last_target < end:
            m = int(end - self._last_target) + 2
            inc = np.clip(1.0 + self.slip * self._rng_jitter.standard_normal(m), 0.5, 1.5)
            new = _cumsum_from(self._last_target, inc)
            self._targets = np.concatenate((self._targets, new))
            self._last_target = float(new[-1])
        k = int(np.searchsorted(self._targets, end, side="left"))
        targets, self._targets = self._targets[:k], self._targets[k:]
        # Sample -1 of the block is the previous block's last sample (cycle count ``start``).
        pos = np.interp(targets, np.concatenate(([start], fc)), np.arange(-1.0, n))
        lo = np.floor(pos).astype(np.int64)
        frac = pos - lo
        amp_ext = np.concatenate(([self._prev_amp], amp))
        scale = amp_ext[lo + 1] * np.clip(1.0 + 0.15 * self._rng_spread.standard_normal(lo.size), 0.2, None)
        out += np.bincount(lo + 1, weights=scale * (1.0 - frac), minlength=n + 1)[: n + 1]
        out += np.bincount(lo + 2, weights=scale * frac, minlength=n + 2)[: n + 1]
        self._fault_cycles, self._prev_amp, self._spill = end, float(amp[-1]), float(out[n])
        return out[:n]


#: Samples per internal block of :func:`machine_signal`: bounds its memory to a few tens of MB.
_BLOCK = 1 << 17


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
        Accelerometer range +-``full_scale_g``; the output is clipped to it and quantised to 24 bits (the
        coarse grid also keeps the float32 output equal across CPUs whose float64 math differs in the
        last bit).
    seed : int
        Seed of the random streams; the same arguments and seed give an identical array.

    Returns
    -------
    ndarray of float32, shape (n_samples,)
        Acceleration in g.

    Raises
    ------
    vibsentry.errors.ConfigError
        An argument is out of range; the message quotes it.

    See Also
    --------
    MachineSimulator : the same signal block by block, for streaming.

    Examples
    --------
    >>> x = machine_signal(duration_s=10.0, rpm=1797, load=0.5, fault="outer", fault_onset_s=5.0, seed=1)
    >>> x.shape, x.dtype
    ((120000,), dtype('float32'))
    """
    params = {k: v for k, v in locals().items() if k != "duration_s"}
    _check("duration_s", duration_s, _finite(duration_s) and duration_s > 0, "must be a positive number of s")
    if fault_onset_s is not None and _finite(fault_onset_s):
        _check(
            "fault_onset_s", fault_onset_s, fault_onset_s < duration_s, f"must be < duration_s={duration_s!r}"
        )
    sim = MachineSimulator(**params)
    n = round(duration_s * sim.sample_rate)
    _check("duration_s", duration_s, n >= 1, f"is shorter than one sample at {sample_rate:g} Hz")
    out = np.empty(n, dtype=np.float32)
    for i in range(0, n, _BLOCK):
        out[i : i + _BLOCK] = sim.read(min(_BLOCK, n - i))
    return out


#: Defaults of :class:`MachineSimulator`: those of :func:`machine_signal`, the one place they are written.
_SIM_DEFAULTS: dict[str, Any] = {
    k: v.default for k, v in inspect.signature(machine_signal).parameters.items() if k != "duration_s"
}
