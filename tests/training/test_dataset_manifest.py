"""Manifest parsing, recording loaders (WAV/CSV/NPY/CWRU .mat/MFPT .mat/FEMTO), resampling, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io as sio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import wavfile

from tests.support import training as T
from vibsentry.errors import DatasetError, FileFormatError, VibsentryError
from vibsentry.training.manifest import fingerprint, load_signal, read_manifest, resample


def _manifest(tmp: Path, body: str, header: str = "path,label,fs,channel") -> Path:
    m = tmp / "m.csv"
    m.write_text(header + "\n" + body)
    return m


def _one(tmp: Path, body: str, header: str = "path,label,fs,channel", sr: float = 12000.0) -> np.ndarray:
    rows = read_manifest(_manifest(tmp, body, header))
    return load_signal(rows[0], target_sr=sr)


def test_wav_int16_scaled_and_channel_picked(tmp_path: Path) -> None:
    x = np.stack([np.full(100, 16384, np.int16), np.full(100, -8192, np.int16)], axis=1)
    wavfile.write(tmp_path / "a.wav", 12000, x)
    assert np.allclose(_one(tmp_path, "a.wav,normal,,"), 0.5)
    assert np.allclose(_one(tmp_path, "a.wav,normal,,1"), -0.25)


def test_npy_needs_fs_and_csv_header_names(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.arange(50, dtype=np.float32))
    with pytest.raises(DatasetError, match=r"m\.csv:2: .*no sample rate"):
        _one(tmp_path, "a.npy,normal,,")
    assert _one(tmp_path, "a.npy,normal,12000,")[7] == 7.0
    (tmp_path / "c.csv").write_text("x;z\n1;10\n2;20\n3;30\n")
    assert _one(tmp_path, "c.csv,normal,12000,z").tolist() == [10.0, 20.0, 30.0]


def test_cwru_mat_key_chosen_by_suffix_not_file_number(tmp_path: Path) -> None:
    # Like CWRU's 48k_Drive_End_IR014_0_174.mat, whose variables are numbered 173.
    sio.savemat(
        tmp_path / "IR014_0_174.mat",
        {"X173_DE_time": np.arange(20.0)[:, None], "X173_FE_time": -np.ones((20, 1)), "X173RPM": 1796},
    )
    assert _one(tmp_path, "IR014_0_174.mat,inner_race,12000,")[:3].tolist() == [0.0, 1.0, 2.0]
    assert _one(tmp_path, "IR014_0_174.mat,inner_race,12000,FE_time")[0] == -1.0
    with pytest.raises(DatasetError, match=r"m\.csv:2: unknown channel 'BA_time'.*X173_DE_time"):
        _one(tmp_path, "IR014_0_174.mat,inner_race,12000,BA_time")
    # Two records in one file (CWRU's 99.mat also holds X098): refuse instead of guessing.
    sio.savemat(tmp_path / "99.mat", {"X098_DE_time": np.zeros((5, 1)), "X099_DE_time": np.ones((5, 1))})
    with pytest.raises(DatasetError, match=r"ambiguous.*X098_DE_time.*X099_DE_time"):
        _one(tmp_path, "99.mat,normal,12000,")


def test_mfpt_struct_rate_from_file(tmp_path: Path) -> None:
    sio.savemat(tmp_path / "mfpt.mat", {"bearing": {"gs": np.arange(400.0), "sr": 24000.0, "rate": 25}})
    x = _one(tmp_path, "mfpt.mat,outer_race,,", sr=12000.0)
    assert x.shape == (200,)  # 24 kHz file resampled to 12 kHz


def test_femto_layout_detected(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    h, v = rng.standard_normal(2560), rng.standard_normal(2560)
    lines = [f"9,47,5,{i * 39},{h[i]:.4f},{v[i]:.4f}" for i in range(2560)]
    (tmp_path / "acc_00001.csv").write_text("\n".join(lines) + "\n")
    rows = read_manifest(_manifest(tmp_path, "acc_00001.csv,normal,,vertical"))
    x = load_signal(rows[0], target_sr=25600.0)
    assert np.allclose(x, v, atol=1e-4)
    assert load_signal(rows[0], target_sr=12800.0).shape == (1280,)


def test_resample_is_anti_aliased() -> None:
    fs = 48000
    t = np.arange(fs) / fs
    tone = np.sin(2 * np.pi * 1000 * t)
    alias = np.sin(2 * np.pi * 10000 * t)  # above the 6 kHz Nyquist of 12 kHz: must vanish, not fold to 2 kHz
    y = resample(tone + alias, orig_sr=fs, target_sr=12000)
    spec = np.abs(np.fft.rfft(y[2000:-2000] * np.hanning(y.size - 4000)))
    f = np.fft.rfftfreq(y.size - 4000, 1 / 12000)
    at = lambda hz: spec[np.argmin(np.abs(f - hz))]  # noqa: E731
    assert at(2000) < 1e-3 * at(1000)


def test_slice_and_fingerprint(tmp_path: Path) -> None:
    wavfile.write(tmp_path / "a.wav", 1000, np.arange(3000, dtype=np.float32))
    x = _one(tmp_path, "a.wav,normal,,,1.0,2.0", header="path,label,fs,channel,start_s,end_s", sr=1000.0)
    assert x[0] == 1000.0 and x.size == 1000
    m1 = read_manifest(_manifest(tmp_path, "a.wav,normal,,"))
    fp1 = fingerprint(m1)
    assert fp1 == fingerprint(read_manifest(_manifest(tmp_path, "a.wav,normal,,")))
    assert fp1 != fingerprint(read_manifest(_manifest(tmp_path, "a.wav,fault,,")))
    wavfile.write(tmp_path / "a.wav", 1000, np.arange(3000, dtype=np.float32) + 1)
    assert fp1 != fingerprint(m1)  # same path, changed bytes


@pytest.mark.parametrize(
    ("body", "header", "match"),
    [
        ("missing.wav,normal,,", None, r"m\.csv:2: recording 'missing.wav' not found"),
        (
            "a.wav,normal,,\nb.wav,normal,,\na.wav,fault,,",
            None,
            r"m\.csv:4: duplicate path 'a.wav' \(also at line 2\)",
        ),
        ("a.wav,normal,,", "path,lable,fs,channel", r"m\.csv:1: unknown column 'lable'"),
        ("a.wav,bad label!,,", None, r"m\.csv:2: label 'bad label!'"),
        ("a.wav,normal,-5,", None, r"m\.csv:2: fs='-5'"),
        ("a.wav,normal,,,validation", "path,label,fs,channel,split", r"split 'validation'"),
        ("a.wav,normal,,,3,1", "path,label,fs,channel,start_s,end_s", r"end_s=1.0 must be greater"),
    ],
)
def test_bad_manifest_lines_are_named(tmp_path: Path, body: str, header: str | None, match: str) -> None:
    for n in ("a.wav", "b.wav"):
        wavfile.write(tmp_path / n, 12000, np.zeros(2048, np.float32))
    with pytest.raises(DatasetError, match=match):
        read_manifest(_manifest(tmp_path, body, header or "path,label,fs,channel"))


def test_disjoint_slices_of_one_file_are_allowed(tmp_path: Path) -> None:
    wavfile.write(tmp_path / "run.wav", 12000, np.zeros(12000 * 10, np.float32))
    rows = read_manifest(
        _manifest(tmp_path, "run.wav,normal,,4\nrun.wav,outer_race,6,", header="path,label,start_s,end_s")
    )
    assert [r.label for r in rows] == ["normal", "outer_race"]


@pytest.mark.parametrize(
    ("make", "body", "match"),
    [
        ("nan", "a.wav,normal,,", r"m\.csv:2: 'a.wav' has NaN/inf at sample 5"),
        ("ok", "a.wav,normal,,3", r"m\.csv:2: unknown channel '3' in 'a.wav'"),
        ("garbage", "a.wav,normal,,", r"a\.wav: unreadable WAV .*manifest .*m\.csv:2"),
        ("ok", "a.wav,normal,,", r"sampled at 8000 Hz .*resampling is disabled"),
    ],
)
def test_bad_recordings(tmp_path: Path, make: str, body: str, match: str) -> None:
    x = np.zeros((4096, 2), np.float32)
    if make == "nan":
        x[5, 0] = np.nan
    if make == "garbage":
        (tmp_path / "a.wav").write_bytes(b"RIFF....not a wav")
    else:
        wavfile.write(tmp_path / "a.wav", 8000, x)
    rows = read_manifest(_manifest(tmp_path, body))
    with pytest.raises((DatasetError, FileFormatError), match=match):
        load_signal(rows[0], target_sr=12000.0, allow_resample="resampling" not in match)


def test_toy_dataset_reads(tmp_path: Path) -> None:
    rows = read_manifest(T.write_toy_dataset(tmp_path, n_normal=1, faults=("outer_race",), n_fault=1))
    assert [r.label for r in rows] == ["normal", "outer_race"]
    assert load_signal(rows[1], target_sr=12000.0).shape == (4 * 12000,)


def _valid_bytes(tmp: Path, ext: str) -> bytes:
    f = tmp / f"seed{ext}"
    x = T.toy_signal(0.05)
    if ext == ".wav":
        wavfile.write(f, T.FS, (x * 20000).astype(np.int16))
    elif ext == ".npy":
        np.save(f, x)
    elif ext == ".mat":
        sio.savemat(f, {"X001_DE_time": x[:, None], "X001RPM": 1797})
    else:
        f.write_text("\n".join(f"{v:.5f}" for v in x))
    return f.read_bytes()


@pytest.mark.parametrize("ext", [".wav", ".npy", ".mat", ".csv"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_recordings_give_one_clear_error(tmp_path: Path, ext: str, data: st.DataObject) -> None:
    """Truncated or bit-flipped files of every format: a VibsentryError naming the file, never a crash."""
    raw = bytearray(_valid_bytes(tmp_path, ext))
    for _ in range(data.draw(st.integers(0, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    (tmp_path / f"r{ext}").write_bytes(bytes(raw[:cut]))
    rows = read_manifest(_manifest(tmp_path, f"r{ext},normal,12000,"))
    try:
        x = load_signal(rows[0], target_sr=12000.0)
    except VibsentryError as exc:
        assert "\n" not in str(exc)
        return
    assert x.dtype == np.float32 and np.isfinite(x).all()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list('pathlbe,fs\n"#.wav0123-_ ;x')), max_size=120))
def test_any_manifest_text_parses_or_fails_cleanly(tmp_path: Path, text: str) -> None:
    wavfile.write(tmp_path / "a.wav", 12000, np.zeros(2048, np.float32))
    m = tmp_path / "fuzz.csv"
    m.write_text(text)
    try:
        rows = read_manifest(m)
    except DatasetError as exc:
        assert "fuzz.csv" in str(exc)
        return
    assert all(r.file.is_file() for r in rows)


def test_real_cwru_and_femto_files(datasets_dir: Path, tmp_path: Path) -> None:
    cwru, femto = datasets_dir / "cwru", datasets_dir / "femto_pronostia" / "Learning_set" / "Bearing1_2"
    body = f"{cwru / 'normal_0_97.mat'},normal,48000,\n{cwru / '12k_Drive_End_B007_0_118.mat'},B007,12000,FE_time\n"
    rows = read_manifest(_manifest(tmp_path, body))
    normal = load_signal(rows[0], target_sr=12000.0)
    assert abs(normal.size - 243938 / 4) <= 1  # 48 kHz record brought to 12 kHz
    ref = sio.loadmat(cwru / "12k_Drive_End_B007_0_118.mat")["X118_FE_time"].ravel()
    assert np.array_equal(load_signal(rows[1], target_sr=12000.0), ref.astype(np.float32))
    snap = sorted(femto.glob("acc_*.csv"))[0]
    rows = read_manifest(_manifest(tmp_path, f"{snap},normal,,horizontal\n"))
    assert load_signal(rows[0], target_sr=25600.0).shape == (2560,)
