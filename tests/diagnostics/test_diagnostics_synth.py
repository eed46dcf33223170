"""Known-answer tests of the diagnosis on vibsentry.synth signals, every fault type, several speeds and noises.

Thresholds (stated in docs/diagnostics.md too): the top finding names the simulated fault with confidence
>= 0.5; the measured defect frequency is within 1 % of the kinematic one at the true speed; a speed estimated
from the spectrum is within 0.5 % of the true one; a healthy machine's top finding is ``none``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vibsentry import synth
from vibsentry.diagnostics import FAULTS, bearing_frequencies, diagnose, get_bearing
from vibsentry.errors import ConfigError, SignalError

FS = 12000.0
_LINE = {"outer_race": ("bpfo", 1.0), "inner_race": ("bpfi", 1.0), "ball": ("bsf", 2.0)}


@pytest.mark.parametrize("fault", ["outer", "inner", "ball"])
@pytest.mark.parametrize("rpm", [1200.0, 1797.0, 2960.0])
@pytest.mark.parametrize("noise_g", [0.05, 0.15])
def test_bearing_fault_is_named_with_its_frequency(fault: str, rpm: float, noise_g: float) -> None:
    x = synth.machine_signal(duration_s=4.0, rpm=rpm, fault=fault, noise_g=noise_g, seed=int(rpm) + 7)
    d = diagnose(x, sample_rate=FS, rpm_range=(600.0, 3600.0))
    want = synth.FAULTS[fault]
    assert d.top.fault == want, [f.summary for f in d.candidates[:3]]
    assert d.top.confidence >= 0.5
    assert d.speed.rpm == pytest.approx(rpm, rel=5e-3)
    key, mult = _LINE[want]
    f_true = mult * bearing_frequencies(rpm=rpm)[key]
    ev = d.top.evidence
    assert ev["measured_hz"] == pytest.approx(f_true, rel=0.01)
    assert ev["harmonics_found"] >= 2
    found = [h for h in ev["harmonics"] if h["found"]]
    assert all(h["db"] >= 8.0 for h in found)
    if want == "inner_race":
        assert ev["sidebands_found"] >= 2  # the defect passes through the load zone once per turn


@pytest.mark.parametrize("rpm", [1200.0, 1797.0, 2960.0])
def test_healthy_machine_gives_none(rpm: float) -> None:
    x = synth.machine_signal(duration_s=4.0, rpm=rpm, seed=int(rpm) + 1)
    d = diagnose(x, sample_rate=FS, rpm=rpm)
    assert [f.fault for f in d.findings] == ["none"], [f.summary for f in d.candidates[:3]]
    assert d.top.confidence >= 0.5


def test_48k_recording_and_other_bearing() -> None:
    g = get_bearing("6203-2rs")
    x = synth.machine_signal(
        duration_s=3.0, sample_rate=48000.0, rpm=1750.0, fault="outer", geometry=g, seed=5
    )
    d = diagnose(x, sample_rate=48000.0, rpm=1750.0, geometry=g)
    assert d.top.fault == "outer_race"
    assert d.top.evidence["measured_hz"] == pytest.approx(bearing_frequencies(g, 1750.0)["bpfo"], rel=0.01)


@pytest.mark.parametrize(("kw", "rpm", "want"), [
    ({"unbalance": 4.0}, 1200.0, "unbalance"),
    ({"unbalance": 4.0}, 2960.0, "unbalance"),
    ({"misalignment": 2.0}, 1200.0, "misalignment"),
    ({"misalignment": 2.5}, 1797.0, "misalignment"),
])  # fmt: skip
def test_shaft_faults_from_the_1x_2x_series(kw: dict[str, float], rpm: float, want: str) -> None:
    x = synth.machine_signal(duration_s=4.0, rpm=rpm, seed=11, **kw)  # type: ignore[arg-type]
    d = diagnose(x, sample_rate=FS, rpm=rpm)
    assert d.top.fault == want, [f.summary for f in d.candidates[:3]]
    assert d.top.confidence >= 0.5
    assert d.top.evidence["spectrum"] == "raw"


def test_looseness_from_a_long_harmonic_series() -> None:
    # A loose foot hammers once per turn: a clipped (truncated) 1x carries a long series of harmonics and,
    # rubbing every other turn, half orders.
    rpm = 1500.0
    x = synth.machine_signal(duration_s=4.0, rpm=rpm, seed=12).astype(np.float64)
    t = np.arange(x.size) / FS
    theta = 2 * np.pi * rpm / 60.0 * t
    x += 0.1 * ((1 + np.cos(theta)) / 2) ** 20 + 0.02 * ((1 + np.cos(theta / 2)) / 2) ** 40
    d = diagnose(x, sample_rate=FS, rpm=rpm)
    assert d.top.fault == "looseness", [f.summary for f in d.candidates[:3]]
    assert d.top.evidence["harmonics_found"] >= 6


def test_findings_are_ranked_and_json_ready() -> None:
    import json

    x = synth.machine_signal(duration_s=4.0, fault="inner", seed=3)
    d = diagnose(x, sample_rate=FS, rpm=1797.0)
    conf = [f.confidence for f in d.candidates]
    assert conf == sorted(conf, reverse=True)
    assert {f.fault for f in d.candidates} == set(FAULTS) - {"none"}
    doc = json.loads(json.dumps(d.to_dict()))
    assert doc["findings"][0]["fault"] == "inner_race" and doc["speed"]["source"] == "given"
    assert doc["bearing"]["orders"]["bpfi"] == pytest.approx(5.4152, abs=1e-4)
    assert all(math.isfinite(v) for v in doc["envelope_band_hz"])


def test_errors_are_one_line_and_name_the_problem() -> None:
    x = synth.machine_signal(duration_s=1.0, seed=1)
    with pytest.raises(SignalError, match=r"recording too short: .* needs <= 0.25 Hz"):
        diagnose(x, sample_rate=FS, rpm=1800.0, resolution_hz=0.25)
    with pytest.raises(SignalError, match="recording too short"):
        diagnose(x[:1200], sample_rate=FS, rpm=1800.0)  # 0.1 s: 10 Hz lines, FTF is 12 Hz
    with pytest.raises(ConfigError, match=r"rpm 0\.0 is out of range"):
        diagnose(x, sample_rate=FS, rpm=0.0)
    with pytest.raises(ConfigError, match="out of range for 12000 Hz sampling"):
        diagnose(x, sample_rate=FS, rpm=30000.0)
    with pytest.raises(ConfigError, match="not both"):
        diagnose(x, sample_rate=FS, rpm=1800.0, rpm_range=(1000.0, 2000.0))
    with pytest.raises(SignalError, match="NaN"):
        diagnose(np.full(20000, np.nan), sample_rate=FS, rpm=1800.0)
