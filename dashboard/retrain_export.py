"""Export stored data for retraining: raw captures as WAV recordings plus training-manifest lines.

A maintenance engineer who saw a new fault picks the machine and the time window in the dashboard, labels it,
and gets files ``vibsentry train`` reads directly:

- ``<out_dir>/node<N>_cap<ID>_<label>.wav``: each raw capture in the window, float32 WAV in g at the capture's
  sample rate (channels interleaved as the node sent them);
- ``<out_dir>/manifest.csv``: one line per WAV in the ``docs/datasets.md`` format
  (``path,label,fs,channel,group,split,rpm,load,start_s,end_s``; ``group`` is ``node<N>`` so a later split
  never puts captures of one machine on both sides); an existing manifest is extended, not replaced;
- ``<out_dir>/node<N>_scores_<label>.csv``: the scores of the window, for reference (not a recording).

Every file is written to a temporary name in the same folder and renamed, so a failed export leaves nothing
half-written.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vibsentry.errors import StoreError, UsageError
from vibsentry.fileio import write_atomic

MANIFEST_HEADER = "path,label,fs,channel,group,split,rpm,load,start_s,end_s"
_LABEL = re.compile(r"^[A-Za-z0-9_.@-]+$")


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote."""

    out_dir: Path
    recordings: tuple[Path, ...]
    manifest: Path | None
    manifest_lines: tuple[str, ...]
    scores_csv: Path
    incomplete_captures: int


def wav_bytes(samples: np.ndarray, sample_rate: float) -> bytes:
    """IEEE float32 WAV of ``samples`` (shape ``(n,)`` or ``(n, channels)``, in g) at ``sample_rate`` Hz."""
    from scipy.io import wavfile

    buf = io.BytesIO()
    wavfile.write(buf, round(sample_rate), np.ascontiguousarray(samples, dtype=np.float32))
    return buf.getvalue()


def export(
    source: object,
    *,
    node: int,
    start_ns: int,
    end_ns: int,
    label: str,
    out_dir: str | os.PathLike[str],
) -> ExportResult:
    """Write the raw captures and scores of ``node`` in ``[start_ns, end_ns)`` for retraining.

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
        Folder for the files (created).

    Returns
    -------
    ExportResult
    """
    if not _LABEL.match(label or ""):
        raise UsageError(f"label {label!r}: use letters, digits and _ . @ - only (e.g. normal, outer_race)")
    if end_ns <= start_ns:
        raise UsageError(f"time window [{start_ns}, {end_ns}) is empty")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create export folder {str(out)!r} ({exc.strerror or exc})") from None
    caps = source.raw_captures(node, start_ns, end_ns)  # type: ignore[attr-defined]
    recordings: list[Path] = []
    lines: list[str] = []
    incomplete = 0
    for cap in caps.itertuples(index=False):
        samples, rate, missing = source.raw_capture(node, int(cap.capture_id))  # type: ignore[attr-defined]
        if missing:
            incomplete += 1
            continue  # a capture with holes would teach the model a discontinuity; skip it and say so
        if not rate:
            raise StoreError(
                f"raw capture {cap.capture_id} of node {node} has no sample rate; cannot write WAV"
            )
        name = f"node{node}_cap{int(cap.capture_id)}_{label}.wav"
        path = out / name
        write_atomic(path, wav_bytes(samples[:, 0] if samples.shape[1] == 1 else samples, rate))
        recordings.append(path)
        lines.append(f"{name},{label},,,node{node},,,,,")
    manifest = None
    if lines:
        manifest = out / "manifest.csv"
        old = manifest.read_text(encoding="utf-8") if manifest.exists() else MANIFEST_HEADER + "\n"
        kept = [ln for ln in old.splitlines() if ln.split(",", 1)[0] not in {p.name for p in recordings}]
        write_atomic(manifest, ("\n".join([*kept, *lines]) + "\n").encode("utf-8"))
    scores = source.scores(node, start_ns, end_ns)  # type: ignore[attr-defined]
    buf = io.StringIO()
    scores.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL)
    scores_csv = out / f"node{node}_scores_{label}.csv"
    write_atomic(scores_csv, buf.getvalue().encode("utf-8"))
    return ExportResult(out, tuple(recordings), manifest, tuple(lines), scores_csv, incomplete)
