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

--hold-out COLUMN measures generalisation instead of scoring a bundle: for every value of the manifest column
(load, group or rpm) it trains a model (--kind, --config as in 'vibsentry train') on every other row (the
split column is ignored; rows with an empty value always train) and tests it on all windows of that value's
rows, then prints each fold and the mean and worst. Put the condition to test in that column, e.g. the
fault size in 'group'. A classifier fold tests only the classes present at the held-out value.

examples:
  vibsentry evaluate out/bundle --manifest sample_data/manifest.csv
  vibsentry evaluate out/bundle --manifest plant_b.csv --split all --json metrics.json
  vibsentry evaluate --hold-out load --kind classifier --manifest cwru.csv --json folds.json
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the options of ``vibsentry evaluate``."""
    p.add_argument(
        "bundle", metavar="BUNDLE", nargs="?", help="bundle directory written by 'vibsentry train'"
    )
    p.add_argument(
        "--hold-out",
        metavar="COLUMN",
        choices=("load", "group", "rpm"),
        help="leave-one-value-out generalisation of a new model instead of scoring BUNDLE",
    )
    p.add_argument("--kind", choices=("anomaly", "classifier"), default="anomaly", help="with --hold-out")
    p.add_argument(
        "--config", metavar="TOML", help="with --hold-out: [features]/[train] as in 'vibsentry train'"
    )
    p.add_argument("--manifest", "-m", required=True, metavar="CSV", help="dataset manifest")
    p.add_argument(
        "--split", choices=("test", "val", "train", "all"), default="test", help="windows to score"
    )
    p.add_argument("--json", metavar="FILE", help="write the metrics as JSON ('-' for stdout)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    """Evaluate and print / write the metrics."""
    from vibsentry.errors import UsageError
    from vibsentry.training.api import cross_validate, evaluate_bundle

    if args.hold_out:
        if args.bundle:
            raise UsageError("give either BUNDLE (score it) or --hold-out COLUMN (train and test per value)")
        cv = cross_validate(
            args.manifest, column=args.hold_out, kind=args.kind, config=args.config, quiet=args.quiet
        )
        text = json.dumps(cv, indent=2)
        if args.json == "-":
            print(text)
            return 0
        if args.json:
            write_atomic(args.json, text + "\n")
        fold_keys = [k for k in cv["folds"][0] if k not in ("held_out", "n_windows")]
        print(f"leave-one-{args.hold_out}-out, {args.kind}: {len(cv['folds'])} folds")
        for f in cv["folds"]:
            vals = ", ".join(f"{k} {f[k]:.4f}" for k in fold_keys if isinstance(f[k], float))
            print(f"  {args.hold_out}={f['held_out']!s:12s} {f['n_windows']:6d} windows: {vals}")
        for k in fold_keys:
            if f"{k}_mean" in cv:
                print(f"  {k}: mean {cv[k + '_mean']:.4f}, worst {cv[k + '_worst']:.4f}")
        return 0
    if not args.bundle:
        raise UsageError("missing BUNDLE (or give --hold-out COLUMN)")
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
