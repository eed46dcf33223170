"""``vibsentry evaluate``: metrics of a bundle on a manifest's test split, float and INT8 side by side."""

from __future__ import annotations

import argparse
import json

from vibsentry.fileio import write_atomic

HELP = "evaluate a model bundle on a dataset manifest (float and INT8 metrics, JSON output)"
DESCRIPTION = """\
Score the test split of a manifest (docs/datasets.md; same split rules and seed as training) with both the
float and the INT8 model of a bundle and print the metrics. --json FILE writes them as JSON:

  n_windows, kind, threshold, false_alarm_rate (INT8, fraction of normal windows above the threshold),
  float / int8: auc, average_precision, detection_rate, false_alarm_rate, false_alarms_per_hour,
                per_class_auc, per_group                                  (anomaly bundles)
                accuracy, macro_f1, confusion_matrix, per_group           (classifier bundles)

--split all evaluates every window instead (for a manifest of recordings the model never saw).

examples:
  vibsentry evaluate out/bundle --manifest sample_data/manifest.csv
  vibsentry evaluate out/bundle --manifest plant_b.csv --split all --json metrics.json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry evaluate``."""
    p.add_argument("bundle", metavar="BUNDLE", help="bundle directory written by 'vibsentry train'")
    p.add_argument("--manifest", "-m", required=True, metavar="CSV", help="dataset manifest")
    p.add_argument(
        "--split", choices=("test", "val", "train", "all"), default="test", help="windows to score"
    )
    p.add_argument("--json", metavar="FILE", help="write the metrics as JSON ('-' for stdout)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Evaluate and print / write the metrics."""
    from vibsentry.training.api import evaluate_bundle

    m = evaluate_bundle(
        args.bundle, args.manifest, quiet=args.quiet, split="" if args.split == "all" else args.split
    )
    text = json.dumps(m, indent=2)
    if args.json == "-":
        print(text)
        return 0
    if args.json:
        write_atomic(args.json, text + "\n")
    keys = (
        ("auc", "detection_rate", "false_alarm_rate") if m["kind"] == "anomaly" else ("accuracy", "macro_f1")
    )
    print(f"{m['n_windows']} windows ({args.split}), threshold {m['threshold']}")
    for which in ("float", "int8"):
        vals = ", ".join(f"{k} {m[which][k]:.4f}" for k in keys if isinstance(m[which].get(k), float))
        print(f"  {which:5s}: {vals}")
    return 0
