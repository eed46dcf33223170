"""``vibsentry diagnose`` end to end on files the loaders read: text, --json, --plot, and its errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat, wavfile

from vibsentry import synth
from vibsentry.cli import main

FS = 12000


@pytest.fixture(scope="module")
def outer_signal() -> np.ndarray:
    return synth.machine_signal(duration_s=4.0, rpm=1750.0, fault="outer", seed=21)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["diagnose", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_wav_text_output_in_the_analysts_words(
    outer_signal: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "pump.wav"
    wavfile.write(p, FS, outer_signal)
    code, out, err = _run([str(p), "--rpm-range", "1500", "2000", "--all"], capsys)
    assert code == 0, err
    assert "shaft speed: 17" in out and "from the spectrum (1500-2000 rpm)" in out
    first = out.split("findings:\n")[1].splitlines()[0]
    assert first.startswith("  1. outer race defect: BPFO 10")
    assert re.search(
        r"BPFO 10\d\.\d Hz \(3\.5\d\d x 29\.[12] Hz\), \d harmonics, \d+ dB above floor", first
    ), first
    assert "candidates (all evaluated" in out


def test_csv_npy_and_mat_need_or_carry_a_rate(
    outer_signal: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "two.csv"
    np.savetxt(
        csv, np.stack([0.1 * outer_signal, outer_signal], axis=1), delimiter=",", header="x,z", comments=""
    )
    code, out, err = _run([str(csv), "--rpm", "1750"], capsys)
    assert code == 2 and "carries no sample rate; pass --fs" in err and err.count("\n") == 1
    code, out, err = _run([str(csv), "--rpm", "1750", "--fs", "12000", "--channel", "z", "--json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["findings"][0]["fault"] == "outer_race" and doc["channel"] == "z"
    npy = tmp_path / "x.npy"
    np.save(npy, outer_signal)
    code, out, _ = _run([str(npy), "--fs", "12000", "--rpm", "1750", "--json"], capsys)
    assert code == 0 and json.loads(out)["sample_rate"] == 12000.0
    # A CWRU-style .mat: the rate comes from the 12k_ name, the speed from the X###RPM variable.
    mat = tmp_path / "12k_Drive_End_OR007@6_2_999.mat"
    savemat(mat, {"X999_DE_time": outer_signal[:, None].astype(np.float64), "X999RPM": np.array([[1750]])})
    code, out, err = _run([str(mat)], capsys)
    assert code == 0, err
    assert "shaft speed: 1750.0 rpm (29.17 Hz), given (from the file)" in out
    assert "(DE_time), 12000 Hz" in out


def test_json_schema(outer_signal: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "m.npy"
    np.save(p, outer_signal)
    code, out, _ = _run([str(p), "--fs", "12000", "--rpm", "1750", "--bearing", "cwru-de", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert set(doc) >= {"recording", "channel", "findings", "candidates", "speed", "bearing", "envelope_band_hz",
                        "kurtogram_band_hz", "kurtogram_level", "sample_rate", "duration_s", "resolution_hz"}  # fmt: skip
    top = doc["findings"][0]
    assert set(top) == {"fault", "confidence", "summary", "reported", "evidence"}
    h = top["evidence"]["harmonics"][0]
    assert set(h) == {"n", "expected_hz", "freq_hz", "error_hz", "error_pct", "db", "found", "ambiguous_with"}
    assert doc["bearing"]["name"] == "SKF 6205-2RS JEM"
    assert len(doc["candidates"]) == 7


def test_plot_writes_a_png(
    outer_signal: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib (the train extra)")
    p = tmp_path / "m.npy"
    np.save(p, outer_signal)
    png = tmp_path / "plots" / "m.png"
    code, out, err = _run([str(p), "--fs", "12000", "--rpm", "1750", "--plot", str(png)], capsys)
    assert code == 0 and f"plot: {png}" in out, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20000
    assert [q.name for q in png.parent.iterdir()] == ["m.png"]  # no temporary file left behind


@pytest.mark.parametrize(("extra", "message"), [
    (["--bearing", "6206"], "--bearing: unknown bearing '6206'"),
    (["--geometry", "9,40,30,0"], "--geometry: geometry '9,40,30,0'"),
    (["--geometry", "nine"], "expected n,ball_mm,pitch_mm"),
    (["--rpm", "-3"], "rpm -3.0 is out of range"),
    (["--rpm-range", "2000", "1000"], "lower bound must be below"),
    (["--rpm", "1750", "--resolution", "0.01"], "recording too short"),
    (["--rpm", "1750", "--iso-group", "nope"], "unknown ISO 10816 machine group 'nope'"),
])  # fmt: skip
def test_bad_arguments_exit_2_with_one_line(
    extra: list[str],
    message: str,
    outer_signal: np.ndarray,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = tmp_path / "m.npy"
    np.save(p, outer_signal)
    code, out, err = _run([str(p), "--fs", "12000", *extra], capsys)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1, err


def test_speed_and_range_are_exclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["diagnose", str(tmp_path / "m.npy"), "--rpm", "1750", "--rpm-range", "1", "2"])
    assert info.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_missing_file_is_a_failure_not_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run([str(tmp_path / "nope.wav")], capsys)
    assert code == 1 and "file not found" in err


def test_help_teaches_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["diagnose", "--help"])
    out = capsys.readouterr().out
    assert "examples:" in out and "vibsentry diagnose" in out and "--geometry" in out and "BPFO" in out


def test_femto_snapshot_is_too_short_unless_a_coarse_resolution_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # FEMTO-ST layout: 2560 rows x 6 columns (h, m, s, us, horizontal g, vertical g), no header, 25.6 kHz.
    x = synth.machine_signal(duration_s=0.1, sample_rate=25600.0, rpm=1800.0, seed=4)
    rows = np.column_stack([np.zeros((2560, 4)), x, 0.5 * x])
    p = tmp_path / "acc_00001.csv"
    np.savetxt(p, rows, delimiter=",", fmt="%.6f")
    code, out, err = _run([str(p), "--rpm", "1800", "--bearing", "femto"], capsys)
    assert code == 2 and "recording too short: 2560 samples at 25600 Hz (0.1 s) give 10 Hz lines" in err
    code, out, err = _run(
        [str(p), "--rpm", "1800", "--bearing", "femto", "--resolution", "10", "--json"], capsys
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["sample_rate"] == 25600.0 and doc["resolution_hz"] == 10.0
    assert doc["bearing"]["name"] == "FEMTO-ST PRONOSTIA test bearing"
