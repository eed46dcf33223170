"""Reading recordings (WAV, CSV, NPY) into float32 sample arrays, and resampling.

Training loaders (``vibsentry.training``) add the MATLAB and FEMTO layouts on top of these. Integer PCM WAV is
scaled to [-1, 1) full scale and then multiplied by ``scale`` (sensor units per full scale, default 1);
float WAV, CSV and NPY samples are taken as they are, in the unit the FeatureParams declares.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vibsentry.errors import FileFormatError, SignalError

SUFFIXES = (".wav", ".csv", ".npy")


@dataclass(frozen=True)
class Recording:
    """Samples of one recording.

    Attributes
    ----------
    data : ndarray of float32, shape (n_samples, n_channels)
    sample_rate : float or None
        Hz; None when the file carries no rate (CSV, NPY) and none was given.
    path : str
    channel_names : tuple of str
        CSV header names, or ``("0", "1", ...)``.
    """

    data: npt.NDArray[np.float32]
    sample_rate: float | None
    path: str
    channel_names: tuple[str, ...]

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.data.shape[0])

    @property
    def duration_s(self) -> float | None:
        """Length in seconds (None without a sample rate)."""
        return None if not self.sample_rate else self.n_samples / self.sample_rate

    def channel(self, which: int | str | None = None) -> npt.NDArray[np.float32]:
        """One channel as a 1-D float32 array.

        ``which`` is an index, a CSV column name, or None for the only channel (an error when there are
        several, so a multi-axis file is never silently reduced to its first axis).
        """
        nch = self.data.shape[1]
        if which is None:
            if nch != 1:
                raise FileFormatError(self.path, f"has {nch} channels {list(self.channel_names)}; choose one")
            return self.data[:, 0]
        if isinstance(which, str) and which not in self.channel_names:
            if re.fullmatch(r"-?\d+", which):
                which = int(which)
            else:
                raise FileFormatError(
                    self.path, f"no channel {which!r}; channels are {list(self.channel_names)}"
                )
        idx = self.channel_names.index(which) if isinstance(which, str) else int(which)
        if not -nch <= idx < nch:
            raise FileFormatError(self.path, f"channel index {idx} out of range (file has {nch} channels)")
        return np.ascontiguousarray(self.data[:, idx])


def _check_rate(rate: float | None, path: str) -> None:
    if rate is not None and (not math.isfinite(rate) or rate <= 0):
        raise FileFormatError(path, f"sample rate {rate!r} is not a positive number of Hz")


def _pcm_to_float(a: npt.NDArray, path: str, scale: float) -> npt.NDArray[np.float32]:
    if a.dtype == np.uint8:
        f = (a.astype(np.float32) - 128.0) / 128.0
    elif a.dtype.kind == "i":
        f = a.astype(np.float32) / float(2 ** (8 * a.dtype.itemsize - 1))
    elif a.dtype.kind == "f":
        f = a.astype(np.float32, copy=False)
        return f if scale == 1.0 else f * np.float32(scale)
    else:
        raise FileFormatError(path, f"unsupported WAV sample type {a.dtype}")
    return f * np.float32(scale)


def _wav_reason(exc: BaseException) -> str:
    """What scipy's WAV parser meant by ``exc``, in words."""
    import struct

    if isinstance(exc, struct.error):
        return f"header cut short: {exc}"
    if isinstance(exc, ZeroDivisionError):
        return "the header declares 0 channels or 0 bytes per sample"
    return f"{type(exc).__name__}: {exc}"


