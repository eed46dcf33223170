"""vibsentry.synth: seeded machine signals with bearing defects that a vibration analyst would recognise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal as sps
from scipy.stats import kurtosis

from tests.support.synth import envelope_spectrum, peak_frequency
from vibsentry import synth
from vibsentry.errors import ConfigError

FS = 12000.0


def test_same_seed_gives_identical_signal_and_other_seed_differs() -> None:
    kw = dict(duration_s=3.0, rpm=1797.0, load=0.4, load_changes=((1.0, 0.9),), fault="inner", severity=0.7)
    a = synth.machine_signal(**kw, seed=7)  # type: ignore[arg-type]
    b = synth.machine_signal(**kw, seed=7)  # type: ignore[arg-type]
    c = synth.machine_signal(**kw, seed=8)  # type: ignore[arg-type]
    assert a.dtype == np.float32 and a.shape == (36000,)
    assert a.tobytes() == b.tobytes()
    assert not np.array_equal(a, c)
    # Different seeds are different machines' noise, not a shifted copy: barely correlated.
    assert abs(np.corrcoef(a, c)[0, 1]) < 0.5


@settings(max_examples=15, deadline=None)
@given(chunks=st.lists(st.integers(0, 9000), min_size=1, max_size=12))
def test_streaming_in_any_block_sizes_gives_the_same_samples_as_one_call(chunks: list[int]) -> None:
    kw = dict(
        load=0.3, load_changes=((0.8, 0.9), (2.0, 0.1)), fault="ball", fault_onset_s=0.5, growth_s=1.0, seed=9
    )
    chunks = [*chunks, 6001]  # past the onset, so machine_signal accepts the duration
    n = sum(chunks)
    sim = synth.MachineSimulator(**kw)  # type: ignore[arg-type]
    parts = [sim.read(m) for m in chunks]
    assert [p.size for p in parts] == chunks and sim.position == n
    whole = synth.machine_signal(duration_s=n / FS, **kw)  # type: ignore[arg-type]
    assert np.concatenate(parts).tobytes() == whole.tobytes()


def test_simulator_load_change_at_runtime_equals_a_scheduled_one() -> None:
    sim = synth.MachineSimulator(rpm=1480.0, load=0.2, seed=4)
    head = sim.read(12000)
    sim.set_load(0.9)
    tail = sim.read(24000)
    planned = synth.machine_signal(duration_s=3.0, rpm=1480.0, load=0.2, load_changes=((1.0, 0.9),), seed=4)
    assert np.concatenate([head, tail]).tobytes() == planned.tobytes()
    with pytest.raises(ConfigError, match="load_changes"):
        sim.set_load(0.5, at_s=1.0)  # the past cannot change


def test_simulator_fault_injected_at_runtime_shows_up_from_then_on() -> None:
    healthy = synth.MachineSimulator(seed=6).read(int(8 * FS))
    sim = synth.MachineSimulator(seed=6)
    before = sim.read(int(4 * FS))
    sim.set_fault("outer", severity=1.0)
    after = sim.read(int(4 * FS)).astype(np.float64)
    assert np.array_equal(before, healthy[: before.size])
    assert kurtosis(after, fisher=False) > 6.0
    freqs, mag = envelope_spectrum(after, sample_rate=FS, band=(2200.0, 3800.0))
    bpfo = synth.bearing_frequencies(rpm=1797.0)["bpfo"]
    assert peak_frequency(freqs, mag, lo=45.0, hi=160.0) == pytest.approx(bpfo, abs=0.8)
    sim.set_fault(None)
    sim.read(int(0.1 * FS))  # the last bursts ring out
    quiet = sim.read(int(2 * FS)).astype(np.float64)
    assert kurtosis(quiet, fisher=False) < 3.5


def test_output_is_a_24_bit_adc_reading_within_full_scale() -> None:
    x = synth.machine_signal(duration_s=1.0, fault="outer", severity=20.0, full_scale_g=2.0, seed=1)
    lsb = 2.0 * 2.0 / 2**24
    codes = x.astype(np.float64) / lsb
    assert np.array_equal(codes, np.round(codes))
    assert x.max() <= 2.0 and x.min() >= -2.0
    assert np.sum(np.abs(x) >= 2.0 - 2 * lsb) > 0  # a huge defect clips, as a real sensor does
    assert np.isfinite(x).all()


def test_bearing_orders_match_the_published_cwru_values_for_the_6205() -> None:
    # CWRU Bearing Data Center, drive-end SKF 6205-2RS JEM, defect frequencies as multiples of running speed:
    # inner 5.4152, outer 3.5848, cage 0.39828, rolling element 4.7135 (= 2 x BSF).
    o = synth.bearing_orders(synth.BearingGeometry())
    assert o["bpfo"] == pytest.approx(3.5848, rel=2e-4)
    assert o["bpfi"] == pytest.approx(5.4152, rel=2e-4)
    assert o["bsf"] == pytest.approx(2.3570, rel=2e-4)
    assert 2 * o["bsf"] == pytest.approx(4.7135, rel=2e-4)
    assert o["ftf"] == pytest.approx(0.39828, rel=2e-4)
    f = synth.bearing_frequencies(synth.BearingGeometry(), 1797.0)
    assert f["shaft"] == pytest.approx(29.95)
    assert f["bpfo"] == pytest.approx(3.5848 * 29.95, rel=2e-4)
    assert f["bpfi"] == pytest.approx(5.4152 * 29.95, rel=2e-4)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 40),
    bd=st.floats(1.0, 30.0),
    ratio=st.floats(1.05, 20.0),
    angle=st.floats(0.0, 60.0),
    rpm=st.floats(10.0, 20000.0),
)
def test_bearing_frequency_identities_hold_for_any_geometry(
    n: int, bd: float, ratio: float, angle: float, rpm: float
) -> None:
    g = synth.BearingGeometry(
        n_balls=n, ball_diameter_mm=bd, pitch_diameter_mm=bd * ratio, contact_angle_deg=angle
    )
    f = synth.bearing_frequencies(g, rpm)
    # Balls pass a point of the outer and of the inner race N times per relative revolution of the cage.
    assert f["bpfo"] + f["bpfi"] == pytest.approx(n * f["shaft"], rel=1e-9)
    assert f["bpfo"] == pytest.approx(n * f["ftf"], rel=1e-9)
    assert 0 < f["ftf"] < 0.5 * f["shaft"] and f["bpfo"] < f["bpfi"]
    rho = math.cos(math.radians(angle)) / ratio
    assert f["bsf"] == pytest.approx(ratio / 2 * (1 - rho**2) * f["shaft"], rel=1e-9)


@pytest.mark.parametrize(
    ("machine", "fault", "key", "factor"),
    [
        ("m1", "outer", "bpfo", 1.0),
        ("m1", "inner", "bpfi", 1.0),
        ("m2", "outer", "bpfo", 1.0),
        ("m3", "inner", "bpfi", 1.0),
        ("m1", "ball", "bsf", 2.0),  # a ball defect hits both races once per spin
    ],
)
def test_envelope_spectrum_of_a_defect_peaks_at_its_bearing_frequency(
    machine: str, fault: str, key: str, factor: float
) -> None:
    prof = synth.MACHINES[machine]
    x = synth.machine_signal(**prof.kwargs(), duration_s=4.0, load=0.3, fault=fault, severity=0.5, seed=11)
    f0 = factor * synth.bearing_frequencies(prof.geometry, prof.rpm)[key]
    res = prof.resonance_hz
    freqs, mag = envelope_spectrum(x, sample_rate=FS, band=(res - 800.0, res + 800.0))
    # Searched from above the 1x line to past the fundamental: the defect line must win, within the
    # envelope's resolution (0.25 Hz) plus the 0.1 % speed wander.
    peak = peak_frequency(freqs, mag, lo=1.5 * prof.rpm / 60.0, hi=1.5 * f0)
    assert peak == pytest.approx(f0, abs=0.5 + 0.002 * f0)


def test_healthy_signal_has_no_defect_line_in_its_envelope() -> None:
    x = synth.machine_signal(duration_s=4.0, load=0.3, seed=11)
    freqs, mag = envelope_spectrum(x, sample_rate=FS, band=(2200.0, 3800.0))
    bpfo = synth.bearing_frequencies(rpm=1797.0)["bpfo"]
    near = (freqs > bpfo - 1) & (freqs < bpfo + 1)
    band = (freqs > 50) & (freqs < 400)
    assert mag[near].max() < 4 * np.median(mag[band])


def test_fault_onset_leaves_the_healthy_part_untouched_and_changes_rms_and_kurtosis() -> None:
    kw = dict(duration_s=12.0, rpm=1797.0, load=0.5, seed=5)
    healthy = synth.machine_signal(**kw)  # type: ignore[arg-type]
    x = synth.machine_signal(**kw, fault="outer", severity=1.0, fault_onset_s=6.0)  # type: ignore[arg-type]
    k = int(6.0 * FS)
    # The same machine up to the onset: the demo can switch a fault on without a seam in the signal.
    assert np.array_equal(x[:k], healthy[:k])
    before, after = x[:k].astype(np.float64), x[k:].astype(np.float64)
    assert kurtosis(before, fisher=False) < 3.5
    assert kurtosis(after, fisher=False) > 6.0
    assert np.sqrt(np.mean(after**2)) > 2.0 * np.sqrt(np.mean(before**2))


def test_fault_growth_raises_the_level_gradually() -> None:
    x = synth.machine_signal(
        duration_s=12.0, fault="inner", severity=1.0, fault_onset_s=2.0, growth_s=8.0, seed=3
    )
    rms = np.sqrt(np.mean(x[: 12 * 12000].reshape(12, 12000).astype(np.float64) ** 2, axis=1))
    growing = rms[3:10]
    assert np.all(np.diff(growing) > 0), rms
    assert rms[11] > 2.5 * rms[1]
    assert abs(rms[11] - rms[10]) < 0.2 * rms[11]  # fully grown after onset + growth_s


def test_load_change_slows_the_shaft_and_raises_2x() -> None:
    droop = 45.0
    x = synth.machine_signal(
        duration_s=20.0, rpm=1797.0, load=0.0, load_changes=((10.0, 1.0),), rpm_droop=droop, seed=2
    ).astype(np.float64)
    seg = int(8 * FS)

    def line(y: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
        f, p = sps.periodogram(y, fs=FS, window="hann", nfft=4 * y.size)
        m = (f > lo) & (f < hi)
        return float(f[m][np.argmax(p[m])]), float(p[m].max())

    f_before, _ = line(x[int(1 * FS) : int(1 * FS) + seg], 25.0, 35.0)
    f_after, _ = line(x[int(12 * FS) : int(12 * FS) + seg], 25.0, 35.0)
    assert f_before == pytest.approx(1797.0 / 60.0, abs=0.1)
    assert f_after == pytest.approx((1797.0 - droop) / 60.0, abs=0.1)
    _, p2_before = line(x[int(1 * FS) : int(1 * FS) + seg], 55.0, 65.0)
    _, p2_after = line(x[int(12 * FS) : int(12 * FS) + seg], 55.0, 65.0)
    assert p2_after > 2.0 * p2_before


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        (dict(duration_s=0.0), "duration_s=0.0"),
        (dict(duration_s=1.0, fault="cage"), "fault='cage'"),
        (dict(duration_s=1.0, resonance_hz=7000.0), "resonance_hz=7000.0"),
        (dict(duration_s=1.0, fault_onset_s=0.5), "fault_onset_s=0.5"),
        (dict(duration_s=1.0, fault="outer", fault_onset_s=2.0), "fault_onset_s=2.0"),
        (dict(duration_s=1.0, rpm=float("nan")), "rpm=nan"),
        (dict(duration_s=1.0, load=3.0), "load=3.0"),
        (dict(duration_s=1.0, load_changes=((0.5, 0.2), (0.2, 0.3))), "load_changes=(0.2, 0.3)"),
        (dict(duration_s=1.0, slip=0.5), "slip=0.5"),
    ],
)
def test_bad_arguments_raise_a_config_error_quoting_the_value(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ConfigError) as err:
        synth.machine_signal(**kwargs)  # type: ignore[arg-type]
    assert quoted in str(err.value)


def test_bad_geometry_is_refused() -> None:
    with pytest.raises(ConfigError, match="ball_diameter_mm=40"):
        synth.BearingGeometry(ball_diameter_mm=40.0, pitch_diameter_mm=39.0)
    with pytest.raises(ConfigError, match="n_balls=2"):
        synth.BearingGeometry(n_balls=2)
    with pytest.raises(ConfigError, match="rpm=-5"):
        synth.bearing_frequencies(rpm=-5)


def test_simulator_refuses_an_unknown_parameter_and_shares_machine_signal_defaults() -> None:
    with pytest.raises(ConfigError, match="parameter='rmp'"):
        synth.MachineSimulator(rmp=1500.0)
    sim = synth.MachineSimulator(seed=3)
    assert sim.read(6000).tobytes() == synth.machine_signal(duration_s=0.5, seed=3).tobytes()


@settings(max_examples=40, deadline=None)
@given(
    fs=st.sampled_from([8000.0, 12000.0, 25600.0, 48000.0]),
    rpm=st.floats(60.0, 12000.0),
    load=st.floats(0.0, 2.0),
    fault=st.sampled_from([None, "outer", "inner", "ball"]),
    severity=st.floats(0.0, 50.0),
    growth=st.floats(0.0, 3.0),
    res_frac=st.floats(0.05, 0.44),
    zeta=st.floats(0.005, 0.5),
    duration=st.floats(0.001, 0.5),
    seed=st.integers(0, 2**63),
)
def test_any_valid_arguments_give_a_finite_full_scale_signal_of_the_right_length(
    fs: float,
    rpm: float,
    load: float,
    fault: str | None,
    severity: float,
    growth: float,
    res_frac: float,
    zeta: float,
    duration: float,
    seed: int,
) -> None:
    x = synth.machine_signal(
        duration_s=duration, sample_rate=fs, rpm=rpm, load=load, fault=fault, severity=severity, growth_s=growth,
        resonance_hz=res_frac * fs, damping_ratio=zeta, load_changes=((duration / 2, 2.0 - load),), seed=seed,
    )  # fmt: skip
    assert x.dtype == np.float32 and x.shape == (max(1, round(duration * fs)),)
    assert np.isfinite(x).all() and np.abs(x).max() <= 16.0


def test_defect_line_follows_the_sample_rate_and_speed() -> None:
    fs = 25600.0  # the FEMTO/PRONOSTIA rate
    x = synth.machine_signal(
        duration_s=3.0, sample_rate=fs, rpm=1200.0, fault="outer", resonance_hz=5000.0, seed=2
    )
    freqs, mag = envelope_spectrum(x, sample_rate=fs, band=(4000.0, 6000.0))
    bpfo = synth.bearing_frequencies(rpm=1200.0)["bpfo"]
    assert peak_frequency(freqs, mag, lo=30.0, hi=1.5 * bpfo) == pytest.approx(bpfo, abs=0.6)
