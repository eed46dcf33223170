"""``vibsentry features`` and the CLI contract: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from vibsentry.cli import main
from vibsentry.dsp import FeatureParams, extract_features

VIBSENTRY = [sys.executable, "-m", "vibsentry"]


def _wav(path: Path, x: np.ndarray, fs: int = 12000) -> Path:
    scipy.io.wavfile.write(path, fs, x.astype(np.float32))
    return path


def test_features_writes_matrix_params_and_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.random.default_rng(0).normal(size=30_000).astype(np.float32)
    src = _wav(tmp_path / "rec.wav", x)
    out = tmp_path / "o" / "feat.npz"
    assert main(["features", str(src), "--out", str(out), "--json", "-q"]) == 0
    summary = json.loads(capsys.readouterr().out)
    with np.load(out) as z:
        feats = z["features"]
        params = FeatureParams.from_dict(json.loads(str(z["feature_params"])))
        assert str(z["feature_hash"]) == params.feature_hash == summary["feature_hash"]
        assert list(z["feature_names"]) == list(params.feature_names)
        np.testing.assert_allclose(z["frame_start_s"][:3], [0, 1024 / 12000, 2048 / 12000])
    np.testing.assert_allclose(feats, extract_features(x, params=params), atol=1e-5)
    assert summary["n_frames"] == feats.shape[0] == 29


def test_features_with_config_csv_and_resample(tmp_path: Path) -> None:
    cfg = tmp_path / "f.toml"
    cfg.write_text('[features]\nsample_rate = 8000\nframe_length = 512\nfeatures = ["mfcc", "band_rms"]\n')
    csv = tmp_path / "acc.csv"
    t = np.arange(8000) / 8000
    csv.write_text(
        "x,y\n" + "\n".join(f"{a:.6f},{b:.6f}" for a, b in zip(np.sin(300 * t), np.cos(50 * t), strict=True))
    )
    out = tmp_path / "c.npz"
    assert main(["features", str(csv), "--channel", "y", "--config", str(cfg), "--out", str(out), "-q"]) == 0
    assert np.load(out)["features"].shape == ((8000 - 512) // 1024 + 1, 13 + 8)
    wav = _wav(tmp_path / "48k.wav", np.zeros(48000), fs=48000)
    assert main(["features", str(wav), "--out", str(out), "-q"]) == 2  # rate mismatch without --resample
    assert main(["features", str(wav), "--out", str(out), "--resample", "-q"]) == 0
    assert np.load(out)["features"].shape[0] == 11


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["features", "{d}/missing.wav", "--out", "{d}/o.npz"], 1, "missing.wav: file not found"),
        (["features", "{d}/short.wav", "--out", "{d}/o.npz"], 1, "shorter than one frame"),
        (["features", "{d}/nan.wav", "--out", "{d}/o.npz"], 1, "is nan"),
        (
            ["features", "{d}/text.csv", "--out", "{d}/o.npz"],
            1,
            "text.csv:3: column 1: 'abc' is not a number",
        ),
        (["features", "{d}/nan.wav", "--out", "{d}/o.txt"], 2, "must be an .npz file"),
        (["features", "{d}/nan.wav"], 2, "required: --out"),
        (
            ["features", "{d}/nan.wav", "--out", "{d}/o.npz", "--config", "{d}/bad.toml"],
            1,
            "frame_length=1000",
        ),
        (["nosuchcommand"], 2, "invalid choice"),
    ],
)
def test_bad_input_is_one_line_with_the_right_exit_code(
    tmp_path: Path, args: list[str], code: int, needle: str
) -> None:
    _wav(tmp_path / "short.wav", np.zeros(100))
    x = np.zeros(5000)
    x[4000] = np.nan
    _wav(tmp_path / "nan.wav", x)
    (tmp_path / "text.csv").write_text("1.0\n2.0\nabc\n")
    (tmp_path / "bad.toml").write_text("[features]\nframe_length = 1000\n")
    proc = subprocess.run(
        VIBSENTRY + [a.format(d=tmp_path) for a in args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == code
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.npz").exists()
    assert not list(tmp_path.glob(".o.npz.*"))  # no temp file left behind


def test_version_and_help_teach() -> None:
    out = subprocess.run([*VIBSENTRY, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("vibsentry ")
    helptext = subprocess.run(
        [*VIBSENTRY, "features", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "examples:" in helptext and "feature_hash" in helptext
