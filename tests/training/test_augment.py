"""Training-data augmentation (``[train.augment]``, issue J item 3) and ``[train] class_balance``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from vibsentry.dsp.params import FeatureParams
from vibsentry.errors import ConfigError
from vibsentry.synth import machine_signal
from vibsentry.training.api import _oversample, load_config
from vibsentry.training.augment import (
    AugmentConfig,
    augment_signal,
    augment_windows,
    change_speed,
    shift_resonance,
)
from vibsentry.training.dataset import build_windows
from vibsentry.training.manifest import read_manifest

FS = 12000.0
ALL = AugmentConfig(copies=2, gain_db=6.0, speed=0.05, noise=0.1, resonance_shift_hz=300.0)


def _peak_hz(x: np.ndarray, fs: float, lo: float = 0.0, hi: float | None = None) -> float:
    """Frequency of the largest spectral peak in [lo, hi], refined by parabolic interpolation."""
    n = 16 * x.size
    mag = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    f = np.fft.rfftfreq(n, 1 / fs)
    band = np.flatnonzero((f >= lo) & (f <= (hi if hi is not None else fs / 2)))
    k = band[np.argmax(mag[band])]
    a, b, c = np.log(mag[k - 1 : k + 2])
    return float(f[k] + 0.5 * (a - c) / (a - 2 * b + c) * (f[1] - f[0]))


def _tone(f: float, n: int = 24000) -> np.ndarray:
    return np.sin(2 * np.pi * f * np.arange(n) / FS).astype(np.float32)


def test_same_seed_same_copy_other_seed_other_copy():
    x = machine_signal(duration_s=1.0, seed=3).astype(np.float32)
    a, da = augment_signal(x, FS, ALL, np.random.default_rng(7))
    b, db = augment_signal(x, FS, ALL, np.random.default_rng(7))
    c, _ = augment_signal(x, FS, ALL, np.random.default_rng(8))
    assert da == db and np.array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_dtype_float32_and_length_kept_unless_speed_changes():
    x = machine_signal(duration_s=1.0, seed=1).astype(np.float32)
    no_speed = AugmentConfig(copies=1, gain_db=6.0, noise=0.2, resonance_shift_hz=300.0)
    for seed in range(5):
        y, d = augment_signal(x, FS, no_speed, np.random.default_rng(seed))
        assert y.dtype == np.float32 and y.shape == x.shape and d.speed == 1.0
        y, d = augment_signal(x, FS, ALL, np.random.default_rng(seed))
        assert y.dtype == np.float32 and abs(y.size - x.size / d.speed) <= 2
        assert 0.95 <= d.speed <= 1.05 and abs(20 * np.log10(d.gain)) <= 6.0 + 1e-9


@pytest.mark.parametrize("factor", [0.95, 0.97, 1.0, 1.03, 1.05])
def test_speed_change_moves_a_tone_by_the_stated_factor(factor):
    y, realised = change_speed(_tone(500.0), factor)
    assert abs(realised - factor) < 1e-3
    assert _peak_hz(y, FS) == pytest.approx(500.0 * realised, rel=2e-4)


def test_resonance_shift_moves_high_components_and_keeps_low_ones():
    x = _tone(60.0) + _tone(3000.0)
    y = shift_resonance(x, 250.0, FS)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert _peak_hz(y, FS, 1000.0) == pytest.approx(3250.0, abs=0.5)
    assert _peak_hz(y, FS, 0.0, 500.0) == pytest.approx(60.0, abs=0.5)
    # Envelope kept: an amplitude-modulated carrier keeps its modulation rate after the shift.
    am = (1 + 0.5 * _tone(107.0)) * _tone(3000.0)
    env = np.abs(np.fft.rfft(np.abs(_analytic(shift_resonance(am, -400.0, FS)))))
    assert np.fft.rfftfreq(am.size, 1 / FS)[1 + np.argmax(env[1:])] == pytest.approx(107.0, abs=1.0)


def _analytic(x: np.ndarray) -> np.ndarray:
    from scipy.signal import hilbert

    return hilbert(x)


def test_gain_scales_rms():
    x = _tone(440.0)
    y, d = augment_signal(x, FS, AugmentConfig(copies=1, gain_db=12.0), np.random.default_rng(0))
    assert np.sqrt(np.mean(y**2)) / np.sqrt(np.mean(x**2)) == pytest.approx(d.gain, rel=1e-5)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("copies = -1", "copies"),
        ("copies = 1.5", "copies"),
        ("copies = true", "copies"),
        ("gain_db = -3", "gain_db"),
        ("gain_db = 'loud'", "gain_db"),
        ("speed = 0.5", "speed"),
        ("noise = nan", "noise"),
        ("resonance_shift_hz = -1", "resonance_shift_hz"),
        ("seed = -2", "seed"),
        ("speeed = 0.05", "speeed"),
    ],
)
def test_bad_augment_value_is_one_error_naming_the_key(tmp_path, text, key):
    p = tmp_path / "t.toml"
    p.write_text(f"[train.augment]\ncopies = 1\n{text}\n".replace("copies = 1\ncopies", "copies"))
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    msg = str(ei.value)
    assert "\n" not in msg and str(p) in msg and "[train.augment]" in msg and repr(key)[1:-1] in msg


def test_bad_class_balance_and_non_table_augment(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[train]\nclass_balance = "equal"\n')
    with pytest.raises(
        ConfigError, match=r"class_balance='equal': choose one of 'weights', 'oversample', 'none'"
    ):
        load_config(p)
    p.write_text("[train]\naugment = 3\n")
    with pytest.raises(ConfigError, match=r"\[train.augment\] must be a table"):
        load_config(p)


def test_cli_reports_a_bad_augment_value_in_one_line(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text("[train.augment]\ncopies = 2\nspeed = 0.7\n")
    r = subprocess.run(
        [sys.executable, "-m", "vibsentry", "train", "--manifest", "sample_data/manifest.csv", "--out", str(tmp_path / "b"),
         "--config", str(p)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "speed=0.7" in lines[0], r.stderr
    assert not (tmp_path / "b").exists()


def _manifest(tmp_path):
    lines = ["path,label,group"]
    for i, (label, fault) in enumerate((("normal", None), ("outer_race", "outer"), ("inner_race", "inner"))):
        x = machine_signal(duration_s=3.0, fault=fault, seed=i)
        wavfile.write(tmp_path / f"{label}.wav", 12000, x.astype(np.float32))
        lines.append(f"{label}.wav,{label},{label}")
    m = tmp_path / "m.csv"
    m.write_text("\n".join(lines) + "\n")
    return read_manifest(m)


def test_augmented_windows_come_from_training_frames_only_and_are_reproducible(tmp_path):
    rows = _manifest(tmp_path)
    params = FeatureParams()
    w = build_windows(rows, params=params, kind="classifier")
    cfg = AugmentConfig(copies=2, gain_db=6.0, speed=0.05, noise=0.1, resonance_shift_hz=300.0)
    a, sa = augment_windows(w, rows, params, cfg, seed=0)
    b, _ = augment_windows(w, rows, params, cfg, seed=0)
    c, _ = augment_windows(w, rows, params, cfg, seed=1)
    n = len(w)
    # The real windows come first, unchanged; only training windows are added.
    assert np.array_equal(a.X[:n], w.X) and np.array_equal(a.split[:n], w.split)
    assert sa["windows_added"] == len(a) - n > 0 and set(a.split[n:].tolist()) == {"train"}
    for s in ("val", "test"):
        assert np.count_nonzero(a.split == s) == np.count_nonzero(w.split == s)
    # Each row's added frames map back inside its training frames (speed at most 5 %).
    for i in range(len(rows)):
        last_train = w.frame[(w.row == i) & (w.split == "train")].max()
        assert a.frame[n:][a.row[n:] == i].max() <= last_train * 1.05 + 1
        assert set(a.label[n:][a.row[n:] == i].tolist()) == {rows[i].label}
    assert np.array_equal(a.X, b.X) and not np.array_equal(a.X[n:], c.X[n:])
    off, so = augment_windows(w, rows, params, AugmentConfig(), seed=0)
    assert off is w and so["windows_added"] == 0


def test_oversample_equalises_classes_and_is_seeded(tmp_path):
    w = build_windows(_manifest(tmp_path), params=FeatureParams(), kind="classifier").in_split("train")
    keep = np.flatnonzero(w.label != "normal").tolist() + np.flatnonzero(w.label == "normal")[:5].tolist()
    w = w.select(np.asarray(sorted(keep)))
    o = _oversample(w, 0)
    _, counts = np.unique(o.label, return_counts=True)
    assert len(set(counts.tolist())) == 1 and counts[0] == max(np.unique(w.label, return_counts=True)[1])
    assert np.array_equal(o.X, _oversample(w, 0).X)


@pytest.mark.needs_tf
def test_train_with_augmentation_records_it_in_the_bundle(tmp_path):
    from vibsentry.runtime.bundle import load_bundle
    from vibsentry.training.api import train_bundle

    rows = _manifest(tmp_path)
    m = rows[0].manifest
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        '[train]\nepochs = 2\nrepresentative_rows = 50\nbaselines = false\nclass_balance = "oversample"\n'
        "[train.augment]\ncopies = 1\nspeed = 0.05\ngain_db = 3.0\n"
    )
    b = load_bundle(train_bundle(m, tmp_path / "b", kind="classifier", config=cfg))
    aug = b.meta["training"]["augment"]
    assert aug["copies"] == 1 and aug["windows_added"] > 0 and aug["config"]["speed"] == 0.05
    assert b.meta["training"]["config"]["class_balance"] == "oversample"