def read_wav(path: str | os.PathLike[str], *, scale: float = 1.0) -> Recording:
    """Read a WAV file of any PCM (8/16/24/32-bit) or float (32/64-bit) type and channel count."""
    import scipy.io.wavfile

    p = os.fspath(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rate, a = scipy.io.wavfile.read(p)
    except FileNotFoundError:
        raise FileFormatError(p, "file not found") from None
    except Exception as exc:  # scipy's parser raises several types (even UnboundLocalError) on bad files
        raise FileFormatError(p, f"not a readable WAV file ({_wav_reason(exc)})") from None
    # scipy only *warns* when the data chunk is shorter than its header says: an error here. Warnings about
    # extra chunks (fact, PEAK, LIST) are harmless.
    for w in caught:
        if "EOF" in str(w.message) or "prematurely" in str(w.message):
            raise FileFormatError(p, f"not a readable WAV file (truncated: {w.message})")
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[0] == 0:
        raise FileFormatError(p, "WAV file holds no samples")
    _check_rate(float(rate), p)
    data = _pcm_to_float(a, p, scale)
    return Recording(data, float(rate), p, tuple(str(i) for i in range(a.shape[1])))


_SPLIT = re.compile(r"[,;\t ]+")


def read_csv(path: str | os.PathLike[str], *, sample_rate: float | None = None) -> Recording:
    """Read numeric columns from a CSV file (``,``, ``;``, tab or space separated; optional header row).

    Text anywhere but the header raises :class:`FileFormatError` with the line and column.
    """
    p = os.fspath(path)
    try:
        text = Path(p).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileFormatError(p, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(p, f"cannot read as UTF-8 text ({exc})") from None
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise FileFormatError(p, "CSV file is empty")
    head = [t for t in _SPLIT.split(lines[first].strip()) if t]
    try:
        [float(t) for t in head]
        names: tuple[str, ...] = tuple(str(i) for i in range(len(head)))
        start = first
    except ValueError:
        names = tuple(head)
        start = first + 1
    ncol = len(names)
    rows: list[list[float]] = []
    for i in range(start, len(lines)):
        s = lines[i].strip()
        if not s:
            continue
        toks = [t for t in _SPLIT.split(s) if t]
        if len(toks) != ncol:
            raise FileFormatError(p, f"{len(toks)} columns where the file has {ncol}", line=i + 1)
        try:
            rows.append([float(t) for t in toks])
        except ValueError:
            bad = next(j for j, t in enumerate(toks) if not _is_float(t))
            raise FileFormatError(p, f"column {bad + 1}: {toks[bad]!r} is not a number", line=i + 1) from None
    if not rows:
        raise FileFormatError(p, "CSV file has a header but no data rows")
    _check_rate(sample_rate, p)
    return Recording(np.asarray(rows, dtype=np.float32), sample_rate, p, names)


def _is_float(t: str) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False


def read_npy(path: str | os.PathLike[str], *, sample_rate: float | None = None) -> Recording:
    """Read a 1-D (samples) or 2-D (samples, channels) real numeric ``.npy`` array."""
    p = os.fspath(path)
    try:
        a = np.load(p, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise FileFormatError(p, "file not found") from None
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError, UnpicklingError... on bad files
        raise FileFormatError(p, f"not a readable .npy file ({exc})") from None
    if a.dtype.kind not in "iuf":
        raise FileFormatError(p, f"array dtype {a.dtype} is not a real number type")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] == 0:
        raise FileFormatError(p, f"array shape {a.shape} is not (n_samples,) or (n_samples, n_channels)")
    _check_rate(sample_rate, p)
    return Recording(
        np.asarray(a, dtype=np.float32), sample_rate, p, tuple(str(i) for i in range(a.shape[1]))
    )


def read_recording(
    path: str | os.PathLike[str], *, sample_rate: float | None = None, scale: float = 1.0
) -> Recording:
    """Read a WAV, CSV or NPY recording (chosen by suffix).

    Parameters
    ----------
    path : path-like
    sample_rate : float, optional
        Rate in Hz for formats without one (CSV, NPY); for WAV it must agree with the file if given.
    scale : float
        Sensor units per full scale for integer PCM WAV.
    """
    p = os.fspath(path)
    suffix = Path(p).suffix.lower()
    if suffix == ".wav":
        rec = read_wav(p, scale=scale)
        if sample_rate is not None and not math.isclose(sample_rate, rec.sample_rate or 0.0):
            raise FileFormatError(p, f"file says {rec.sample_rate:g} Hz but {sample_rate:g} Hz was given")
        return rec
    if suffix == ".csv":
        return read_csv(p, sample_rate=sample_rate)
    if suffix == ".npy":
        return read_npy(p, sample_rate=sample_rate)
    raise FileFormatError(p, f"unsupported file type {suffix or '(none)'!r}; use one of {list(SUFFIXES)}")


def wav_info(path: str | os.PathLike[str]) -> tuple[float, int, int]:
    """``(sample_rate, n_samples, n_channels)`` of a WAV file without reading its samples where possible."""
    import scipy.io.wavfile

    p = os.fspath(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # extra chunks; a truncated file fails later, in the block reader
            rate, a = scipy.io.wavfile.read(p, mmap=True)
    except FileNotFoundError:
        raise FileFormatError(p, "file not found") from None
    except ValueError:  # 24-bit and some float layouts cannot be memory-mapped: read them whole
        rec = read_wav(p)
        assert rec.sample_rate is not None
        return rec.sample_rate, rec.n_samples, rec.data.shape[1]
    except Exception as exc:  # as in read_wav: a header cut inside 'fmt ' gives struct.error, 0 channels
        # ZeroDivisionError, ... from scipy's parser
        raise FileFormatError(p, f"not a readable WAV file ({_wav_reason(exc)})") from None
    _check_rate(float(rate), p)
    if a.shape[0] == 0:
        raise FileFormatError(p, "WAV file holds no samples")
    return float(rate), int(a.shape[0]), 1 if a.ndim == 1 else int(a.shape[1])


def iter_wav_blocks(
    path: str | os.PathLike[str], *, block_samples: int, channel: int = 0, scale: float = 1.0
) -> Iterator[npt.NDArray[np.float32]]:
    """Yield one channel of a WAV file in blocks without loading it whole (memory-mapped where possible)."""
    import scipy.io.wavfile

    p = os.fspath(path)
    try:
        _, a = scipy.io.wavfile.read(p, mmap=True)
    except ValueError:  # 24-bit and some float layouts cannot be memory-mapped
        yield from _iter_array(read_wav(p, scale=scale).channel(channel), block_samples)
        return
    except Exception as exc:  # scipy's parser raises several types on bad files (see wav_info)
        raise FileFormatError(p, f"not a readable WAV file ({_wav_reason(exc)})") from None
    if a.ndim == 1:
        a = a[:, None]
    if not -a.shape[1] <= channel < a.shape[1]:
        raise FileFormatError(p, f"channel index {channel} out of range (file has {a.shape[1]} channels)")
    for i in range(0, a.shape[0], block_samples):
        yield _pcm_to_float(np.array(a[i : i + block_samples, channel]), p, scale)


def _iter_array(x: npt.NDArray[np.float32], block: int) -> Iterator[npt.NDArray[np.float32]]:
    for i in range(0, x.shape[0], block):
        yield x[i : i + block]


def resample(signal: npt.ArrayLike, *, orig_sr: float, target_sr: float) -> npt.NDArray[np.float32]:
    """Resample with a polyphase anti-aliasing FIR (``scipy.signal.resample_poly``, Kaiser window).

    Parameters
    ----------
    signal : array_like, shape (n_samples,)
    orig_sr, target_sr : float
        Hz. Their ratio is approximated by a fraction with denominator <= 1000 (exact for 48k -> 12k etc.).

    Returns
    -------
    ndarray of float32, shape (about n_samples * target_sr / orig_sr,)
    """
    import scipy.signal

    for name, v in (("orig_sr", orig_sr), ("target_sr", target_sr)):
        if not math.isfinite(v) or v <= 0:
            raise SignalError(f"{name}={v!r}: sample rate must be a positive number of Hz")
    x = np.asarray(signal, dtype=np.float64)
    if orig_sr == target_sr:
        return x.astype(np.float32)
    frac = Fraction(target_sr / orig_sr).limit_denominator(1000)
    y = scipy.signal.resample_poly(x, frac.numerator, frac.denominator)
    return y.astype(np.float32)
