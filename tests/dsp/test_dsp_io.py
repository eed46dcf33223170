"""Reading recordings: WAV of every PCM/float type and channel count, CSV, NPY; bad files get clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile

from vibsentry.dsp.io import read_recording, resample
from vibsentry.errors import FileFormatError, SignalError

sf = pytest.importorskip("soundfile", reason="soundfile writes the 24-bit WAV fixture")


@pytest.mark.parametrize(
    ("subtype", "tol"),
    [("PCM_U8", 1 / 100), ("PCM_16", 1e-4), ("PCM_24", 1e-6), ("PCM_32", 1e-6), ("FLOAT", 0), ("DOUBLE", 0)],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_wav_types_and_channels(tmp_path: Path, subtype: str, tol: float, channels: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(-0.9, 0.9, (4000, channels))
    path = tmp_path / f"x_{subtype}.wav"
    sf.write(path, x, 12000, subtype=subtype)
    rec = read_recording(path)
    assert rec.sample_rate == 12000.0
    assert rec.data.shape == (4000, channels) and rec.data.dtype == np.float32
    assert np.abs(rec.data - x).max() <= tol + 1e-7


def test_multichannel_needs_a_channel_choice(tmp_path: Path) -> None:
    path = tmp_path / "xyz.wav"
    scipy.io.wavfile.write(path, 12000, np.zeros((2000, 3), dtype=np.float32))
    rec = read_recording(path)
    with pytest.raises(FileFormatError, match="3 channels"):
        rec.channel()
    assert rec.channel(2).shape == (2000,)
    with pytest.raises(FileFormatError, match="channel index 5 out of range"):
        rec.channel(5)


def test_csv_with_header_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "acc.csv"
    path.write_text("x,y,z\n" + "\n".join(f"{i},{-i},{i * 0.5}" for i in range(100)) + "\n")
    rec = read_recording(path, sample_rate=1000.0)
    assert rec.channel_names == ("x", "y", "z")
    np.testing.assert_array_equal(rec.channel("z"), np.arange(100) * 0.5)
    with pytest.raises(FileFormatError, match="no channel 'w'"):
        rec.channel("w")


def test_csv_with_text_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,4\n5,oops\n")
    with pytest.raises(FileFormatError, match=r"bad\.csv:4: column 2: 'oops' is not a number"):
        read_recording(path, sample_rate=100.0)
    path.write_text("1,2\n3\n")
    with pytest.raises(FileFormatError, match=r"bad\.csv:2: 1 columns where the file has 2"):
        read_recording(path, sample_rate=100.0)
    path.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        read_recording(path, sample_rate=100.0)


def test_npy_shapes_and_dtypes(tmp_path: Path) -> None:
    good = tmp_path / "g.npy"
    np.save(good, np.arange(3000, dtype=np.int16))
    assert read_recording(good, sample_rate=500.0).data.shape == (3000, 1)
    bad = tmp_path / "b.npy"
    np.save(bad, np.zeros((2, 3, 4)))
    with pytest.raises(FileFormatError, match=r"shape \(2, 3, 4\)"):
        read_recording(bad, sample_rate=500.0)
    np.save(bad, np.array(["a", "b"]))
    with pytest.raises(FileFormatError, match="not a real number type"):
        read_recording(bad, sample_rate=500.0)


def test_truncated_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "t.wav"
    scipy.io.wavfile.write(path, 12000, np.zeros(10000, dtype=np.int16))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match=r"t\.wav: not a readable WAV"):
        read_recording(path)
    path.write_bytes(b"RIFF1234WAVEjunkjunk")
    with pytest.raises(FileFormatError, match=r"t\.wav"):
        read_recording(path)
    npy = tmp_path / "t.npy"
    np.save(npy, np.zeros(10000))
    npy.write_bytes(npy.read_bytes()[:500])
    with pytest.raises(FileFormatError, match=r"t\.npy"):
        read_recording(npy, sample_rate=100.0)
    with pytest.raises(FileFormatError, match=r"unsupported file type '\.flac'"):
        read_recording(tmp_path / "x.flac")
    with pytest.raises(FileFormatError, match="file not found"):
        read_recording(tmp_path / "missing.wav")


def test_resample_48k_to_12k_keeps_in_band_tones_and_removes_aliases() -> None:
    fs = 48000
    t = np.arange(fs) / fs
    x = np.sin(2 * np.pi * 1000 * t) + np.sin(2 * np.pi * 10000 * t)  # 10 kHz would alias to 2 kHz at 12 kHz
    y = resample(x, orig_sr=fs, target_sr=12000)
    assert y.shape == (12000,)
    spec = np.abs(np.fft.rfft(y[1000:-1000] * np.hanning(10000)))
    f = np.fft.rfftfreq(10000, 1 / 12000)
    assert spec[np.argmin(np.abs(f - 1000))] > 100 * spec[np.argmin(np.abs(f - 2000))]
    with pytest.raises(SignalError, match="orig_sr=0"):
        resample(x, orig_sr=0, target_sr=12000)
