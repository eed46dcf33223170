"""``vibsentry train``: recordings (a manifest) -> calibrated INT8 model bundle; or retrain from a bundle."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

HELP = "train a calibrated INT8 anomaly detector or fault classifier from a dataset manifest"
DESCRIPTION = """\
Read the recordings listed in a manifest (docs/datasets.md), compute the same features the sensor node
computes, split them without leakage (whole groups or separated time blocks), train, calibrate the alarm
threshold for a target false-alarm rate, convert to a full-INT8 TFLite model, evaluate float and INT8 side by
side on the test split, and write a bundle directory (docs/bundle.md) with report.md and plots. The bundle is
written atomically: on any error nothing is left at --out.

--kind anomaly (default) trains a dense autoencoder on the normal recordings only; --kind classifier trains
an MLP on all labels. --config reads [features] (FeatureParams) and [train] (seed, epochs, alarms_per_day,
alarm_k, alarm_n, resample, ...) from a TOML file; VIBSENTRY_TRAIN_<KEY> overrides one value.

--from BUNDLE retrains: the deployed bundle's training recordings plus the new manifest's, evaluated old vs
new on the same test split. The new bundle is refused (exit 1, nothing written) when it is worse than the old
one on any headline metric by more than [train] retrain_margin (default 0.01), unless --force.

examples:
  vibsentry train --manifest sample_data/manifest.csv --out out/bundle
  vibsentry train --manifest cwru.csv --kind classifier --config train.toml --out out/cwru_cls
  vibsentry train --from out/bundle --manifest new_faults.csv --out out/bundle_v2
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry train``."""
    p.add_argument(
        "--manifest", "-m", required=True, metavar="CSV", help="dataset manifest (docs/datasets.md)"
    )
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="bundle directory to create")
    p.add_argument(
        "--kind", choices=("anomaly", "classifier"), default="anomaly", help="model kind (default anomaly)"
    )
    p.add_argument("--config", metavar="TOML", help="TOML with [features] and [train] tables")
    p.add_argument(
        "--from", dest="from_bundle", metavar="BUNDLE", help="retrain: start from this bundle's data"
    )
    p.add_argument(
        "--force", action="store_true", help="with --from: write the new bundle even if it is worse"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle at --out")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def _summary(path: str) -> dict[str, Any]:
    from vibsentry.runtime.bundle import load_bundle

    b = load_bundle(path)
    m = b.meta["metrics"]
    return {
        "bundle": str(b.path),
        "kind": b.kind,
        "classes": b.classes,
        "feature_hash": b.feature_hash,
        "alarm": b.meta.get("alarm"),
        "n_windows": m.get("n_windows"),
        "float": {
            k: v
            for k, v in m.get("float", {}).items()
            if k in ("auc", "accuracy", "macro_f1", "false_alarm_rate")
        },
        "int8": {
            k: v
            for k, v in m.get("int8", {}).items()
            if k in ("auc", "accuracy", "macro_f1", "false_alarm_rate")
        },
    }


def run(args: argparse.Namespace) -> int:
    """Train (or retrain) and print where the bundle went with its headline metrics."""
    from vibsentry.errors import UsageError
    from vibsentry.training import api

    if args.force and not args.from_bundle:
        raise UsageError("--force only applies with --from BUNDLE")
    # Before minutes of training: --out must be new, or (with --overwrite) a previous bundle that holds none
    # of this command's inputs.
    import os

    from vibsentry.errors import BundleError
    from vibsentry.runtime.bundle import check_replaceable

    if os.path.lexists(args.out) and not args.overwrite:
        raise BundleError(f"{args.out}: already exists (choose another --out, or add --overwrite)")
    sources = [s for s in (args.manifest, args.config, args.from_bundle) if s]
    check_replaceable(args.out, sources=tuple(sources))
    comparison = None
    if args.from_bundle:
        if args.kind != "anomaly":
            print("vibsentry train: note: --kind is taken from the --from bundle", file=sys.stderr)
        path, comparison = api.retrain_bundle(
            args.from_bundle, args.manifest, args.out, config=args.config, force=args.force, quiet=args.quiet
        )
    else:
        path = api.train_bundle(
            args.manifest,
            args.out,
            kind=args.kind,
            config=args.config,
            quiet=args.quiet,
            overwrite=args.overwrite,
        )
    summary = _summary(str(path))
    if comparison is not None:
        summary["comparison"] = comparison
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"bundle written: {summary['bundle']} ({summary['kind']}, {summary['n_windows']} test windows)")
    for which in ("float", "int8"):
        vals = ", ".join(f"{k} {v:.4f}" for k, v in summary[which].items() if isinstance(v, float))
        print(f"  {which:5s}: {vals}")
    if summary["alarm"]:
        a = summary["alarm"]
        print(
            f"  alarm: {a['k']} of {a['n']} frames > {a['threshold']:.6g}, clear below {a['clear_threshold']:.6g}"
        )
    if comparison is not None:
        print(f"  old vs new (same test split): old {comparison['old']} new {comparison['new']}")
        if comparison["worse"]:
            print(f"  WARNING: worse on {comparison['worse']} (written because of --force)")
    print(f"  report: {summary['bundle']}/report.md")
    return 0
