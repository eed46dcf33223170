"""``vibsentry evaluate --hold-out COLUMN``: leave-one-condition-out generalisation (issue J, item 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from vibsentry.synth import machine_signal

pytestmark = [pytest.mark.needs_tf]


def _manifest(tmp_path):
    lines = ["path,label,group,load,rpm"]
    for load in (0.0, 1.0):
        for label, fault, seed in (("normal", None, 1), ("normal", None, 2), ("outer_race", "outer", 3)):
            x = machine_signal(
                duration_s=4.0, rpm=1797, load=load, fault=fault, severity=1.0, seed=seed + int(load * 10)
            )
            name = f"{label}_{load:g}_{seed}.wav"
            wavfile.write(tmp_path / name, 12000, x.astype(np.float32))
            lines.append(f"{name},{label},{label}_{load:g}_{seed},{load:g},1797")
    m = tmp_path / "m.csv"
    m.write_text("\n".join(lines) + "\n")
    cfg = tmp_path / "t.toml"
    cfg.write_text('[train]\nmodel = "mahalanobis"\nbaselines = false\n')
    return m, cfg


def test_hold_out_trains_one_model_per_value_and_tests_on_that_value_only(tmp_path):
    m, cfg = _manifest(tmp_path)
    out = tmp_path / "cv.json"
    p = subprocess.run(
        [sys.executable, "-m", "vibsentry", "evaluate", "--hold-out", "load", "-m", str(m), "--config", str(cfg),
         "--json", str(out), "-q"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert p.returncode == 0, p.stderr
    cv = json.loads(out.read_text())
    assert cv["column"] == "load" and [f["held_out"] for f in cv["folds"]] == ["0", "1"]
    # Each fold is tested on its own load's three 4 s recordings only (46 whole frames each at 12 kHz, hop 1024).
    assert all(f["n_windows"] == 3 * 46 for f in cv["folds"]), cv["folds"]
    for f in cv["folds"]:
        assert f["int8_auc"] > 0.9 and abs(f["int8_auc"] - f["float_auc"]) <= 0.01
    assert cv["int8_auc_worst"] == min(f["int8_auc"] for f in cv["folds"])


def test_hold_out_needs_two_values_and_excludes_a_bundle(tmp_path):
    m, _ = _manifest(tmp_path)
    one = tmp_path / "one.csv"
    one.write_text("\n".join(ln for ln in m.read_text().splitlines() if not ln.endswith(",1,1797")) + "\n")
    p = subprocess.run(
        [sys.executable, "-m", "vibsentry", "evaluate", "--hold-out", "load", "-m", str(one)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "holding one out needs at least 2" in p.stderr and len(p.stderr.strip().splitlines()) == 1
    p = subprocess.run(
        [sys.executable, "-m", "vibsentry", "evaluate", "some/bundle", "--hold-out", "load", "-m", str(m)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert p.returncode == 2 and "either BUNDLE" in p.stderr
