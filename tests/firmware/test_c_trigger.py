"""vs_trigger (C) replayed on recorded signals against a Python model of the rules in vs_trigger.h.

The model computes block levels exactly like the C code (float32, sums in sample order: ``np.cumsum`` with a
float32 dtype accumulates sequentially), so every decision, reason mask and counter must be identical.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from tests.support.cbuild import make, run_c_test

ROOT = Path(__file__).resolve().parents[2]
RMS, PEAK, WAKE, HEARTBEAT = 1, 2, 4, 8
U32_MAX = 2**32 - 1


class _Config(ctypes.Structure):
    _fields_ = [
        ("rms_threshold", ctypes.c_float),
        ("peak_threshold", ctypes.c_float),
        ("heartbeat_samples", ctypes.c_uint32),
        ("holdoff_samples", ctypes.c_uint32),
        ("frame_length", ctypes.c_uint32),
    ]


class _Trigger(ctypes.Structure):
    _fields_ = [
        ("cfg", _Config),
        ("ring", ctypes.c_void_p),
        ("head", ctypes.c_uint32),
        ("seen", ctypes.c_uint32),
        ("since_analysis", ctypes.c_uint32),
        ("wake_requests", ctypes.c_uint32),
        ("wake_served", ctypes.c_uint32),
        ("blocks", ctypes.c_uint32),
        ("analysed", ctypes.c_uint32),
        ("skipped", ctypes.c_uint32),
        ("last_rms", ctypes.c_float),
        ("last_peak", ctypes.c_float),
        ("ring_i16", ctypes.c_void_p),
        ("scale", ctypes.c_float),
    ]


@dataclass
class TriggerModel:
    """The vs_trigger rules in Python (see firmware_core/include/vs/vs_trigger.h)."""

    rms_threshold: float
    peak_threshold: float
    heartbeat: int
    holdoff: int
    frame_length: int
    seen: int = 0
    since: int = 0
    wake_requests: int = 0
    wake_served: int = 0
    analysed: int = 0
    skipped: int = 0
    history: list[float] = field(default_factory=list)
    last: tuple[np.float32, np.float32] = (np.float32(0), np.float32(0))

    def levels(self, b: npt.NDArray[np.float32]) -> tuple[np.float32, np.float32]:
        """Block rms and peak as vs_trigger_push_f32 computes them (float32, sums in sample order)."""
        n = np.float32(b.size)
        c = b - b[0]
        d = np.cumsum(c, dtype=np.float32)[-1] / n
        var = np.cumsum(c * c, dtype=np.float32)[-1] / n - d * d
        rms = np.sqrt(var) if var > 0 else np.float32(0)
        hi, lo = max(c.max(), np.float32(0)), min(c.min(), np.float32(0))
        return rms, max(hi - d, d - lo)

    def push(self, block: npt.NDArray[np.float32]) -> int:
        b = np.asarray(block, dtype=np.float32)
        self.history.extend(b.tolist())
        self.seen = min(self.seen + b.size, U32_MAX)
        self.since = min(self.since + b.size, U32_MAX)
        rms, peak = self.levels(b)
        self.last = (rms, peak)
        reasons = 0
        if self.rms_threshold > 0 and rms > np.float32(self.rms_threshold):
            reasons |= RMS
        if self.peak_threshold > 0 and peak > np.float32(self.peak_threshold):
            reasons |= PEAK
        if self.wake_requests != self.wake_served:
            reasons |= WAKE
        if self.heartbeat > 0 and self.since >= self.heartbeat:
            reasons |= HEARTBEAT
        if not reasons:
            return 0
        if (self.analysed > 0 and self.since < self.holdoff) or self.seen < self.frame_length:
            if reasons & (RMS | PEAK):
                self.skipped += 1
            return 0
        self.analysed += 1
        self.since = 0
        self.wake_served = self.wake_requests
        return reasons


@dataclass
class RawTriggerModel(TriggerModel):
    """vs_trigger_push_i16: exact integer sums of int16 counts, then the float32 steps of vs_trigger.c."""

    scale: float = 1.0

    def levels(self, b: npt.NDArray[np.float32]) -> tuple[np.float32, np.float32]:
        x = np.round(b / np.float32(self.scale)).astype(np.int64)  # b holds counts * scale exactly
        n, s1, s2 = x.size, int(x.sum()), int((x * x).sum())
        vn2 = n * s2 - s1 * s1
        f = np.float32
        inv_n = f(1) / f(n)
        v = f(vn2 >> 30) * f(2.0**30) + f(vn2 & (2**30 - 1))
        rms = np.sqrt(v) * inv_n * f(self.scale) if vn2 > 0 else f(0)
        mean = f(s1) * inv_n
        up, down = f(x.max()) - mean, mean - f(x.min())
        return rms, max(up, down) * f(self.scale)


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    so = ctypes.CDLL(str(make("lib").lib_so))
    so.vs_trigger_push_f32.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
    so.vs_trigger_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    so.vs_trigger_copy_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    so.vs_trigger_wake_from_isr.argtypes = [ctypes.c_void_p]
    so.vs_trigger_init_i16.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_float]
    so.vs_trigger_push_i16.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32]
    return so


def _recordings() -> list[tuple[str, npt.NDArray[np.float32]]]:
    from vibsentry.dsp.io import read_recording

    wavs = sorted((ROOT / "sample_data").rglob("*.wav"))
    if not wavs:
        pytest.skip("no sample_data/*.wav found")
    return [(w.name, read_recording(w).data[:, 0].astype(np.float32)) for w in wavs]


def test_c_unit_tests_under_sanitizers() -> None:
    assert "0 failures" in run_c_test("test_trigger").stdout


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_replay_sample_data_matches_model(lib: ctypes.CDLL, seed: int) -> None:
    rng = np.random.default_rng(seed)
    total_analysed = total_skipped = 0
    reasons_seen = 0
    for name, x in _recordings():
        x = x[:48000]
        fl = 1024
        # Thresholds from the recording's own block levels, so every recording triggers some blocks and not
        # others (a fixed threshold would be all-or-nothing across machines of different amplitude).
        lv = np.array([np.std(x[i : i + 256]) for i in range(0, len(x) - 256, 256)])
        cfg = dict(
            rms_threshold=float(np.quantile(lv, rng.uniform(0.6, 0.95))),
            peak_threshold=float(np.quantile(lv, 0.9) * rng.uniform(2.5, 5.0)) if seed != 1 else 0.0,
            heartbeat=int(rng.integers(4000, 20000)),
            holdoff=int(rng.integers(0, 6000)),
            frame_length=fl,
        )
        model = TriggerModel(**cfg)  # type: ignore[arg-type]
        ring = np.zeros(fl, dtype=np.float32)
        inst = _Trigger()
        c_cfg = _Config(cfg["rms_threshold"], cfg["peak_threshold"], cfg["heartbeat"], cfg["holdoff"], fl)
        assert lib.vs_trigger_init(ctypes.byref(inst), ctypes.byref(c_cfg), ring.ctypes.data) == 0
        frame = np.zeros(fl, dtype=np.float32)
        pos = 0
        while pos < len(x):
            n = int(rng.choice([1, 7, 64, 128, 256, 500]))
            block = np.ascontiguousarray(x[pos : pos + n])
            pos += n
            if rng.random() < 0.01:
                lib.vs_trigger_wake_from_isr(ctypes.byref(inst))
                model.wake_requests += 1
            got = lib.vs_trigger_push_f32(ctypes.byref(inst), block.ctypes.data, block.size)
            want = model.push(block)
            assert got == want, f"{name} at sample {pos}: C {got}, model {want}"
            reasons_seen |= max(got, 0)
            if got > 0:
                lib.vs_trigger_copy_frame(ctypes.byref(inst), frame.ctypes.data)
                np.testing.assert_array_equal(frame, np.asarray(model.history[-fl:], dtype=np.float32))
        assert (inst.analysed, inst.skipped) == (model.analysed, model.skipped), name
        total_analysed += model.analysed
        total_skipped += model.skipped
    # The replay must exercise the machine, not pass vacuously.
    assert total_analysed > 20 and total_skipped > 0
    assert reasons_seen & RMS and reasons_seen & HEARTBEAT and reasons_seen & WAKE


def test_raw_int16_path_matches_its_model_and_the_exact_levels(lib: ctypes.CDLL) -> None:
    """vs_trigger_push_i16 on sample_data as 16-bit counts (4096 per g): the same decisions, counters and frame
    as its model, levels equal to its float32 steps bit for bit and within 1e-5 of the float64 truth."""
    rng = np.random.default_rng(7)
    scale = 1.0 / 4096.0
    total = 0
    for name, x in _recordings()[:6]:
        counts = np.clip(np.round(x[:24000] * 4096), -32768, 32767).astype(np.int16)
        g = counts.astype(np.float32) * np.float32(scale)
        fl = 1024
        lv = np.array([np.std(g[i : i + 256]) for i in range(0, len(g) - 256, 256)])
        cfg = dict(
            rms_threshold=float(np.quantile(lv, 0.8)),
            peak_threshold=float(np.quantile(lv, 0.9) * 3.0),
            heartbeat=8000,
            holdoff=2000,
            frame_length=fl,
        )
        model = RawTriggerModel(**cfg, scale=scale)  # type: ignore[arg-type]
        ring = np.zeros(fl, dtype=np.int16)
        inst = _Trigger()
        c_cfg = _Config(cfg["rms_threshold"], cfg["peak_threshold"], cfg["heartbeat"], cfg["holdoff"], fl)
        assert lib.vs_trigger_init_i16(ctypes.byref(inst), ctypes.byref(c_cfg), ring.ctypes.data, scale) == 0
        assert lib.vs_trigger_push_f32(ctypes.byref(inst), g.ctypes.data, 4) == -4  # VS_ERR_STATE
        frame = np.zeros(fl, dtype=np.float32)
        pos = 0
        while pos < len(counts):
            n = int(rng.choice([1, 7, 64, 256, 500, 1500]))
            block = np.ascontiguousarray(counts[pos : pos + n])
            got = lib.vs_trigger_push_i16(ctypes.byref(inst), block.ctypes.data, block.size)
            want = model.push(g[pos : pos + n])
            pos += n
            assert got == want, f"{name} at sample {pos}: C {got}, model {want}"
            assert (np.float32(inst.last_rms), np.float32(inst.last_peak)) == model.last
            b64 = block.astype(np.float64) * scale
            assert inst.last_rms == pytest.approx(b64.std(), rel=1e-5, abs=1e-9)
            peak64 = max(b64.max() - b64.mean(), b64.mean() - b64.min())
            assert inst.last_peak == pytest.approx(peak64, rel=1e-5, abs=1e-9)
            if got > 0:
                lib.vs_trigger_copy_frame(ctypes.byref(inst), frame.ctypes.data)
                np.testing.assert_array_equal(frame, np.asarray(model.history[-fl:], dtype=np.float32))
        assert (inst.analysed, inst.skipped) == (model.analysed, model.skipped), name
        total += model.analysed
    assert total > 5
