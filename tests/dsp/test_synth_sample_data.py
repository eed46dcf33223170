"""sample_data/: intact, described by its manifest, small, reproducible, and real where it says it is real."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.synth import envelope_spectrum, peak_frequency, read_sums, sha256
from vibsentry import synth
from vibsentry.dsp.io import read_recording
from vibsentry.training.manifest import read_manifest

ROOT = Path(__file__).resolve().parents[2]
SD = ROOT / "sample_data"
SCRIPT = ROOT / "scripts" / "make_sample_data.py"
LABELS = {"normal", "outer_race", "inner_race", "ball"}


def _regenerate(out: Path, *extra: str) -> None:
    subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *extra], check=True, capture_output=True, timeout=300
    )


def test_every_file_matches_sha256sums_and_none_is_unlisted() -> None:
    sums = read_sums(SD / "SHA256SUMS")
    present = {p.relative_to(SD).as_posix() for p in SD.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert present == set(sums)
    bad = [name for name, digest in sums.items() if sha256(SD / name) != digest]
    assert not bad, f"changed since SHA256SUMS was written: {bad}"


def test_sample_data_stays_under_5_mb() -> None:
    total = sum(p.stat().st_size for p in SD.rglob("*") if p.is_file())
    assert total < 5_000_000


def test_manifest_rows_load_through_the_training_reader() -> None:
    rows = read_manifest(SD / "manifest.csv")
    assert {r.label for r in rows} == LABELS
    for r in rows:
        assert r.file.is_file(), r.path
        rec = read_recording(r.file)
        assert rec.sample_rate == 12000.0 and rec.data.dtype == np.float32 and rec.data.shape[1] == 1
        assert np.isfinite(rec.data).all(), r.path


def test_there_is_enough_data_to_train_and_evaluate() -> None:
    rows = read_manifest(SD / "manifest.csv")
    seconds: dict[tuple[str, str], float] = {}
    for r in rows:
        n = read_recording(r.file).data.shape[0] / 12000.0
        dur = (r.end_s if r.end_s is not None else n) - (r.start_s or 0.0)
        key = (r.label, r.split)
        seconds[key] = seconds.get(key, 0.0) + dur
    healthy_train = seconds[("normal", "train")]
    # ~700 frames of 1024 samples of healthy data in total, over three machines.
    assert sum(v for (lb, _), v in seconds.items() if lb == "normal") >= 60.0
    assert healthy_train >= 30.0 and seconds[("normal", "val")] >= 10.0
    machines = {
        Path(r.path).name[:2] for r in rows if r.label == "normal" and r.path.startswith("synthetic/")
    }
    assert machines == {"m1", "m2", "m3"}
    for fault in ("outer_race", "inner_race", "ball"):
        assert seconds[(fault, "train")] >= 4.0 and seconds[(fault, "test")] >= 4.0, fault


def test_synthetic_files_regenerate_bit_identically(tmp_path: Path) -> None:
    out = tmp_path / "sd"
    _regenerate(out, "--no-cwru")
    committed = read_sums(SD / "SHA256SUMS")
    synthetic = {k: v for k, v in committed.items() if k.startswith("synthetic/")}
    assert len(synthetic) >= 10
    regenerated = read_sums(out / "SHA256SUMS")
    changed = sorted(k for k in synthetic if regenerated.get(k) != synthetic[k])
    assert not changed, (
        f"scripts/make_sample_data.py no longer reproduces {changed}; if vibsentry.synth (or NumPy/SciPy) "
        "changed on purpose, rerun the script and commit sample_data/"
    )
    # The committed README carries the hash of the script that wrote it: editing the generator without
    # regenerating sample_data/ is caught here.
    assert sha256(SCRIPT) in (SD / "README.md").read_text(encoding="utf-8")


def test_cwru_excerpts_regenerate_from_the_original_records(tmp_path: Path, datasets_dir: Path) -> None:
    out = tmp_path / "sd"
    _regenerate(out, "--datasets", str(datasets_dir))
    names = [k for k in read_sums(SD / "SHA256SUMS") if k.startswith("cwru/")]
    assert len(names) == 4
    for name in names:
        new, old = read_recording(out / name).data, read_recording(SD / name).data
        assert new.shape == old.shape
        # Resampling is float64 FIR math; allow last-bit differences between CPUs and SciPy builds.
        np.testing.assert_allclose(new, old, rtol=0, atol=1e-6)
    assert (out / "manifest.csv").read_text() == (SD / "manifest.csv").read_text()


@pytest.mark.parametrize(("name", "key"), [("or007_6_0_130", "bpfo"), ("ir007_0_105", "bpfi")])
def test_real_cwru_excerpts_show_their_defect_line_where_the_formulas_put_it(name: str, key: str) -> None:
    rows = {r.path: r for r in read_manifest(SD / "manifest.csv")}
    row = rows[f"cwru/{name}_excerpt.wav"]
    x = read_recording(row.file).data[:, 0]
    assert row.rpm is not None
    f0 = synth.bearing_frequencies(synth.BearingGeometry(), row.rpm)[key]
    freqs, mag = envelope_spectrum(x, sample_rate=12000.0, band=(2000.0, 4000.0), pad=8)
    # 1.5 s of data: 0.67 Hz resolution; the real bearing also slips a little.
    assert peak_frequency(freqs, mag, lo=50.0, hi=400.0) == pytest.approx(f0, abs=1.5)


def test_synthetic_levels_resemble_the_real_records() -> None:
    def rms(path: str) -> float:
        x = read_recording(SD / path).data[:, 0].astype(np.float64)
        return float(np.sqrt(np.mean(x**2)))

    # Same rig speed, no load: a healthy synthetic m1 within a factor of two of CWRU's healthy record, and
    # a fault clearly above healthy in both worlds.
    real_normal, syn_normal = rms("cwru/normal_0_97_excerpt.wav"), rms("synthetic/m1_normal_a.wav")
    assert 0.5 < syn_normal / real_normal < 2.0
    assert rms("synthetic/m1_outer_race_sev100.wav") > 3 * syn_normal
    assert rms("cwru/or007_6_0_130_excerpt.wav") > 3 * real_normal
