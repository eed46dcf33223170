"""Export stored data for retraining: raw captures as WAV recordings plus training-manifest lines.

A maintenance engineer who saw a new fault picks the machine and the time window in the dashboard, labels it,
and gets files ``vibsentry train`` reads directly:

- ``<out_dir>/node<N>_cap<ID>_<label>.wav``: each raw capture in the window, float32 WAV in g at the capture's
  sample rate (channels interleaved as the node sent them);
- ``<out_dir>/manifest.csv``: one line per WAV in the ``docs/datasets.md`` format
  (``path,label,fs,channel,group,split,rpm,load,start_s,end_s``; ``group`` is ``node<N>`` so a later split
  never puts captures of one machine on both sides); an existing manifest is extended, not replaced;
- ``<out_dir>/node<N>_scores_<label>.csv``: the scores of the window, for reference (not a recording).

All or nothing: the whole export is staged and moved into place only once every capture has been read and
checked, the manifest last, so a failed export leaves nothing behind and a manifest line never lacks its WAV.
An existing ``manifest.csv`` of another format is never touched. The dashboard confines ``out_dir`` to its
configured export directory (:func:`confine`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vibsentry.errors import StoreError, UsageError
from vibsentry.training.manifest import MANIFEST_HEADER, ManifestRow, manifest_line

_LABEL = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass(frozen=True)
class RetrainExport:
    """What :func:`export` wrote."""

    out_dir: Path
    recordings: tuple[Path, ...]
    manifest: Path | None
    manifest_lines: tuple[str, ...]
    scores_csv: Path
    incomplete_captures: int
    refused: tuple[str, ...] = ()


def wav_bytes(samples: np.ndarray, sample_rate: float) -> bytes:
    """IEEE float32 WAV of ``samples`` (shape ``(n,)`` or ``(n, channels)``, in g) at ``sample_rate`` Hz."""
    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, round(sample_rate), np.ascontiguousarray(samples, dtype=np.float32))
    return buf.getvalue()


def confine(root: str | os.PathLike[str], folder: str | os.PathLike[str]) -> Path:
    """The export folder ``folder`` inside ``root``, refused when it would leave ``root``.

    ``folder`` is relative to ``root`` (an absolute path, ``..`` or a symlink that points outside is
    refused); both are resolved (symlinks followed) before the check, so a link inside ``root`` that points
    elsewhere cannot be used to escape. ``root`` is created when missing.

    Raises
    ------
    UsageError
        ``folder`` resolves outside ``root``.
    """
    base = Path(root)
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create export directory {str(base)!r} ({exc.strerror or exc})") from None
    base = base.resolve()
    text = os.fspath(folder)
    target = (base / text).resolve()
    if text.strip() == "" or not (target == base or target.is_relative_to(base)):
        raise UsageError(
            f"export folder {text!r}: must be a folder inside the export directory {str(base)!r} "
            "(no absolute path, no '..', no link that leads outside)"
        )
    return target


def _check_manifest(path: Path) -> str | None:
    """Text of an existing export manifest at ``path`` (None when absent); refuses anything else."""
    if not os.path.lexists(path):
        return None
    if path.is_symlink() or not path.is_file():
        raise StoreError(f"{path}: exists and is not a regular file; choose another export folder")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: cannot read the existing manifest ({exc})") from None
    if text.split("\n", 1)[0].strip() != MANIFEST_HEADER:
        raise StoreError(
            f"{path}: an existing manifest.csv of another format (header is not {MANIFEST_HEADER!r}); "
            "it is left untouched: choose another export folder"
        )
    return text


def check_capture(samples: np.ndarray, rate: float | None, *, node: int, capture_id: int) -> str | None:
    """Why a raw capture must not become a training recording, or None when it is usable."""
    if not rate or not math.isfinite(rate) or rate <= 0:
        return f"capture {capture_id} of node {node}: sample rate {rate!r} is not a positive number"
    if samples.size == 0:
        return f"capture {capture_id} of node {node}: no samples"
    if not np.isfinite(samples).all():
        bad = int(np.count_nonzero(~np.isfinite(samples)))
        return f"capture {capture_id} of node {node}: {bad} sample(s) are NaN or infinite"
    return None


def export(
    source: object,
    *,
    node: int,
    start_ns: int,
    end_ns: int,
    label: str,
    out_dir: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
) -> RetrainExport:
    """Write the raw captures and scores of ``node`` in ``[start_ns, end_ns)`` for retraining.

    All or nothing: every file is first written to a staging folder next to (or inside) the target and
    moved into place only when every capture has been read, checked and written; the manifest moves last.
    A capture that cannot be trusted (chunks missing or disagreeing on the chunk count, a scale or sample
    rate that is 0, infinite or NaN, NaN samples) is left out and named in ``RetrainExport.refused``.

    Parameters
    ----------
    source : queries.Source
        Where to read (``raw_captures``, ``raw_capture``, ``scores``).
    node : int
        Node id.
    start_ns, end_ns : int
        Window, UTC nanoseconds.
    label : str
        ``normal`` or a fault class name (``[A-Za-z0-9_.@-]+``, as the manifest requires).
    out_dir : path-like
        Folder for the files (created). With ``root``, a folder inside ``root`` (see :func:`confine`).
    root : path-like, optional
        The configured export directory; the dashboard always passes it.

    Returns
    -------
    RetrainExport
    """
    if not _LABEL.match(label or ""):
        raise UsageError(f"label {label!r}: use letters, digits and _ . @ - only (e.g. normal, outer_race)")
    if end_ns <= start_ns:
        raise UsageError(f"time window [{start_ns}, {end_ns}) is empty")
    out = confine(root, out_dir) if root is not None else Path(out_dir)
    old_manifest = _check_manifest(out / "manifest.csv")
    caps = source.raw_captures(node, start_ns, end_ns)  # type: ignore[attr-defined]
    files: dict[str, bytes] = {}
    lines: list[str] = []
    incomplete = 0
    refused: list[str] = []
    for cap in caps.itertuples(index=False):
        cid = int(cap.capture_id)
        try:
            samples, rate, missing = source.raw_capture(node, cid)  # type: ignore[attr-defined]
        except StoreError as exc:  # chunks that disagree, an invalid scale: this capture only
            refused.append(str(exc))
            continue
        if missing:
            incomplete += 1
            continue  # a capture with holes would teach the model a discontinuity; skip it and say so
        reason = check_capture(samples, rate, node=node, capture_id=cid)
        if reason:
            refused.append(reason)
            continue
        name = f"node{node}_cap{cid}_{label}.wav"
        files[name] = wav_bytes(samples[:, 0] if samples.shape[1] == 1 else samples, float(rate or 0))
        row = ManifestRow(
            path=name, file=out / name, label=label, fs=None, channel="", group=f"node{node}", split="", rpm=None,
            load="", start_s=None, end_s=None, line=0, manifest=str(out / "manifest.csv"),
        )  # fmt: skip
        lines.append(manifest_line(row))
    scores = source.scores(node, start_ns, end_ns)  # type: ignore[attr-defined]
    buf = io.StringIO()
    scores.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
    scores_name = f"node{node}_scores_{label}.csv"
    files[scores_name] = buf.getvalue().encode("utf-8")
    manifest = None
    if lines:
        old = old_manifest if old_manifest is not None else MANIFEST_HEADER + "\n"
        kept = [ln for ln in old.splitlines() if ln.split(",", 1)[0] not in files]
        files["manifest.csv"] = ("\n".join([*kept, *lines]) + "\n").encode("utf-8")
        manifest = out / "manifest.csv"
    _publish(out, files)
    recordings = tuple(out / ln.split(",", 1)[0] for ln in lines)
    return RetrainExport(
        out, recordings, manifest, tuple(lines), out / scores_name, incomplete, tuple(refused)
    )


def _publish(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (name -> bytes, manifest last) into ``out`` all or nothing.

    A new folder is staged beside it and renamed in one step; into an existing folder the files are staged
    inside it and renamed one by one (same filesystem: renames cannot fail half-way for lack of space), the
    manifest last, so a reader never sees a manifest line without its WAV.
    """
    fresh = not out.exists()
    for name in files:  # a folder or link where a file goes would make a rename fail half-way: refuse first
        p = out / name
        if not fresh and os.path.lexists(p) and (p.is_symlink() or not p.is_file()):
            raise StoreError(f"{p}: exists and is not a regular file; nothing was written")
    try:
        if fresh:
            out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent if fresh else out))
    except OSError as exc:
        raise StoreError(f"cannot create export folder {str(out)!r} ({exc.strerror or exc})") from None
    try:
        for name, data in files.items():
            with open(stage / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        if fresh:
            os.replace(stage, out)
        else:
            for name in sorted(files, key=lambda n: n == "manifest.csv"):
                os.replace(stage / name, out / name)
            stage.rmdir()
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise StoreError(
            f"cannot write the export to {str(out)!r} ({exc.strerror or exc}); nothing was written"
        ) from None
