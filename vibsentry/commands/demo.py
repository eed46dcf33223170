"""``vibsentry demo``: until the full demo lands (issue E), run the feature pipeline over sample_data/."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "run the demo (for now: the feature pipeline over sample_data/ with a summary)"
DESCRIPTION = """\
Run the feature pipeline over every recording in sample_data/ and print one line per recording:
frames, velocity RMS (mm/s, 10-1000 Hz) and kurtosis, the numbers a vibration analyst looks at first.

example:
  vibsentry demo
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry demo``."""
    p.add_argument("--data", default=None, metavar="DIR", help="folder of recordings (default: sample_data/)")


def run(args: argparse.Namespace) -> int:
    """Summarise sample_data/ through the feature pipeline."""
    import numpy as np

    from vibsentry.dsp import FeatureParams, extract_features
    from vibsentry.dsp.io import read_recording, resample
    from vibsentry.errors import UsageError

    root = Path(args.data) if args.data else Path(__file__).resolve().parents[2] / "sample_data"
    files = sorted(root.rglob("*.wav"))
    if not files:
        raise UsageError(f"--data {str(root)!r}: no .wav recordings found")
    params = FeatureParams()
    names = params.feature_names
    iv, ik = names.index("velocity_rms_mm_s"), names.index("kurtosis")
    print(f"{'recording':58s} {'frames':>6s} {'vel mm/s':>9s} {'kurtosis':>8s}")
    for f in files:
        rec = read_recording(f)
        x = rec.data[:, 0]
        assert rec.sample_rate is not None
        if rec.sample_rate != params.sample_rate:
            x = resample(x, orig_sr=rec.sample_rate, target_sr=params.sample_rate)
        feats = extract_features(x, params=params)
        print(
            f"{f.relative_to(root)!s:58s} {feats.shape[0]:6d} {float(np.median(feats[:, iv])):9.2f} "
            f"{float(np.median(feats[:, ik])):8.2f}"
        )
    print(f"feature_hash {params.feature_hash}")
    return 0
