"""The diagnosis: shaft speed, envelope analysis and rule-based findings with the numbers behind them.

:func:`diagnose` is the one entry point; ``docs/diagnostics.md`` specifies every threshold used here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.diagnostics.bearings import BearingGeometry, bearing_orders
from vibsentry.diagnostics.iso10816 import DEFAULT_GROUPS, ZoneLimits
from vibsentry.diagnostics.kurtogram import Kurtogram, envelope_spectrum, fast_kurtogram, prewhitened
from vibsentry.diagnostics.spectral import (
    LinePeaks,
    amplitude_spectrum,
    comb_fit,
    noise_floor,
    peaks_near,
    snr_db,
)
from vibsentry.diagnostics.speed import SpeedEstimate, check_rpm, check_rpm_range, estimate_speed
from vibsentry.errors import ConfigError, SignalError

__all__ = ["FAULTS", "Diagnosis", "Finding", "diagnose"]

#: The fixed fault vocabulary, in the order used to break ties.
FAULTS: tuple[str, ...] = (
    "outer_race",
    "inner_race",
    "ball",
    "cage",
    "unbalance",
    "misalignment",
    "looseness",
    "none",
)

#: A line counts as found when it stands this many dB above the local (median) floor.
FOUND_DB = 8.0
#: Lines stronger than this add no more evidence (one huge line must not outweigh a comb).
CAP_DB = 30.0
#: A finding is reported (not only listed as a candidate) at this confidence or above.
REPORT_CONFIDENCE = 0.5
#: Bearing lines are searched within +-2 % of the kinematic value (rolling elements slip 1-2 %).
SLIP_TOL = 0.02
#: Default speed range when neither a speed nor a range is given: 2- to 12-pole motors at 50/60 Hz.
DEFAULT_RPM_RANGE = (300.0, 3600.0)
_G = 9.80665  # m/s^2 per g


@dataclass(frozen=True)
class Finding:
    """One candidate diagnosis.

    Attributes
    ----------
    fault : str
        One of :data:`FAULTS`.
    confidence : float
        In [0, 1] (``docs/diagnostics.md`` says how each is computed).
    summary : str
        The finding in an analyst's words.
    evidence : dict
        The numbers behind it (JSON-ready).
    reported : bool
        ``confidence >= REPORT_CONFIDENCE`` and the fault's own minimum evidence is met.
    """

    fault: str
    confidence: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    reported: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``docs/diagnostics.md``, "JSON output")."""
        return {
            "fault": self.fault,
            "confidence": round(float(self.confidence), 4),
            "summary": self.summary,
            "reported": self.reported,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Diagnosis:
    """Result of :func:`diagnose`.

    ``findings`` holds the reported findings, best first, or a single ``none`` finding; ``candidates`` holds
    every fault that was evaluated (reported or not), best first. The spectra are kept for plotting.
    """

    findings: tuple[Finding, ...]
    candidates: tuple[Finding, ...]
    speed: SpeedEstimate
    geometry: BearingGeometry
    defect_hz: dict[str, float]
    sample_rate: float
    n_samples: int
    kurtogram: Kurtogram
    band: tuple[float, float]
    spectrum: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]
    envelope: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]

    @property
    def top(self) -> Finding:
        """The best finding (``none`` when nothing is reported)."""
        return self.findings[0]

    @property
    def resolution_hz(self) -> float:
        """Spectral line spacing ``sample_rate / n_samples``."""
        return self.sample_rate / self.n_samples

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``docs/diagnostics.md``, "JSON output")."""
        g = self.geometry
        return {
            "findings": [f.to_dict() for f in self.findings],
            "candidates": [f.to_dict() for f in self.candidates],
            "speed": {
                "rpm": round(self.speed.rpm, 3),
                "shaft_hz": round(self.speed.shaft_hz, 4),
                "confidence": round(self.speed.confidence, 4),
                "source": self.speed.source,
                "search_rpm": list(self.speed.search_rpm) if self.speed.search_rpm else None,
                "harmonics_db": [_r(v) for v in self.speed.harmonics_db],
            },
            "bearing": {
                "name": g.name,
                "n_balls": g.n_balls,
                "ball_diameter_mm": round(g.ball_diameter_mm, 4),
                "pitch_diameter_mm": round(g.pitch_diameter_mm, 4),
                "contact_angle_deg": g.contact_angle_deg,
                "orders": {k: round(v, 5) for k, v in bearing_orders(g).items()},
                "frequencies_hz": {k: round(v, 3) for k, v in self.defect_hz.items()},
            },
            "envelope_band_hz": [round(v, 2) for v in self.band],
            "kurtogram_band_hz": [round(v, 2) for v in self.kurtogram.best_band],
            "envelope_band_kurtosis": round(self.kurtogram.best_kurtosis, 3),
            "kurtogram_level": self.kurtogram.best_level,
            "sample_rate": self.sample_rate,
            "duration_s": round(self.n_samples / self.sample_rate, 4),
            "resolution_hz": round(self.resolution_hz, 5),
        }


def _r(v: float, nd: int = 2) -> float | None:
    return None if not math.isfinite(v) else round(float(v), nd)


# -- bearing faults (envelope spectrum) ---------------------------------------------------------------------
_BEARING_LINES = {
    # fault: (line key, label, sideband key, sideband label)
    "outer_race": ("bpfo", "BPFO", None, ""),
    "inner_race": ("bpfi", "BPFI", "shaft", "shaft-rate"),
    "ball": ("2bsf", "2xBSF", "ftf", "cage-rate (FTF)"),
    "cage": ("ftf", "FTF", None, ""),
}
_WORDS = {
    "outer_race": "outer race defect",
    "inner_race": "inner race defect",
    "ball": "rolling element (ball) defect",
    "cage": "cage defect",
}


def _bearing_finding(
    fault: str,
    lines: dict[str, float],
    env: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
    *,
    band: tuple[float, float],
    n_harmonics: int,
    taken: tuple[tuple[float, str], ...] = (),
) -> Finding:
    """Comb fit of one defect line in the envelope spectrum, its harmonics, sidebands and confidence.

    ``taken`` lists ``(freq_hz, name)`` of lines already explained by a stronger finding: a harmonic that
    falls on one of them is marked ambiguous and adds no evidence (for the 6205, 3 x BPFO and 2 x BPFI are
    only 0.7 % apart).
    """
    freqs, amp, floor = env
    df = float(freqs[1] - freqs[0])
    key, label, sb_key, sb_label = _BEARING_LINES[fault]
    f_th = lines[key]
    shaft = lines["shaft"]
    bandwidth = band[1] - band[0]
    n_h = max(1, min(n_harmonics, int(0.9 * bandwidth / (f_th * (1 + SLIP_TOL)))))
    snr = snr_db(amp, floor)
    cand, score = comb_fit(
        snr, df, f_lo=f_th * (1 - SLIP_TOL), f_hi=f_th * (1 + SLIP_TOL), n_harmonics=n_h, cap_db=CAP_DB
    )
    f_star = float(cand[int(np.argmax(score))])
    h = np.arange(1, n_h + 1)
    pk = peaks_near(freqs, amp, floor, h * f_star, tol_hz=np.maximum(2 * df, 0.002 * h * f_star))
    # A line within the search window of a shaft harmonic proves nothing about the bearing.
    tol = np.maximum(2 * df, 0.002 * h * f_star) + 2 * df
    k_near = np.rint(pk.freq_hz / shaft)
    why: list[str | None] = [
        f"{int(k)}x shaft" if k >= 1 and abs(f - k * shaft) < t else None
        for f, k, t in zip(pk.freq_hz, k_near, tol, strict=True)
    ]
    for i, f in enumerate(pk.freq_hz):
        for g_hz, name in taken:
            if why[i] is None and abs(f - g_hz) <= 2.5 * df:
                why[i] = name
    ambiguous = np.array([w is not None for w in why])
    found = (pk.db >= FOUND_DB) & ~ambiguous
    harmonics = [
        {
            "n": int(n),
            "expected_hz": _r(n * f_th),
            "freq_hz": _r(float(pk.freq_hz[i])),
            "error_hz": _r(float(pk.freq_hz[i] - n * f_th)),
            "error_pct": _r(float(100 * (pk.freq_hz[i] / (n * f_th) - 1))),
            "db": _r(float(pk.db[i]), 1),
            "found": bool(found[i]),
            "ambiguous_with": why[i],
        }
        for i, n in enumerate(h)
    ]
    e = float(np.sum(np.where(found, np.minimum(pk.db, CAP_DB) - 6.0, 0.0)) / 10.0)
    sidebands: list[dict[str, Any]] = []
    n_sb = 0
    if sb_key is not None:
        off = lines[sb_key]
        hs = np.repeat(h[: min(3, n_h)], 4)
        sign = np.tile([-2.0, -1.0, 1.0, 2.0], hs.size // 4)
        centres = pk.freq_hz[hs - 1]
        sb = peaks_near(freqs, amp, floor, centres + sign * off, tol_hz=np.maximum(2 * df, 0.01 * off))
        sb_found = (sb.db >= FOUND_DB) & np.repeat(found[: min(3, n_h)], 4)
        n_sb = int(sb_found.sum())
        e += 0.1 * n_sb
        sidebands = [
            {
                "around": int(hs[i]),
                "offset": f"{sign[i]:+.0f}x {sb_label}",
                "freq_hz": _r(float(sb.freq_hz[i])),
                "db": _r(float(sb.db[i]), 1),
                "found": bool(sb_found[i]),
            }
            for i in range(hs.size)
        ]
    n_found = int(found.sum())
    n_found = int(found.sum())
    conf = e / (e + 1.5)
    best_db = float(pk.db[0]) if found[0] else float(np.max(np.where(found, pk.db, -np.inf), initial=-np.inf))
    f_meas = float(pk.freq_hz[0]) if found[0] else f_star
    summary = (
        f"{_WORDS[fault]}: {label} {f_meas:.1f} Hz ({f_meas / shaft:.3f} x {shaft:.1f} Hz), "
        f"{n_found} harmonic{'s' if n_found != 1 else ''}"
    )
    if n_found:
        summary += f", {best_db:.0f} dB above floor"
    if sb_key is not None and n_sb:
        summary += f", {n_sb} {sb_label} sideband{'s' if n_sb != 1 else ''}"
    if fault == "cage" and n_found:
        # A cage-rate series is also what a rolling-element defect shows when the cage carries it in and out
        # of the load zone (Randall & Antoni 2011); on the CWRU ball records it often comes without the 2xBSF
        # carrier (docs/diagnostics.md, "Ball faults"), so the analyst is told to consider both.
        summary += " (cage damage, or a rolling-element defect modulated at cage rate)"
    evidence = {
        "line": key,
        "expected_hz": _r(f_th, 3),
        "measured_hz": _r(f_meas, 3),
        "measured_order": _r(f_meas / shaft, 4),
        "harmonics_searched": n_h,
        "harmonics_found": n_found,
        "harmonics": harmonics,
        "sidebands_found": n_sb,
        "evidence_score": _r(e, 3),
        "sidebands": sidebands,
        "spectrum": "envelope",
    }
    return Finding(fault, conf, summary, evidence, reported=conf >= REPORT_CONFIDENCE and n_found >= 2)


def _scaled(f: Finding, rel: float) -> Finding:
    conf = f.confidence * rel
    ok = conf >= REPORT_CONFIDENCE and f.evidence["harmonics_found"] >= 2
    return Finding(f.fault, conf, f.summary, {**f.evidence, "relative_strength": _r(rel, 3)}, reported=ok)


# -- shaft faults (raw spectrum, velocity) ------------------------------------------------------------------
def _velocity_mm_s(pk: LinePeaks) -> npt.NDArray[np.float64]:
    """RMS velocity in mm/s of acceleration lines given in g (peak)."""
    return pk.amplitude * _G * 1000.0 / (2 * np.pi * pk.freq_hz) / math.sqrt(2.0)


def _shaft_findings(
    spec: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]],
    shaft: float,
    limits: ZoneLimits,
) -> list[Finding]:
    freqs, amp, floor = spec
    df = float(freqs[1] - freqs[0])
    orders = np.arange(1, 11, dtype=np.float64)
    halves = np.arange(0.5, 5.0, 1.0)
    tol = np.maximum(2 * df, 0.005 * orders * shaft)
    pk = peaks_near(freqs, amp, floor, orders * shaft, tol_hz=tol)
    hk = peaks_near(freqs, amp, floor, halves * shaft, tol_hz=np.maximum(2 * df, 0.005 * halves * shaft))
    v = _velocity_mm_s(pk)
    found = pk.db >= FOUND_DB + 2.0
    v1, v2, v3 = (float(v[i]) if found[i] else 0.0 for i in range(3))
    lines = [
        {
            "order": float(o),
            "freq_hz": _r(float(pk.freq_hz[i])),
            "velocity_mm_s_rms": _r(float(v[i]), 3),
            "acceleration_g": _r(float(pk.amplitude[i]), 5),
            "db": _r(float(pk.db[i]), 1),
            "found": bool(found[i]),
        }
        for i, o in enumerate(orders)
    ]
    common = {
        "spectrum": "raw",
        "lines": lines,
        "zone_group": limits.name,
        "limits_mm_s": list(limits.boundaries),
    }
    out = []

    # Unbalance: a dominant 1x above the group's B/C boundary.
    dominant = v1 >= 2.0 * max(v2, v3)
    e = 2.0 * max(0.0, v1 / limits.bc - 1.0) if dominant else 0.0
    out.append(
        Finding(
            "unbalance",
            e / (e + 1.0),
            f"unbalance: 1x {float(pk.freq_hz[0]):.1f} Hz at {v1:.2f} mm/s RMS (2x {v2:.2f}, 3x {v3:.2f} mm/s; "
            f"{limits.name} B/C boundary {limits.bc:g} mm/s)",
            {
                **common,
                "v1_mm_s": _r(v1, 3),
                "v2_mm_s": _r(v2, 3),
                "v3_mm_s": _r(v3, 3),
                "dominant_1x": dominant,
            },
            reported=e / (e + 1.0) >= REPORT_CONFIDENCE,
        )
    )
    # Misalignment: a strong 2x (at least half of a present 1x) above the A/B boundary; a strong 3x adds to it.
    ratio = v2 / v1 if v1 > 0 else (math.inf if v2 > 0 else 0.0)
    e = 0.0
    if v1 > 0 and v2 >= limits.ab and ratio >= 0.5:  # a 2x with no 1x at all is not this pattern
        e = (
            2.0 * min(ratio - 0.5, 1.5)
            + max(0.0, v2 / limits.ab - 1.0)
            + (0.3 if v3 >= 0.3 * max(v1, v2) else 0.0)
        )
    out.append(
        Finding(
            "misalignment",
            e / (e + 1.0),
            f"misalignment: 2x {float(pk.freq_hz[1]):.1f} Hz at {v2:.2f} mm/s RMS = {min(ratio, 99):.2f} x the 1x "
            f"({v1:.2f} mm/s), 3x {v3:.2f} mm/s",
            {**common, "ratio_2x_1x": _r(min(ratio, 99.0), 3), "v2_mm_s": _r(v2, 3)},
            reported=e / (e + 1.0) >= REPORT_CONFIDENCE,
        )
    )
    # Looseness: a long series of 1x harmonics, and half orders, standing out of the floor.
    n_harm = int(found[1:].sum())
    half_found = hk.db >= FOUND_DB + 2.0
    n_half = int(half_found.sum())
    last = int(orders[np.flatnonzero(found)[-1]]) if found.any() else 0
    e = 0.4 * max(0, n_harm - 4) + 0.3 * n_half if v1 >= limits.ab else 0.0
    out.append(
        Finding(
            "looseness",
            e / (e + 1.0),
            f"mechanical looseness: 1x harmonics up to {last}x ({n_harm} of 2x-10x above floor), "
            f"{n_half} half-order line{'s' if n_half != 1 else ''}",
            {
                **common,
                "harmonics_found": n_harm,
                "half_orders_found": n_half,
                "half_orders": [
                    {"order": float(o), "freq_hz": _r(float(hk.freq_hz[i])), "db": _r(float(hk.db[i]), 1)}
                    for i, o in enumerate(halves)
                ],
            },
            reported=e / (e + 1.0) >= REPORT_CONFIDENCE,
        )
    )
    return out


def diagnose(
    x: npt.ArrayLike,
    *,
    sample_rate: float,
    rpm: float | None = None,
    rpm_range: tuple[float, float] | None = None,
    geometry: BearingGeometry | None = None,
    resolution_hz: float | None = None,
    limits: ZoneLimits | None = None,
    n_harmonics: int = 5,
    prewhiten: bool = False,
    band: tuple[float, float] | None = None,
) -> Diagnosis:
    """Diagnose one acceleration record: speed, envelope analysis, ranked findings with evidence.

    Parameters
    ----------
    x : array_like, shape (n_samples,)
        Acceleration in g (velocities for the shaft rules are derived from it).
    sample_rate : float
        Hz.
    rpm : float, optional
        Known shaft speed in rev/min. Exclusive with ``rpm_range``.
    rpm_range : (float, float), optional
        Range to search 1x in when the speed is not known; default :data:`DEFAULT_RPM_RANGE`.
    geometry : BearingGeometry, optional
        The bearing; default the CWRU drive-end 6205-2RS.
    resolution_hz : float, optional
        Line spacing the diagnosis needs; default a third of the lower of the cage frequency (FTF) and the
        shaft frequency, at the lowest speed considered. A record too short for it is refused.
    limits : ZoneLimits, optional
        ISO 10816 group whose boundaries scale the shaft rules; default ``class_i`` (small machines).
    n_harmonics : int
        Harmonics of each defect frequency examined (fewer when the envelope band is narrower).
    prewhiten : bool
        Cepstral prewhitening before the kurtogram and envelope (off by default: on the CWRU records it found
        fewer faults, see ``docs/diagnostics.md``).
    band : (float, float), optional
        Envelope band in Hz instead of the kurtogram's choice (the kurtogram is still computed and reported).

    Returns
    -------
    Diagnosis

    Raises
    ------
    ConfigError
        Speed out of range (or too high for the sample rate), both ``rpm`` and ``rpm_range`` given.
    SignalError
        Not 1-D, NaN/inf, or too short for the resolution asked.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise SignalError(f"diagnose expects one channel, shape (n_samples,); got {a.shape}")
    if not (math.isfinite(sample_rate) and sample_rate > 0):
        raise ConfigError(f"sample rate {sample_rate!r}: must be a positive number of Hz")
    if a.size and not np.all(np.isfinite(a)):
        raise SignalError(f"signal has NaN/inf at sample {int(np.flatnonzero(~np.isfinite(a))[0])}")
    if rpm is not None and rpm_range is not None:
        raise ConfigError("give either a speed (rpm) or a range to search (rpm_range), not both")
    g = geometry if geometry is not None else BearingGeometry()
    orders = bearing_orders(g)
    if rpm is not None:
        check_rpm(rpm)
        lo_rpm, hi_rpm = rpm, rpm
    else:
        lo_rpm, hi_rpm = rpm_range if rpm_range is not None else DEFAULT_RPM_RANGE
        check_rpm_range(lo_rpm, hi_rpm)
    n = a.shape[0]
    df = sample_rate / n if n else math.inf
    need = resolution_hz if resolution_hz is not None else min(orders["ftf"], 1.0) * lo_rpm / 60.0 / 3.0
    if not (math.isfinite(need) and need > 0):
        raise ConfigError(f"resolution {need!r} Hz: must be a positive number")
    if df > need or n < 256:
        raise SignalError(
            f"recording too short: {n} samples at {sample_rate:g} Hz ({n / sample_rate:.3g} s) give "
            f"{df:.3g} Hz lines, the diagnosis at {lo_rpm:g} rpm needs <= {need:.3g} Hz "
            f"(>= {1.0 / need:.3g} s and >= 256 samples)"
        )
    top_line = max(orders["bpfi"], 2 * orders["bsf"]) * hi_rpm / 60.0
    min_bw = 3.0 * top_line
    if min_bw > 0.5 * sample_rate / 2.0 or 10.0 * hi_rpm / 60.0 > sample_rate / 2.0:
        raise ConfigError(
            f"rpm {hi_rpm:g} is out of range for {sample_rate:g} Hz sampling: the defect lines up to "
            f"{top_line:.0f} Hz need an envelope band of >= {min_bw:.0f} Hz below {sample_rate / 2:g} Hz"
        )

    freqs, amp = amplitude_spectrum(a, sample_rate=sample_rate)
    if rpm is not None:
        speed = SpeedEstimate(rpm=float(rpm), confidence=1.0, source="given")
    else:
        speed = estimate_speed(freqs, amp, rpm_range=(lo_rpm, hi_rpm))
    shaft = speed.shaft_hz
    half = max(8, round(0.5 * shaft / df))
    top = min(freqs.shape[0], int(12 * shaft / df) + 2 * half)
    floor = noise_floor(amp[:top], half_width_bins=half)
    if rpm is not None:
        pk = peaks_near(freqs[:top], amp[:top], floor, shaft * np.arange(1, 4), tol_hz=2 * df)
        speed = SpeedEstimate(rpm=float(rpm), confidence=1.0, source="given", harmonics_db=tuple(pk.db))

    e_sig = prewhitened(a) if prewhiten else a
    kg = fast_kurtogram(e_sig, sample_rate=sample_rate, min_bandwidth_hz=min_bw)
    if band is None:
        band = kg.best_band
    ef, ea = envelope_spectrum(e_sig, sample_rate=sample_rate, band=band)
    efloor = noise_floor(ea, half_width_bins=half)
    lines = {k: v * shaft for k, v in orders.items()}
    lines["2bsf"] = 2.0 * lines["bsf"]
    lines["shaft"] = shaft
    env = (ef, ea, efloor)
    first = [
        _bearing_finding(f, lines, env, band=band, n_harmonics=n_harmonics)
        for f in ("outer_race", "inner_race", "ball", "cage")
    ]
    # Second pass, strongest first: lines a stronger finding explains do not count for a weaker one.
    first.sort(key=lambda f: (-f.confidence, FAULTS.index(f.fault)))
    cands: list[Finding] = []
    taken: list[tuple[float, str]] = []
    for f in first:
        c = _bearing_finding(f.fault, lines, env, band=band, n_harmonics=n_harmonics, taken=tuple(taken))
        cands.append(c)
        label = _BEARING_LINES[c.fault][1]
        taken += [(h["freq_hz"], f"{h['n']}x {label}") for h in c.evidence["harmonics"] if h["found"]]
        taken += [
            (b["freq_hz"], f"{b['around']}x {label} {b['offset']}")
            for b in c.evidence["sidebands"]
            if b["found"]
        ]
    # One damaged bearing usually shows one dominant comb: a weaker comb's confidence is scaled by its
    # evidence relative to the strongest one, so echoes of the main defect do not read as second faults.
    e_max = max(float(c.evidence["evidence_score"] or 0.0) for c in cands)
    if e_max > 0:
        cands = [_scaled(c, float(c.evidence["evidence_score"] or 0.0) / e_max) for c in cands]
    cands += _shaft_findings(
        (freqs[:top], amp[:top], floor), shaft, limits if limits is not None else DEFAULT_GROUPS["class_i"]
    )
    cands.sort(key=lambda f: (-f.confidence, FAULTS.index(f.fault)))
    reported = tuple(f for f in cands if f.reported)
    if not reported:
        best = cands[0]
        reported = (
            Finding(
                "none",
                1.0 - best.confidence,
                f"no fault pattern found (strongest candidate: {best.fault.replace('_', ' ')} at "
                f"confidence {best.confidence:.2f})",
                {"strongest_candidate": best.fault},
                reported=True,
            ),
        )
    return Diagnosis(
        findings=reported,
        candidates=tuple(cands),
        speed=speed,
        geometry=g,
        defect_hz={"shaft": shaft, **{k: lines[k] for k in ("ftf", "bpfo", "bpfi", "bsf")}},
        sample_rate=float(sample_rate),
        n_samples=n,
        kurtogram=kg,
        band=(float(band[0]), float(band[1])),
        spectrum=(freqs, amp),
        envelope=(ef, ea),
    )
