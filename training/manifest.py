"""Dataset manifests and recording loaders (format: ``docs/datasets.md``).

A manifest is a CSV whose rows name recordings (WAV, CSV, NPY, CWRU/MFPT ``.mat``, FEMTO CSV snapshots) with a
label and optional channel, rate, group, split and slice. :func:`read_manifest` validates it and
:func:`load_signal` returns one row's samples as float32 at the feature sample rate.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.errors import DatasetError, FileFormatError
from vibsentry.fileio import write_atomic

COLUMNS: tuple[str, ...] = (
    "path",
    "label",
    "fs",
    "channel",
    "group",
    "split",
    "rpm",
    "load",
    "start_s",
    "end_s",
)
#: The header line of a manifest CSV.
MANIFEST_HEADER = ",".join(COLUMNS)
SPLITS: tuple[str, ...] = ("train", "val", "test")
NORMAL = "normal"
_LABEL_RE = re.compile(r"^[A-Za-z0-9_.@-]+$")
FEMTO_RATE = 25600.0
_FEMTO_SHAPE = (2560, 6)


@dataclass(frozen=True)
class ManifestRow:
    """One manifest row, validated.

    Attributes
    ----------
    path : str
        The path as written in the manifest (used in fingerprints and reports).
    file : pathlib.Path
        Resolved file location.
    label : str
        ``"normal"`` or a fault class name.
    fs : float or None
        Sample rate override in Hz.
    channel : str
        Channel selector as written (empty = default).
    group : str
        Splitting group (defaults to ``path``).
    split : str
        ``"train"``, ``"val"``, ``"test"`` or ``""`` (assigned automatically).
    rpm : float or None
        Shaft speed, rev/min.
    load : str
        Load as written.
    start_s, end_s : float or None
        Slice in seconds.
    line : int
        1-based line of the row in the manifest file.
    manifest : str
        Manifest file the row came from.
    """

    path: str
    file: Path
    label: str
    fs: float | None
    channel: str
    group: str
    split: str
    rpm: float | None
    load: str
    start_s: float | None
    end_s: float | None
    line: int
    manifest: str

    @property
    def where(self) -> str:
        """``manifest:line`` for error messages."""
        return f"{self.manifest}:{self.line}"

    def to_csv_dict(self, *, absolute: bool = False) -> dict[str, str]:
        """The row as manifest CSV fields (``absolute`` writes the resolved path)."""

        def num(v: float | None) -> str:
            return "" if v is None else repr(float(v))

        return {
            "path": str(self.file) if absolute else self.path,
            "label": self.label,
            "fs": num(self.fs),
            "channel": self.channel,
            "group": self.group,
            "split": self.split,
            "rpm": num(self.rpm),
            "load": self.load,
            "start_s": num(self.start_s),
            "end_s": num(self.end_s),
        }


def _num(text: str, name: str, where: str, *, positive: bool = False) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        raise DatasetError(f"{where}: {name}={text!r} is not a number") from None
    if not math.isfinite(v) or (positive and v <= 0) or v < 0:
        raise DatasetError(
            f"{where}: {name}={text!r} must be a {'positive' if positive else 'non-negative'} number"
        )
    return v


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestRow]:
    """Read and validate a manifest CSV.

    Parameters
    ----------
    path : path-like
        The manifest file; relative recording paths are resolved against its folder.

    Returns
    -------
    rows : list of ManifestRow
        In file order. Existence of the recordings is checked here; their contents are read later.

    Raises
    ------
    DatasetError
        Missing columns, unknown columns, bad values, missing files, duplicate paths with overlapping slices.
    """
    mpath = Path(path)
    where0 = os.fspath(mpath)
    try:
        text = mpath.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{where0}: manifest file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{where0}: cannot read manifest ({exc})") from None
    lines = [
        (i + 1, ln)
        for i, ln in enumerate(text.splitlines())
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise DatasetError(f"{where0}: manifest is empty (need a header row with 'path,label,...')")
    reader = csv.reader(io.StringIO("\n".join(ln for _, ln in lines)))
    records = list(reader)
    header = [h.strip().lower() for h in records[0]]
    hline = lines[0][0]
    for h in header:
        if h not in COLUMNS:
            raise DatasetError(f"{where0}:{hline}: unknown column {h!r}; known columns: {list(COLUMNS)}")
    for req in ("path", "label"):
        if req not in header:
            raise DatasetError(f"{where0}:{hline}: required column {req!r} missing (header: {header})")
    if len(set(header)) != len(header):
        raise DatasetError(f"{where0}:{hline}: duplicate column names in header {header}")
    base = mpath.parent
    rows: list[ManifestRow] = []
    for (lineno, _), rec in zip(lines[1:], records[1:], strict=False):
        where = f"{where0}:{lineno}"
        if len(rec) != len(header):
            raise DatasetError(f"{where}: {len(rec)} fields, header has {len(header)}")
        f = {h: v.strip() for h, v in zip(header, rec, strict=True)}
        p = f["path"]
        if not p:
            raise DatasetError(f"{where}: empty path")
        label = f["label"]
        if not _LABEL_RE.match(label):
            raise DatasetError(f"{where}: label {label!r} must match [A-Za-z0-9_.@-]+")
        split = f.get("split", "").lower()
        if split and split not in SPLITS:
            raise DatasetError(f"{where}: split {split!r} must be one of {list(SPLITS)} or empty")
        start = _num(f.get("start_s", ""), "start_s", where)
        end = _num(f.get("end_s", ""), "end_s", where)
        if start is not None and end is not None and end <= start:
            raise DatasetError(f"{where}: end_s={end!r} must be greater than start_s={start!r}")
        file = Path(p) if os.path.isabs(p) else base / p
        if not file.is_file():
            raise DatasetError(f"{where}: recording {p!r} not found (looked at {file})")
        rows.append(
            ManifestRow(
                path=p,
                file=file,
                label=label,
                fs=_num(f.get("fs", ""), "fs", where, positive=True),
                channel=f.get("channel", ""),
                group=f.get("group", "") or p,
                split=split,
                rpm=_num(f.get("rpm", ""), "rpm", where),
                load=f.get("load", ""),
                start_s=start,
                end_s=end,
                line=lineno,
                manifest=where0,
            )
        )
    if not rows:
        raise DatasetError(f"{where0}: manifest has a header but no recordings")
    check_duplicates(rows)
    return rows


def check_duplicates(rows: Sequence[ManifestRow]) -> None:
    """Refuse the same file twice unless every use is a non-overlapping slice."""
    by_file: dict[str, list[ManifestRow]] = {}
    for r in rows:
        by_file.setdefault(os.path.realpath(r.file), []).append(r)
    for same in by_file.values():
        if len(same) < 2:
            continue
        spans = sorted(
            ((r.start_s or 0.0, math.inf if r.end_s is None else r.end_s, r) for r in same),
            key=lambda t: t[0],
        )
        for (_, e0, r0), (s1, _, r1) in itertools.pairwise(spans):
            if s1 < e0:
                raise DatasetError(
                    f"{r1.where}: duplicate path {r1.path!r} (also at line {r0.line}) with overlapping slices; "
                    "a recording may appear twice only as non-overlapping start_s/end_s slices"
                )


# -- loaders ------------------------------------------------------------------------------------------------
def _pick_column(data: np.ndarray, channel: str, names: Sequence[str] | None, row: ManifestRow) -> np.ndarray:
    if data.ndim == 1:
        if channel not in ("", "0"):
            raise DatasetError(f"{row.where}: unknown channel {channel!r} in {row.path!r} (it has 1 channel)")
        return data
    n = data.shape[1]
    if channel == "":
        return data[:, 0]
    if names is not None and channel in names:
        return data[:, list(names).index(channel)]
    if channel.lstrip("-").isdigit() and 0 <= int(channel) < n:
        return data[:, int(channel)]
    avail = list(names) if names is not None else list(range(n))
    raise DatasetError(f"{row.where}: unknown channel {channel!r} in {row.path!r}; available: {avail}")


def _load_wav(row: ManifestRow) -> tuple[np.ndarray, float | None]:
    from scipy.io import wavfile

    try:
        with warnings.catch_warnings():
            # scipy only warns on a truncated file and returns what it read; a cut recording is an error.
            warnings.simplefilter("error", wavfile.WavFileWarning)
            fs, data = wavfile.read(row.file)
    except PermissionError:
        raise
    except (
        Exception
    ) as exc:  # the parser raises many types (struct.error, ZeroDivisionError, ...) on bad bytes
        raise FileFormatError(row.file, f"unreadable WAV ({exc}) [manifest {row.where}]") from None
    if data.dtype.kind == "u":  # 8-bit PCM is unsigned, centred on 128
        x = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind == "i":
        x = data.astype(np.float32) / float(-np.iinfo(data.dtype).min)
    else:
        x = data.astype(np.float32)
    return _pick_column(x, row.channel, None, row), float(fs)


def _load_npy(row: ManifestRow) -> tuple[np.ndarray, float | None]:
    try:
        data = np.load(row.file, allow_pickle=False)
    except PermissionError:
        raise
    except Exception as exc:  # bad headers raise SyntaxError/TokenError as well as ValueError
        raise FileFormatError(row.file, f"unreadable NPY ({exc}) [manifest {row.where}]") from None
    if data.ndim not in (1, 2) or data.dtype.kind not in "iuf":
        raise FileFormatError(
            row.file,
            f"NPY must be a 1-D or 2-D numeric array, got {data.dtype} {data.shape} [manifest {row.where}]",
        )
    with np.errstate(over="ignore"):  # values beyond float32 become inf, reported by the NaN/inf check
        x = np.asarray(data, dtype=np.float32)
    return _pick_column(x, row.channel, None, row), None


def _load_csv(row: ManifestRow) -> tuple[np.ndarray, float | None]:
    try:
        text = row.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(row.file, f"unreadable CSV ({exc}) [manifest {row.where}]") from None
    lines = text.splitlines()
    if not lines:
        raise FileFormatError(row.file, f"empty CSV [manifest {row.where}]")
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    first = [c.strip() for c in lines[0].split(delim)]
    names: list[str] | None = None
    try:
        [float(c) for c in first]
        start = 0
    except ValueError:
        names, start = first, 1
    ncol = len(first)
    out = np.empty((len(lines) - start, ncol), dtype=np.float64)
    k = 0
    for i in range(start, len(lines)):
        ln = lines[i]
        if not ln.strip():
            continue
        parts = ln.split(delim)
        if len(parts) != ncol:
            raise FileFormatError(row.file, f"{len(parts)} columns, expected {ncol}", line=i + 1)
        try:
            out[k] = [float(p) for p in parts]
        except ValueError:
            raise FileFormatError(row.file, f"not a number in {ln.strip()[:60]!r}", line=i + 1) from None
        k += 1
    data = out[:k]
    if names is None and data.shape == _FEMTO_SHAPE:
        ch = row.channel.lower()
        col = {"": 4, "horizontal": 4, "horiz": 4, "0": 4, "vertical": 5, "vert": 5, "1": 5}.get(ch)
        if col is None:
            raise DatasetError(
                f"{row.where}: unknown channel {row.channel!r} for FEMTO file {row.path!r}; "
                "use horizontal or vertical"
            )
        return data[:, col].astype(np.float32), FEMTO_RATE
    return _pick_column(data.astype(np.float32), row.channel, names, row), None


def _loadmat_isolated(path: Path) -> dict[str, Any]:
    """``scipy.io.loadmat`` in a forked child, so a file that crashes its C reader costs one clear error.

    Fuzzing found 712-byte files that make scipy's MAT v5 reader (``_mio5_utils``) die with SIGSEGV: in this
    process that would kill ``train`` (or the gateway, the dashboard) without a word. The child sends the
    variables back pickled; an exception in it is re-raised here, a signal becomes a :class:`FileFormatError`.
    """
    import pickle

    if not hasattr(os, "fork"):  # pragma: no cover (Windows): no isolation, as before
        from scipy.io import loadmat as load

        return load(path, squeeze_me=False, struct_as_record=False)  # type: ignore[no-any-return]
    from scipy.io import loadmat  # imported here, once, so each child does not import it again

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 0
        try:
            import signal

            for sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT):
                signal.signal(
                    sig, signal.SIG_DFL
                )  # die of it (the parent reports it), whatever handler was set
            os.close(r)
            try:
                out: tuple[str, Any] = ("ok", loadmat(path, squeeze_me=False, struct_as_record=False))
            except BaseException as exc:
                out = ("error", exc if isinstance(exc, (OSError, ValueError)) else ValueError(f"{exc}"))
            with os.fdopen(w, "wb") as fh:
                pickle.dump(out, fh)
        except BaseException:
            code = 1
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        payload = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status) or not payload:
        how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        raise FileFormatError(
            path, f"the MATLAB reader (scipy loadmat) crashed on this file ({how}); it is malformed"
        )
    kind, value = pickle.loads(payload)  # our own child's bytes
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def _load_mat(row: ManifestRow) -> tuple[np.ndarray, float | None]:
    try:
        mat = _loadmat_isolated(row.file)
    except FileFormatError as exc:
        raise FileFormatError(row.file, f"{exc.reason} [manifest {row.where}]") from None
    except PermissionError:
        raise
    except (
        Exception
    ) as exc:  # truncated or corrupted files raise MatReadError, IndexError, UnboundLocalError...
        raise FileFormatError(row.file, f"unreadable MATLAB file ({exc}) [manifest {row.where}]") from None
    keys = [k for k in mat if not k.startswith("__")]
    if "bearing" in mat:  # MFPT layout: struct bearing with gs (signal) and sr (rate)
        b = mat["bearing"]
        try:
            s = b[0, 0]
            x = np.asarray(s.gs, dtype=np.float32).ravel()
            sr = float(np.asarray(s.sr).ravel()[0])
        except (AttributeError, IndexError, ValueError, TypeError):
            raise FileFormatError(
                row.file, f"MFPT struct 'bearing' lacks gs/sr [manifest {row.where}]"
            ) from None
        return x, sr
    suffix = row.channel or "DE_time"
    hits = [k for k in keys if k.endswith("_" + suffix) or k == suffix]
    if not hits:
        raise DatasetError(f"{row.where}: unknown channel {suffix!r} in {row.path!r}; keys: {sorted(keys)}")
    if len(hits) > 1:
        raise DatasetError(
            f"{row.where}: channel {suffix!r} is ambiguous in {row.path!r}: keys {sorted(hits)} all match"
        )
    arr = np.asarray(mat[hits[0]])
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        raise FileFormatError(
            row.file, f"variable {hits[0]!r} is not a numeric signal [manifest {row.where}]"
        )
    return arr.astype(np.float32).ravel(), None


_LOADERS = {".wav": _load_wav, ".npy": _load_npy, ".csv": _load_csv, ".mat": _load_mat}

#: File extensions :func:`load_signal` reads (lower case, with the dot).
SUPPORTED_EXTENSIONS: tuple[str, ...] = tuple(sorted(_LOADERS))


def file_sample_rate(row: ManifestRow) -> float | None:
    """The sample rate in Hz the file itself declares (WAV header, ...), or None when it carries none."""
    loader = _LOADERS.get(row.file.suffix.lower())
    if loader is None:
        raise DatasetError(
            f"{row.where}: unsupported file type {row.file.suffix!r}; use {list(SUPPORTED_EXTENSIONS)}"
        )
    return loader(row)[1]


def resample(x: np.ndarray, *, orig_sr: float, target_sr: float) -> np.ndarray:
    """Resample with a polyphase anti-aliasing FIR.

    Parameters
    ----------
    x : ndarray, shape (n_samples,)
    orig_sr, target_sr : float
        Rates in Hz.

    Returns
    -------
    y : ndarray, float32, shape (about n_samples * target_sr / orig_sr,)
    """
    if orig_sr == target_sr:
        return np.asarray(x, dtype=np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(target_sr / orig_sr).limit_denominator(1000)
    y = resample_poly(
        np.asarray(x, dtype=np.float64), ratio.numerator, ratio.denominator, window=("kaiser", 8.0)
    )
    return y.astype(np.float32)


def load_signal(row: ManifestRow, *, target_sr: float, allow_resample: bool = True) -> np.ndarray:
    """Load one row's samples: channel, slice, resampled to ``target_sr``.

    Parameters
    ----------
    row : ManifestRow
    target_sr : float
        Feature sample rate in Hz.
    allow_resample : bool
        When False a differing rate is an error.

    Returns
    -------
    x : ndarray, float32, shape (n_samples,)

    Raises
    ------
    DatasetError, FileFormatError
        Unknown format or channel, missing rate, NaN/inf, empty slice, differing rate with resampling off.
    """
    ext = row.file.suffix.lower()
    loader = _LOADERS.get(ext)
    if loader is None:
        raise DatasetError(
            f"{row.where}: unsupported file type {ext!r} for {row.path!r}; use {sorted(_LOADERS)}"
        )
    try:
        x, file_fs = loader(row)
    except PermissionError as exc:
        raise DatasetError(f"{row.where}: cannot read {row.path!r} ({exc.strerror})") from None
    fs = row.fs if row.fs is not None else file_fs
    if fs is None:
        raise DatasetError(f"{row.where}: {row.path!r} carries no sample rate; put it in the fs column")
    if x.size and not np.all(np.isfinite(x)):
        bad = int(np.flatnonzero(~np.isfinite(x))[0])
        raise DatasetError(f"{row.where}: {row.path!r} has NaN/inf at sample {bad} ({bad / fs:.4f} s)")
    n = x.shape[0]
    i0 = 0 if row.start_s is None else round(row.start_s * fs)
    i1 = n if row.end_s is None else min(n, round(row.end_s * fs))
    if i0 >= n or i1 <= i0:
        raise DatasetError(
            f"{row.where}: slice start_s={row.start_s!r} end_s={row.end_s!r} is empty for {row.path!r} "
            f"({n / fs:.3f} s long)"
        )
    x = x[i0:i1]
    if fs != target_sr:
        if not allow_resample:
            raise DatasetError(
                f"{row.where}: {row.path!r} is sampled at {fs:g} Hz but the features need {target_sr:g} Hz "
                "and resampling is disabled ([train] resample = false)"
            )
        x = resample(x, orig_sr=fs, target_sr=target_sr)
    return np.ascontiguousarray(x, dtype=np.float32)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fingerprint(rows: Sequence[ManifestRow]) -> str:
    """Training-data fingerprint (``docs/datasets.md``): SHA-256 over sorted (path, file sha, label, slice)."""

    def num(v: float | None) -> str:
        return "" if v is None else repr(float(v))

    lines = sorted(
        f"{r.path}\t{file_sha256(r.file)}\t{r.label}\t{num(r.start_s)}\t{num(r.end_s)}\n" for r in rows
    )
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def manifest_line(row: ManifestRow, *, absolute: bool = False) -> str:
    """One row as a manifest CSV line, without the line end (``absolute`` writes the resolved path)."""
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n").writerow(
        row.to_csv_dict(absolute=absolute)
    )
    return buf.getvalue()[:-1]


def manifest_text(rows: Sequence[ManifestRow], *, absolute: bool = True) -> str:
    """A whole manifest CSV: :data:`MANIFEST_HEADER`, then one :func:`manifest_line` per row."""
    return "".join(
        f"{line}\n" for line in [MANIFEST_HEADER, *(manifest_line(r, absolute=absolute) for r in rows)]
    )


def write_manifest(
    rows: Sequence[ManifestRow], path: str | os.PathLike[str], *, absolute: bool = True
) -> None:
    """Write rows as a manifest CSV, atomically (absolute paths by default, so the copy works from anywhere)."""
    write_atomic(path, manifest_text(rows, absolute=absolute))
