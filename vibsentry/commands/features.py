"""``vibsentry features``: turn a recording into a feature matrix (.npz) with its FeatureParams and hash."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from vibsentry.errors import FileFormatError, UsageError

HELP = "compute the feature matrix of a recording (WAV, CSV, NPY) into an .npz file"
DESCRIPTION = """\
Frame a recording and compute one feature vector per frame, exactly as the sensor firmware does.

The output .npz holds:
  features        float32 (n_frames, n_features)
  feature_names   the column names
  frame_start_s   start time of each frame in seconds
  feature_params  the FeatureParams as canonical JSON
  feature_hash    SHA-256 of that JSON (what a node reports, what a model bundle expects)

Feature parameters come from the [features] table of --config (see docs/features.md); environment
variables VIBSENTRY_FEATURES_<KEY> override single values. WAV files carry their sample rate; CSV and NPY
take it from the config (or --sample-rate). A recording at another rate than the config's is an error unless
--resample is given.

examples:
  vibsentry features sample_data/synthetic/m1_normal_a.wav --out m1.npz
  vibsentry features run.csv --channel z --sample-rate 25600 --config features.toml --out run.npz --json
"""

#: Samples read per block when streaming a WAV file (bounded memory for hours-long recordings).
BLOCK_SAMPLES = 1 << 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry features``."""
    p.add_argument(
        "input",
        metavar="INPUT",
        help="recording: .wav (any PCM/float type), .csv, .npy, or CWRU/MFPT .mat (read by the loaders of train)",
    )
    p.add_argument("--out", "-o", required=True, metavar="OUT.npz", help="where to write the feature matrix")
    p.add_argument("--config", metavar="TOML", help="TOML file whose [features] table sets FeatureParams")
    p.add_argument(
        "--channel", metavar="C", help="channel index or CSV column name (needed for multi-channel files)"
    )
    p.add_argument(
        "--sample-rate", type=float, metavar="HZ", help="sample rate of CSV/NPY input (default: config)"
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="sensor units per full scale for integer PCM WAV (default 1)"
    )
    p.add_argument(
        "--resample", action="store_true", help="resample to the config's rate when the file differs"
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout instead of text")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def load_like_train(src: Path, args: argparse.Namespace, target_sr: float) -> Any:
    """A file only the training loaders read (CWRU/MFPT ``.mat``), loaded by exactly those loaders, so
    ``features`` and ``train`` see the same samples; resampled to ``target_sr`` only with ``--resample``."""
    from vibsentry.errors import DatasetError
    from vibsentry.training import manifest as M

    row = M.ManifestRow(
        path=str(src), file=src, label="unknown", fs=args.sample_rate, channel=args.channel or "", group=str(src),
        split="", rpm=None, load="", start_s=None, end_s=None, line=0, manifest="command line",
    )  # fmt: skip
    try:
        return M.load_signal(row, target_sr=target_sr, allow_resample=args.resample)
    except DatasetError as exc:
        raise UsageError(str(exc).replace("put it in the fs column", "pass --sample-rate HZ")) from None


def run(args: argparse.Namespace) -> int:
    """Compute features for ``args.input`` and write ``args.out``."""
    import numpy as np

    from vibsentry.dsp import FeatureParams, FeatureStream
    from vibsentry.dsp.io import iter_wav_blocks, read_recording, resample, wav_info
    from vibsentry.fileio import atomic_open
    from vibsentry.progress import bar

    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out {args.out!r}: the output must be an .npz file")
    if not (math.isfinite(args.scale) and args.scale > 0):
        raise UsageError(f"--scale {args.scale!r}: must be a positive number of sensor units per full scale")
    if args.sample_rate is not None and not (math.isfinite(args.sample_rate) and args.sample_rate > 0):
        raise UsageError(f"--sample-rate {args.sample_rate!r}: must be a positive number of Hz")
    params = FeatureParams.from_toml(args.config) if args.config else FeatureParams()
    src = Path(args.input)
    if not src.exists():
        raise FileFormatError(src, "file not found")

    stream = FeatureStream(params)
    parts: list[np.ndarray] = []
    x_other = None
    if src.suffix.lower() == ".wav":
        fs, total, nch = wav_info(src)
        names = tuple(str(i) for i in range(nch))
    elif src.suffix.lower() == ".mat":
        x_other = load_like_train(src, args, params.sample_rate)
        fs, total, nch, names = params.sample_rate, x_other.shape[0], 1, (args.channel or "DE_time",)
    else:
        rec = read_recording(src, sample_rate=args.sample_rate or params.sample_rate)
        assert rec.sample_rate is not None
        fs, total, nch, names = rec.sample_rate, rec.n_samples, rec.data.shape[1], rec.channel_names
    if args.channel is None and nch > 1:
        raise UsageError(f"{src}: has {nch} channels {list(names)}; choose one with --channel")
    if fs != params.sample_rate and not args.resample:
        raise UsageError(
            f"{src}: recorded at {fs:g} Hz but the feature config expects {params.sample_rate:g} Hz; "
            "pass --resample or set sample_rate in the config"
        )
    with bar(total=total, desc="features", unit="samples", quiet=args.quiet) as pb:
        if src.suffix.lower() == ".wav" and fs == params.sample_rate:
            # Stream the file block by block: bounded memory whatever its length.
            if args.channel is not None and args.channel not in names:
                raise UsageError(f"--channel {args.channel!r}: {src} has channels {list(names)}")
            idx = 0 if args.channel is None else names.index(args.channel)
            blocks = iter_wav_blocks(src, block_samples=BLOCK_SAMPLES, channel=idx, scale=args.scale)
        else:
            if src.suffix.lower() == ".wav":
                rec = read_recording(src, scale=args.scale)
            x = x_other if x_other is not None else rec.channel(args.channel)
            if fs != params.sample_rate:
                x = resample(x, orig_sr=fs, target_sr=params.sample_rate)
            blocks = (x[i : i + BLOCK_SAMPLES] for i in range(0, x.shape[0], BLOCK_SAMPLES))
        for block in blocks:
            parts.append(stream.push(block))
            pb.update(block.shape[0])
    feats = np.concatenate(parts) if parts else np.zeros((0, params.n_features), np.float32)
    if feats.shape[0] == 0:
        raise FileFormatError(
            src,
            f"{stream.samples_seen} samples is shorter than one frame (frame_length={params.frame_length})",
        )
    starts = np.arange(feats.shape[0]) * (params.hop_length / params.sample_rate)
    with atomic_open(out, "wb") as fh:
        np.savez(
            fh,
            features=feats,
            feature_names=np.array(params.feature_names),
            frame_start_s=starts,
            feature_params=np.array(params.canonical_json()),
            feature_hash=np.array(params.feature_hash),
        )
    summary = {
        "input": str(src),
        "output": str(out),
        "n_frames": int(feats.shape[0]),
        "n_features": int(feats.shape[1]),
        "duration_s": stream.samples_seen / params.sample_rate,
        "sample_rate": params.sample_rate,
        "feature_hash": params.feature_hash,
    }
    if "velocity_rms" in params.features:
        v = feats[:, params.feature_names.index("velocity_rms_mm_s")]
        summary["velocity_rms_mm_s"] = {"mean": float(v.mean()), "max": float(v.max())}
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(
            f"{src}: {summary['n_frames']} frames x {summary['n_features']} features "
            f"({summary['duration_s']:.1f} s at {params.sample_rate:g} Hz) -> {out}"
        )
        print(f"feature_hash {params.feature_hash}")
        if "velocity_rms_mm_s" in summary:
            vv = summary["velocity_rms_mm_s"]
            assert isinstance(vv, dict)
            print(f"velocity RMS 10-1000 Hz: mean {vv['mean']:.2f} mm/s, max {vv['max']:.2f} mm/s")
    return 0
