"""vs_alarm (C) against the shared alarm vectors and against vibsentry.runtime.alarm on random scores."""

from __future__ import annotations

import ctypes
import json
from pathlib import Path

import numpy as np
import pytest

from tests.support.cbuild import build_host, run_c_test
from vibsentry.runtime.alarm import AlarmRule, apply_alarm_rule

VECTORS = sorted((Path(__file__).parents[1] / "vectors" / "alarm").glob("*.json"))


class _Rule(ctypes.Structure):
    _fields_ = [
        ("threshold", ctypes.c_float),
        ("clear_threshold", ctypes.c_float),
        ("k", ctypes.c_uint8),
        ("n", ctypes.c_uint8),
    ]


class _Alarm(ctypes.Structure):
    _fields_ = [
        ("rule", _Rule),
        ("ring", ctypes.c_float * 32),
        ("head", ctypes.c_uint8),
        ("count", ctypes.c_uint8),
        ("state", ctypes.c_uint8),
    ]


def _vector_to_text(src: Path, dst: Path) -> None:
    d = json.loads(src.read_text())
    r = d["rule"]
    lines = [
        f"rule {float(np.float32(r['threshold'])).hex()} {float(np.float32(r['clear_threshold'])).hex()} "
        f"{r['k']} {r['n']}"
    ]
    for s, st, ev in zip(d["scores"], d["states"], d["events"], strict=True):
        lines.append(f"{float(np.float32(s)).hex()} {st} {ev}")
    dst.write_text("\n".join(lines) + "\n")


def test_shared_vectors_in_sanitized_c_binary(tmp_path: Path) -> None:
    assert VECTORS, "tests/vectors/alarm/*.json missing"
    files = []
    for v in VECTORS:
        t = tmp_path / (v.stem + ".txt")
        _vector_to_text(v, t)
        files.append(str(t))
    out = run_c_test("test_alarm", *files).stdout
    for v in VECTORS:
        assert f"{v.stem}.txt: " in out and "0 mismatches" in out.split(f"{v.stem}.txt: ")[1].splitlines()[0]


def _c_events(lib: ctypes.CDLL, scores: np.ndarray, rule: AlarmRule) -> np.ndarray:
    inst = _Alarm()
    r = _Rule(rule.threshold, rule.clear_threshold, rule.k, rule.n)
    assert lib.vs_alarm_init(ctypes.byref(inst), ctypes.byref(r)) == 0
    return np.array([lib.vs_alarm_step_f32(ctypes.byref(inst), ctypes.c_float(s)) for s in scores], np.uint8)


@pytest.fixture(scope="module")
def lib() -> ctypes.CDLL:
    so = ctypes.CDLL(str(build_host().lib_so))
    so.vs_alarm_step_f32.argtypes = [ctypes.c_void_p, ctypes.c_float]
    so.vs_alarm_init.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    return so


def test_c_matches_python_on_random_rules(lib: ctypes.CDLL) -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(1, 33))
        k = int(rng.integers(1, n + 1))
        thr = float(rng.normal(1.0, 0.3))
        rule = AlarmRule(thr, thr - abs(float(rng.normal(0, 0.3))), k, n)
        # Quantised scores hit the thresholds exactly now and then, which is where '>' vs '>=' shows.
        scores = np.round(rng.gamma(2.0, 0.5, size=300).astype(np.float32) * 8) / 8
        scores[rng.random(300) < 0.05] = np.float32(rule.threshold)
        _, want = apply_alarm_rule(scores, rule)
        got = _c_events(lib, scores, rule)
        np.testing.assert_array_equal(got, want)


def test_c_rejects_clear_above_threshold(lib: ctypes.CDLL) -> None:
    inst = _Alarm()
    assert lib.vs_alarm_init(ctypes.byref(inst), ctypes.byref(_Rule(1.0, 2.0, 1, 1))) < 0
