"""``report.md`` and its PNG plots, written for a maintenance engineer (what the numbers mean, not only values)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from vibsentry.training.dataset import Windows
from vibsentry.training.manifest import NORMAL


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def plots(
    kind: str, test: Windows, metrics: dict[str, Any], history: dict[str, list[float]], classes: list[str]
) -> dict[str, bytes]:
    """PNG files keyed by file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    if history:  # closed-form models (Mahalanobis, PCA) have no epochs
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for k, v in history.items():
            ax.plot(np.arange(1, len(v) + 1), v, label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_yscale("log")
        ax.set_title("Training curves")
        ax.legend()
        out["training_curves.png"] = _png(fig)

    scores = metrics.get("_scores", {})
    if kind == "anomaly" and "int8" in scores:
        s = scores["int8"]
        y = (test.label != NORMAL).astype(int)
        thr = metrics.get("threshold")
        fig, ax = plt.subplots(figsize=(7, 4))
        lo = max(float(np.min(s)), 1e-6)
        bins = np.geomspace(lo, max(float(np.max(s)), lo * 10), 60).tolist()
        for lb in [NORMAL, *sorted(set(test.label.tolist()) - {NORMAL})]:
            sel = test.label == lb
            if sel.any():
                ax.hist(s[sel], bins=bins, alpha=0.55, label=f"{lb} ({sel.sum()})")
        if thr is not None:
            ax.axvline(thr, color="k", ls="--", label=f"threshold {thr:.4g}")
        ax.set_xscale("log")
        ax.set_xlabel("anomaly score (INT8 model)")
        ax.set_ylabel("windows")
        ax.set_title("Score per class on the test split")
        ax.legend(fontsize=7)
        out["score_histogram.png"] = _png(fig)
        if len(set(y.tolist())) == 2:
            from sklearn.metrics import precision_recall_curve, roc_curve

            fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
            for which in ("float", "int8"):
                fpr, tpr, _ = roc_curve(y, scores[which])
                a1.plot(fpr, tpr, label=f"{which} AUC {metrics[which]['auc']:.4f}")
                pr, rc, _ = precision_recall_curve(y, scores[which])
                a2.plot(rc, pr, label=f"{which} AP {metrics[which]['average_precision']:.4f}")
            a1.plot([0, 1], [0, 1], "k:", lw=0.8)
            a1.set_xlabel("false positive rate")
            a1.set_ylabel("true positive rate")
            a1.set_title("ROC (normal vs all faults)")
            a1.legend()
            a2.set_xlabel("recall")
            a2.set_ylabel("precision")
            a2.set_title("Precision-recall")
            a2.legend()
            out["roc_pr.png"] = _png(fig)
    if kind == "classifier" and "int8" in metrics:
        cm = np.asarray(metrics["int8"]["confusion_matrix"])
        fig, ax = plt.subplots(figsize=(1 + 0.6 * len(classes), 1 + 0.5 * len(classes)))
        ax.imshow(cm, cmap="Blues")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7)
        ax.set_yticks(range(len(classes)), classes, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title("Confusion matrix (INT8, test split)")
        out["confusion_matrix.png"] = _png(fig)
    groups = metrics.get("int8", {}).get("per_group", {})
    if groups:
        names = list(groups)
        key = "fraction_above_threshold" if kind == "anomaly" else "accuracy"
        vals = [groups[g][key] for g in names]
        fig, ax = plt.subplots(figsize=(7, 0.6 + 0.25 * len(names)))
        colors = ["tab:green" if groups[g]["label"] == NORMAL else "tab:red" for g in names]
        ax.barh(range(len(names)), vals, color=colors)
        ax.set_yticks(range(len(names)), [f"{g} [{groups[g]['label']}]" for g in names], fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("fraction of windows above threshold" if kind == "anomaly" else "accuracy")
        ax.set_title("Per group (test split)")
        out["per_group.png"] = _png(fig)
    return out


def feature_label(params: Any, name: str) -> str:
    """A feature name with what it means on the machine (mel bands get their centre frequency)."""
    if name.startswith("logmel_") and "logmel" in params.features:
        from vibsentry.dsp.mel import mel_filter_table

        row = mel_filter_table(params).matrix[int(name.split("_")[1])]
        hz = float(np.argmax(row)) * params.sample_rate / params.frame_length
        return f"{name} (band around {hz:,.0f} Hz)"
    return {
        "velocity_rms_mm_s": "velocity_rms_mm_s (ISO 10816 velocity)",
        "kurtosis": "kurtosis (impulsiveness: bearing impacts)",
        "crest_factor": "crest_factor (peak / RMS: impacts)",
    }.get(name, name)


def explain(
    params: Any, test: Windows, seen: np.ndarray, recon: np.ndarray, top: int = 3
) -> dict[str, list[str]]:
    """Per fault class, the features whose reconstruction error grew most over normal (INT8 model).

    Returns
    -------
    dict
        label -> up to ``top`` strings ``"<feature> (x<ratio> of normal)"``.
    """
    err = (np.asarray(seen, np.float64) - np.asarray(recon, np.float64)) ** 2
    normal = test.label == NORMAL
    base = err[normal].mean(axis=0) + 1e-9 if normal.any() else np.full(err.shape[1], 1e-9)
    out: dict[str, list[str]] = {}
    for lb in sorted(set(test.label.tolist()) - {NORMAL}):
        ratio = err[test.label == lb].mean(axis=0) / base
        names = params.feature_names
        out[lb] = [
            f"{feature_label(params, names[j])} (x{ratio[j]:,.0f} of normal)"
            for j in np.argsort(-ratio)[:top]
        ]
    return out


def render(
    meta: dict[str, Any],
    metrics: dict[str, Any],
    pngs: dict[str, bytes],
    explained: dict[str, list[str]] | None = None,
) -> str:
    """The Markdown report."""
    kind = meta["kind"]
    lines = [
        f"# vibsentry model report — {kind}",
        "",
        f"Created {meta['created_at']} from `{meta['training_data']['source_manifest']}` "
        f"({meta['training_data']['n_rows']} recordings; windows train/val/test = "
        f"{meta['training_data']['windows']['train']}/{meta['training_data']['windows']['val']}/"
        f"{meta['training_data']['windows']['test']}). Feature hash `{meta['feature_hash'][:16]}…`; "
        f"training-data fingerprint `{meta['training_data']['fingerprint'][:16]}…`.",
        "",
        "All numbers below are on the **test split**: recordings (or time blocks of them) that the model never "
        "saw while training or calibrating. The deployed model is the INT8 one; the float column shows what "
        "quantization costs.",
        "",
        "## Metrics",
        "",
        "| metric | float | INT8 |",
        "|---|---|---|",
    ]
    keys = (
        ["auc", "average_precision", "detection_rate", "false_alarm_rate", "false_alarms_per_hour"]
        if kind == "anomaly"
        else ["accuracy", "macro_f1", "false_alarm_rate"]
    )
    for k in keys:
        lines.append(f"| {k} | {_fmt(metrics['float'].get(k))} | {_fmt(metrics['int8'].get(k))} |")
    lines.append("")
    sel = meta.get("model_selection")
    if sel:
        lines += [
            "## Model selection",
            "",
            f"Candidates compared on the validation split: its normal windows against {sel['faults']}. "
            f"Deployed: **{sel['chosen']}**, {sel['why']}.",
            "",
            "| candidate | architecture | parameters | val AUC float | val AUC INT8 |",
            "|---|---|---|---|---|",
        ]
        for c in sel["candidates"]:
            mark = " (deployed)" if c["name"] == sel["chosen"] else ""
            lines.append(
                f"| {c['name']}{mark} | {c['architecture']} | {c['parameters']} | "
                f"{_fmt(c['val_auc_float'])} | {_fmt(c['val_auc_int8'])} |"
            )
        lines.append("")
    if kind == "anomaly":
        cal = meta.get("calibration", {})
        rule = meta.get("alarm") or {}
        lines += [
            "- **auc**: probability that a random faulty window scores higher than a random normal one "
            "(1.0 = perfect separation, 0.5 = chance).",
            "- **detection_rate**: fraction of faulty windows above the threshold; **false_alarm_rate**: "
            "fraction of normal windows above it (single frames, before the persistence rule).",
            "",
            "## Threshold and alarm rule",
            "",
            f"An alarm is raised when **{rule.get('k')} of the last {rule.get('n')} frames** score above "
            f"**{_fmt(rule.get('threshold'), 6)}**, and cleared when none of the last {rule.get('n')} frames "
            f"scores above **{_fmt(rule.get('clear_threshold'), 6)}** (hysteresis).",
            "",
            f"The target is {cal.get('target_alarms_per_day')} false alarm per 24 h at "
            f"{_fmt(cal.get('frame_rate'), 2)} frames/s. Under the simplifying assumption that frames are "
            f"independent, that needs a per-frame exceedance probability of {cal.get('p_frame', 0):.3g}. "
            f"Only {cal.get('n_val')} held-out normal windows were available, too few to measure such a rare "
            f"quantile directly, so it was read from a fitted tail model (`{cal.get('method')}`, parameters "
            f"{cal.get('tail')}). On the held-out normal data {_fmt(cal.get('val_exceedance_rate'))} of "
            f"the frames exceeded the threshold and the rule raised {cal.get('val_raises')} alarm(s). Real "
            "machines drift and consecutive frames are correlated: watch the false-alarm rate after deployment.",
            "",
        ]
        pc = metrics["int8"].get("per_class_auc", {})
        if pc:
            lines += [
                "## AUC per fault class (normal vs that class, INT8)",
                "",
                "| class | AUC |",
                "|---|---|",
            ]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in pc.items()]
            lines.append("")
        if explained:
            lines += [
                "## What changed, per fault class",
                "",
                "The features whose reconstruction error grew most compared with normal windows (INT8 model, "
                "test split): where to look on a spectrum or a trend.",
                "",
            ]
            lines += [f"- **{lb}**: " + "; ".join(v) for lb, v in explained.items()]
            lines.append("")
        base = meta["metrics"].get("baselines", {})
        if base:
            lines += ["## Baselines (float, same split)", "", "| detector | AUC |", "|---|---|"]
            lines += [f"| {k} | {_fmt(v)} |" for k, v in base.items()]
            lines.append("")
    else:
        lines += [
            "- **accuracy**: fraction of test windows given the right class; **macro_f1**: F1 averaged over "
            "classes, so a rare class counts as much as a common one.",
            "",
        ]
    groups = metrics["int8"].get("per_group", {})
    if groups:
        key = "fraction_above_threshold" if kind == "anomaly" else "accuracy"
        lines += [
            "## Per group (INT8, test split)",
            "",
            f"| group | label | windows | {key} |",
            "|---|---|---|---|",
        ]
        lines += [f"| {g} | {v['label']} | {v['n_windows']} | {_fmt(v[key])} |" for g, v in groups.items()]
        lines.append("")
    comp = (meta.get("retrained_from") or {}).get("comparison")
    if comp:
        lines += [
            "## Compared with the deployed bundle",
            "",
            f"Retrained from `{meta['retrained_from']['path']}`. Both models scored on the same "
            f"{comp['n_test_windows']} test windows (INT8):",
            "",
            "| metric | deployed | retrained |",
            "|---|---|---|",
        ]
        lines += [f"| {k} | {_fmt(v)} | {_fmt(comp['new'].get(k))} |" for k, v in comp["old"].items()]
        verdict = (
            f"worse on {comp['worse']} beyond the margin {comp['margin']}" if comp["worse"] else "not worse"
        )
        lines += ["", f"Verdict: {verdict}.", ""]
    lines += ["## Plots", ""]
    for name in sorted(pngs):
        lines += [f"![{name}]({name})", ""]
    lines += [
        "## Reproduce",
        "",
        f"Seed {meta['training']['seed']}; libraries {meta['library_versions']}.",
        "",
    ]
    return "\n".join(lines)
