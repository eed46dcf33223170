"""Metrics of a bundle on feature windows: float and INT8 side by side, per class and per group."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.runtime.alarm import AlarmRule, apply_alarm_rule
from vibsentry.runtime.bundle import Bundle
from vibsentry.training.dataset import Windows
from vibsentry.training.manifest import NORMAL


def _auc(y: npt.NDArray[np.int64], s: npt.NDArray[np.float32]) -> float | None:
    if len(set(y.tolist())) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, s))


def _ap(y: npt.NDArray[np.int64], s: npt.NDArray[np.float32]) -> float | None:
    if len(set(y.tolist())) < 2:
        return None
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, s))


def sequences(w: Windows, values: npt.NDArray[Any]) -> list[npt.NDArray[Any]]:
    """Split ``values`` (aligned with ``w``) into contiguous runs of one row (frame-ordered)."""
    out = []
    for r in np.unique(w.row):
        idx = np.flatnonzero(w.row == r)
        idx = idx[np.argsort(w.frame[idx], kind="stable")]
        breaks = np.flatnonzero(np.diff(w.frame[idx]) != 1) + 1
        out += [values[part] for part in np.split(idx, breaks)]
    return out


def anomaly_metrics(
    w: Windows, scores: npt.NDArray[np.float32], rule: AlarmRule | None, *, frame_rate: float
) -> dict[str, Any]:
    """AUC (normal vs all faults), per-class AUC, detection and false-alarm rates for one score vector."""
    y = (w.label != NORMAL).astype(np.int64)
    thr = np.float32(rule.threshold) if rule is not None else np.float32(np.inf)
    above = scores > thr
    normal = w.label == NORMAL
    m: dict[str, Any] = {
        "auc": _auc(y, scores),
        "average_precision": _ap(y, scores),
        "false_alarm_rate": float(above[normal].mean()) if normal.any() else None,
        "detection_rate": float(above[~normal].mean()) if (~normal).any() else None,
        "per_class_auc": {},
    }
    for lb in sorted(set(w.label.tolist()) - {NORMAL}):
        sel = normal | (w.label == lb)
        m["per_class_auc"][lb] = _auc(y[sel], scores[sel])
    if rule is not None and normal.any():
        wn = w.select(normal)
        raises = sum(
            int(np.count_nonzero(apply_alarm_rule(seq, rule)[1] == 1))
            for seq in sequences(wn, scores[normal])
        )
        hours = normal.sum() / frame_rate / 3600.0
        m["false_alarms"] = raises
        m["false_alarms_per_hour"] = float(raises / hours)
    if rule is not None and (~normal).any():
        wf = w.select(~normal)
        seqs = sequences(wf, scores[~normal])
        m["fault_sequences_alarmed"] = float(
            np.mean([np.any(apply_alarm_rule(s, rule)[1] == 1) for s in seqs])
        )
    groups: dict[str, Any] = {}
    for g in sorted(set(w.group.tolist())):
        sel = w.group == g
        lb = "+".join(sorted(set(w.label[sel].tolist())))
        groups[g] = {
            "label": lb,
            "n_windows": int(sel.sum()),
            "median_score": float(np.median(scores[sel])),
            "fraction_above_threshold": float(above[sel].mean()),
        }
    m["per_group"] = groups
    return m


def classifier_metrics(w: Windows, proba: npt.NDArray[np.float32], classes: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, confusion matrix (rows true, columns predicted, in ``classes`` order), per group."""
    from sklearn.metrics import confusion_matrix, f1_score

    pred = np.asarray(classes)[np.argmax(proba, axis=1)]
    true = w.label
    labels_present = sorted(set(true.tolist()))
    cm = confusion_matrix(true, pred, labels=classes)
    groups = {}
    for g in sorted(set(w.group.tolist())):
        sel = w.group == g
        groups[g] = {
            "label": "+".join(sorted(set(true[sel].tolist()))),
            "n_windows": int(sel.sum()),
            "accuracy": float(np.mean(pred[sel] == true[sel])),
        }
    return {
        "accuracy": float(np.mean(pred == true)),
        "macro_f1": float(f1_score(true, pred, labels=labels_present, average="macro", zero_division=0)),
        "confusion_matrix": cm.astype(int).tolist(),
        "per_group": groups,
    }


def evaluate_windows(b: Bundle, w: Windows) -> dict[str, Any]:
    """Metrics of bundle ``b`` on windows ``w`` for the float and the INT8 model.

    Returns
    -------
    dict
        ``n_windows``, ``kind``, ``threshold``, ``false_alarm_rate`` (INT8, fraction of normal windows above
        the threshold), and ``float`` / ``int8`` objects (see :func:`anomaly_metrics`,
        :func:`classifier_metrics`). Scores are kept under ``_scores`` for plotting (not JSON).
    """
    out: dict[str, Any] = {"kind": b.kind, "n_windows": len(w), "threshold": b.threshold}
    scores: dict[str, Any] = {}
    for which in ("float", "int8"):
        if b.kind == "anomaly":
            s = b.score_features(w.X, model=which)
            out[which] = anomaly_metrics(w, s, b.alarm, frame_rate=b.params.frame_rate)
            scores[which] = s
        else:
            p = b.predict_proba(w.X, model=which)
            m = classifier_metrics(w, p, b.classes)
            if NORMAL in b.classes and b.alarm is not None:
                s = (1.0 - p[:, b.classes.index(NORMAL)]).astype(np.float32)
                m["false_alarm_rate"] = (
                    float((s[w.label == NORMAL] > np.float32(b.alarm.threshold)).mean())
                    if (w.label == NORMAL).any()
                    else None
                )
            out[which] = m
            scores[which] = p
    out["false_alarm_rate"] = out["int8"].get("false_alarm_rate")
    out["_scores"] = scores
    return out


def headline(metrics: dict[str, Any]) -> dict[str, float | None]:
    """The comparable numbers of a metrics dict (INT8): AUC or accuracy/macro-F1, and false-alarm rate."""
    i8 = metrics["int8"]
    if metrics["kind"] == "anomaly":
        return {"auc": i8.get("auc"), "false_alarm_rate": i8.get("false_alarm_rate")}
    return {"accuracy": i8.get("accuracy"), "macro_f1": i8.get("macro_f1")}


def public(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without the private ``_scores`` arrays (JSON-ready)."""
    return {k: v for k, v in metrics.items() if not k.startswith("_")}
