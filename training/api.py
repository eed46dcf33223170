"""Programmatic training: ``train_bundle``, ``retrain_bundle``, ``evaluate_bundle``.

Example::

    from vibsentry.training.api import train_bundle
    path = train_bundle("sample_data/manifest.csv", "out/bundle")          # anomaly autoencoder, INT8
"""

from __future__ import annotations

import dataclasses
import os
import platform
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from vibsentry.dsp.params import FEATURE_GROUPS, FeatureParams
from vibsentry.errors import ConfigError, DatasetError, VibsentryError
from vibsentry.runtime import bundle as B
from vibsentry.training.augment import AugmentConfig, augment_windows
from vibsentry.training.dataset import Windows, build_windows, check_labels
from vibsentry.training.manifest import (
    NORMAL,
    ManifestRow,
    check_duplicates,
    fingerprint,
    read_manifest,
    write_manifest,
)

#: Anomaly models ``[train] model`` can name (``"auto"`` compares them all).
ANOMALY_MODELS = ("autoencoder", "mahalanobis", "pca")
#: ``[train] class_balance`` choices (classifiers only).
CLASS_BALANCE = ("weights", "oversample", "none")


class RetrainRefused(VibsentryError):
    """The retrained model is worse than the deployed one beyond the margin (use ``--force`` to accept)."""


@dataclass(frozen=True)
class TrainConfig:
    """``[train]`` section of a training TOML (``VIBSENTRY_TRAIN_<KEY>`` overrides).

    Parameters
    ----------
    seed : int
        Seeds splits, TensorFlow and baselines.
    hidden : tuple of int
        Autoencoder hidden widths (default 32-16-32, i.e. 40-32-16-32-40 with the default features).
    classifier_hidden : tuple of int
        MLP classifier hidden widths (for ``cnn1d``: the filters of its two Conv1D layers).
    classifier : str
        ``"mlp"`` (dense) or ``"cnn1d"`` (two Conv1D layers over the feature vector, then softmax).
    model : str
        Anomaly model: ``"auto"`` (default: every candidate fitted and the best on held-out faults deployed,
        see :mod:`vibsentry.training.select`), ``"autoencoder"``, ``"mahalanobis"`` or ``"pca"``.
    epochs, batch_size, learning_rate, patience : training settings.
    alarms_per_day : float
        Target false alarms per 24 h of normal operation.
    alarm_k, alarm_n : int
        Persistence rule: k of the last n frames.
    resample : bool
        Resample recordings whose rate differs from the feature rate (else that is an error).
    representative_rows : int
        Random training rows used to calibrate INT8 ranges (plus the tails).
    baselines : bool
        Also fit IsolationForest and Mahalanobis baselines (reported, not deployed).
    ignore_features : tuple of str
        Feature names the model must not use (their std is stored as 1e30, so their normalised value is 0
        and the firmware's input vector is unchanged). Default ``("mean",)``: the frame mean is the
        accelerometer's DC bias, which differs per sensor and recording, not a machine condition; a model
        that uses it learns the recording instead of the fault.
    retrain_margin : float
        How much worse (absolute) a retrained model may be on any headline metric before it is refused; a
        negative margin demands an improvement of at least that much.
    class_balance : str
        Classifiers: ``"weights"`` (default; each class weighs the same in the loss), ``"oversample"``
        (training windows of smaller classes repeated, seeded, up to the largest class) or ``"none"``.
    augment : AugmentConfig
        ``[train.augment]`` table: augmented copies of the training recordings (off by default; see
        :mod:`vibsentry.training.augment` and ``docs/generalisation.md``).
    """

    seed: int = 0
    hidden: tuple[int, ...] = (32, 16, 32)
    classifier_hidden: tuple[int, ...] = (64, 32)
    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 15
    alarms_per_day: float = 1.0
    alarm_k: int = 3
    alarm_n: int = 5
    resample: bool = True
    representative_rows: int = 2000
    baselines: bool = True
    retrain_margin: float = 0.01
    ignore_features: tuple[str, ...] = ("mean",)
    classifier: str = "mlp"
    model: str = "auto"
    class_balance: str = "weights"
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        object.__setattr__(self, "augment", AugmentConfig.from_value(self.augment))
        if self.class_balance not in CLASS_BALANCE:
            raise ConfigError(
                f"[train] class_balance={self.class_balance!r}: choose one of {', '.join(map(repr, CLASS_BALANCE))}"
            )
        if self.classifier not in ("mlp", "cnn1d"):
            raise ConfigError(f"[train] classifier={self.classifier!r}: choose 'mlp' or 'cnn1d'")
        if self.model not in ("auto", *ANOMALY_MODELS):
            raise ConfigError(
                f"[train] model={self.model!r}: choose 'auto' or one of {', '.join(map(repr, ANOMALY_MODELS))}"
            )
        v = self.ignore_features
        if isinstance(v, str) or not isinstance(v, (list, tuple)) or not all(isinstance(n, str) for n in v):
            raise ConfigError(f"[train] ignore_features={v!r}: must be a list of feature names")
        every = set(FeatureParams(features=FEATURE_GROUPS).feature_names)
        for n in v:
            if n not in every:
                raise ConfigError(f"[train] ignore_features: unknown feature {n!r} (see docs/features.md)")
        object.__setattr__(self, "ignore_features", tuple(v))
        for name in ("hidden", "classifier_hidden"):
            v = getattr(self, name)
            if not isinstance(v, (list, tuple)) or not v or not all(isinstance(i, int) and i > 0 for i in v):
                raise ConfigError(f"[train] {name}={v!r}: must be a list of positive integers")
            object.__setattr__(self, name, tuple(v))
        for name in ("seed", "epochs", "batch_size", "patience", "alarm_k", "alarm_n", "representative_rows"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "seed" else 1):
                raise ConfigError(
                    f"[train] {name}={v!r}: must be a {'non-negative' if name == 'seed' else 'positive'} integer"
                )
        for name in ("learning_rate", "alarms_per_day", "retrain_margin"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise ConfigError(f"[train] {name}={v!r}: must be a finite number")
            object.__setattr__(self, name, float(v))
        if self.learning_rate <= 0 or self.alarms_per_day <= 0:
            raise ConfigError("[train] learning_rate and alarms_per_day must be > 0")
        if not 1 <= self.alarm_k <= self.alarm_n <= 32:
            raise ConfigError(
                f"[train] alarm_k={self.alarm_k}, alarm_n={self.alarm_n}: need 1 <= k <= n <= 32"
            )
        for name in ("resample", "baselines"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"[train] {name}={getattr(self, name)!r}: must be true or false")

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "[train]") -> TrainConfig:
        """Build from a mapping; unknown keys are an error naming ``source``."""
        known = {f.name for f in dataclasses.fields(cls)}
        for k in d:
            if k not in known:
                raise ConfigError(f"{source}: unknown [train] key {k!r}; known: {sorted(known)}")
        try:
            return cls(**d)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None


def load_config(config: str | os.PathLike[str] | None) -> tuple[FeatureParams, TrainConfig]:
    """``[features]`` and ``[train]`` from a TOML file (or defaults), with environment overrides."""
    from vibsentry.config import load_section

    src = os.fspath(config) if config is not None else "defaults"
    params = FeatureParams.from_dict(load_section("features", config), source=src)
    cfg = TrainConfig.from_dict(load_section("train", config), source=src)
    return params, cfg


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in (
        "vibsentry",
        "numpy",
        "scipy",
        "scikit-learn",
        "tensorflow-cpu",
        "tensorflow",
        "ai-edge-litert",
    ):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


@dataclass
class _Trained:
    kind: str
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    int8: bytes
    flt: bytes
    history: dict[str, list[float]]
    architecture: str
    calibration: Any
    alarm: Any
    baselines: dict[str, float | None]
    selection: dict[str, Any] | None = None
    model_type: str | None = None
    augment: dict[str, Any] | None = None


def _fit(
    w: Windows,
    classes: list[str],
    kind: str,
    params: FeatureParams,
    cfg: TrainConfig,
    quiet: bool,
    rows: list[ManifestRow] | None = None,
) -> _Trained:
    from vibsentry.runtime.alarm import AlarmRule
    from vibsentry.runtime.model import TFLiteModel
    from vibsentry.runtime.score import autoencoder_score
    from vibsentry.training.calibrate import calibrate
    from vibsentry.training.evaluate import _auc, sequences
    from vibsentry.training.models import (
        AutoencoderDetector,
        CNN1DClassifier,
        IsolationForestDetector,
        MahalanobisDetector,
        MLPClassifier,
        normalise,
    )
    from vibsentry.training.quantize import INPUT_RANGE_Z, convert_float, convert_int8, representative_rows

    augmented = None
    if cfg.augment.enabled and rows is not None:
        w, augmented = augment_windows(
            w, rows, params, cfg.augment, seed=cfg.seed, allow_resample=cfg.resample
        )
    tr, va, te = w.in_split("train"), w.in_split("val"), w.in_split("test")
    ignore = tuple(i for i, n in enumerate(params.feature_names) if n in cfg.ignore_features)
    common: dict[str, Any] = dict(
        ignore_features=ignore,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        learning_rate=cfg.learning_rate,
        patience=cfg.patience,
        seed=cfg.seed,
    )
    baselines: dict[str, float | None] = {}
    selection: dict[str, Any] | None = None
    model_type: str | None = None
    int8 = flt = b""
    if kind == "anomaly":
        from vibsentry.training.models import LinearDetector
        from vibsentry.training.select import Candidate, select, synthetic_fault_windows

        trn, van = tr.select(tr.label == NORMAL), va.select(va.label == NORMAL)
        names = ANOMALY_MODELS if cfg.model == "auto" else (cfg.model,)
        cands = []
        nf = params.n_features
        for name in names:
            if name == "autoencoder":
                e: Any = AutoencoderDetector(hidden=cfg.hidden, **common).fit(trn.X, X_val=van.X, quiet=quiet)
                a = "dense autoencoder " + "-".join(str(n) for n in (nf, *cfg.hidden, nf))
            else:
                e = LinearDetector(method=name, seed=cfg.seed, ignore_features=ignore).fit(trn.X)
                a = (
                    f"Mahalanobis distance (Ledoit-Wolf covariance) as one {nf}x{nf} linear layer"
                    if name == "mahalanobis"
                    else f"PCA residual (95 % variance) as one {nf}x{nf} linear layer"
                )
            rep_c = representative_rows(
                normalise(trn.X, e.mean_, e.std_),
                max_rows=cfg.representative_rows,
                seed=cfg.seed,
                input_range=INPUT_RANGE_Z,
            )
            cands.append(
                Candidate(
                    name,
                    a,
                    int(e.model_.count_params()),
                    e,
                    convert_int8(e.model_, rep_c),
                    convert_float(e.model_),
                )
            )
        if len(cands) > 1:
            fault_val = va.select(va.label != NORMAL).X
            faults = f"{len(fault_val)} windows of fault recordings held out in the validation split"
            if len(fault_val) == 0 and rows is not None:
                fault_val = synthetic_fault_windows(
                    rows, w, params, seed=cfg.seed, allow_resample=cfg.resample
                )
                faults = (
                    f"{len(fault_val)} synthetic fault windows (bearing-defect impulse trains ringing a resonance, "
                    "added to the normal validation recordings; the manifest has no fault recordings in val)"
                )
            best, why = select(
                cands,
                lambda c, X: autoencoder_score(TFLiteModel(c.int8), normalise(X, c.est.mean_, c.est.std_)),
                lambda c, X: c.est.score_samples(X),
                van.X,
                fault_val,
            )
            selection = {
                "faults": faults,
                "chosen": best.name,
                "why": why,
                "candidates": [c.summary() for c in cands],
            }
        else:
            best = cands[0]
        est, arch, int8, flt, model_type = best.est, best.architecture, best.int8, best.flt, best.name
        if cfg.baselines and len(te):
            y = (te.label != NORMAL).astype(np.int64)
            for name, det in (
                ("isolation_forest", IsolationForestDetector(seed=cfg.seed, ignore_features=ignore)),
                ("mahalanobis", MahalanobisDetector(seed=cfg.seed, ignore_features=ignore)),
            ):
                det.fit(trn.X)
                baselines[name] = _auc(y, det.score_samples(te.X))
            baselines["autoencoder_float_keras"] = _auc(y, est.score_samples(te.X))
        fit_rows = trn.X
    else:
        cls = CNN1DClassifier if cfg.classifier == "cnn1d" else MLPClassifier
        if cfg.class_balance == "oversample":
            tr = _oversample(tr, cfg.seed)
        est = cls(hidden=cfg.classifier_hidden, balanced=cfg.class_balance == "weights", **common).fit(
            tr.X, tr.label, X_val=va.X, y_val=va.label, classes=classes, quiet=quiet
        )
        arch = ("1-D CNN classifier " if cfg.classifier == "cnn1d" else "dense MLP classifier ") + "-".join(
            str(n) for n in (params.n_features, *cfg.classifier_hidden, len(classes))
        )
        fit_rows = tr.X
    if kind != "anomaly":
        rep = representative_rows(
            normalise(fit_rows, est.mean_, est.std_),
            max_rows=cfg.representative_rows,
            seed=cfg.seed,
            input_range=0.0,
        )
        int8 = convert_int8(est.model_, rep)
        flt = convert_float(est.model_)
    calib = None
    if kind == "anomaly":
        m8 = TFLiteModel(int8)
        van = va.select(va.label == NORMAL)
        s_val = autoencoder_score(m8, normalise(van.X, est.mean_, est.std_))
        calib = calibrate(
            s_val,
            frame_rate=params.frame_rate,
            alarms_per_day=cfg.alarms_per_day,
            k=cfg.alarm_k,
            n=cfg.alarm_n,
            sequences=sequences(van, s_val),
        )
        alarm = calib.rule
    elif NORMAL in classes:
        # Score = 1 - P(normal): raise when the classifier is more sure of a fault than of normal.
        alarm = AlarmRule(0.5, 0.3, cfg.alarm_k, cfg.alarm_n)
    else:
        alarm = None
    return _Trained(
        kind,
        classes,
        est.mean_,
        est.std_,
        int8,
        flt,
        est.history_,
        arch,
        calib,
        alarm,
        baselines,
        selection,
        model_type,
        augmented,
    )


def _oversample(tr: Windows, seed: int) -> Windows:
    """Training windows with every class repeated (seeded draw, without replacement first) up to the largest."""
    labels, counts = np.unique(tr.label, return_counts=True)
    rng = np.random.default_rng([seed, 1])
    idx = [np.arange(len(tr))]
    for lb, c in zip(labels, counts, strict=True):
        have = np.flatnonzero(tr.label == lb)
        need = int(counts.max() - c)
        if need:
            idx.append(np.concatenate([rng.permutation(have) for _ in range(need // c + 1)])[:need])
    return tr.select(np.concatenate(idx)) if len(idx) > 1 else tr


def _quant(m: Any) -> dict[str, Any]:
    return {
        "input": {
            "dtype": str(m.input_dtype),
            "shape": [1, m.n_inputs],
            "scale": m.input_quant[0],
            "zero_point": m.input_quant[1],
        },
        "output": {
            "dtype": str(m.output_dtype),
            "shape": [1, m.n_outputs],
            "scale": m.output_quant[0],
            "zero_point": m.output_quant[1],
        },
    }


def _assemble(
    t: _Trained,
    w: Windows,
    rows: list[ManifestRow],
    params: FeatureParams,
    cfg: TrainConfig,
    source: str,
    out: Path,
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, bytes], B.Bundle, dict[str, Any]]:
    from vibsentry.runtime.model import TFLiteModel
    from vibsentry.training.evaluate import evaluate_windows, public
    from vibsentry.training.report import explain, plots, render

    m8 = TFLiteModel(t.int8)
    score_def = B.SCORE_AUTOENCODER if t.kind == "anomaly" else B.SCORE_CLASSIFIER
    meta: dict[str, Any] = {
        "format": B.FORMAT,
        "format_version": B.FORMAT_VERSION,
        "kind": t.kind,
        "created_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "feature_params": params.to_dict(),
        "feature_hash": params.feature_hash,
        "normalisation": {
            "method": "zscore",
            "mean": [float(v) for v in t.mean],
            "std": [float(v) for v in t.std],
        },
        "classes": t.classes,
        "model": {
            "file": B.MODEL_FILE,
            "float_file": B.FLOAT_MODEL_FILE,
            "architecture": t.architecture,
            "type": t.model_type,
            **_quant(m8),
        },
        "model_selection": t.selection,
        "score": {
            "definition": score_def,
            "higher_is": "more anomalous",
            "text": "see docs/bundle.md#score",
        },
        "alarm": None if t.alarm is None else t.alarm.to_dict(),
        "calibration": None if t.calibration is None else t.calibration.to_dict(),
        "training_data": {
            "fingerprint": fingerprint(rows),
            "manifest": "manifest.csv",
            "source_manifest": source,
            "n_rows": len(rows),
            "windows": {s: int(np.count_nonzero(w.split == s)) for s in ("train", "val", "test")},
        },
        "training": {
            "seed": cfg.seed,
            "augment": t.augment,
            "config": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()
            },
        },
        "library_versions": _versions(),
    }
    if extra:
        meta.update(extra)
    b = B.Bundle(
        path=out,
        meta=meta,
        params=params,
        kind=t.kind,
        classes=t.classes,
        alarm=t.alarm,
        mean=np.asarray(t.mean, np.float32),
        std=np.asarray(t.std, np.float32),
        _blobs={B.MODEL_FILE: t.int8, B.FLOAT_MODEL_FILE: t.flt},
    )
    test = w.in_split("test")
    metrics = (
        evaluate_windows(b, test)
        if len(test)
        else {
            "kind": t.kind,
            "n_windows": 0,
            "float": {},
            "int8": {},
            "threshold": b.threshold,
            "false_alarm_rate": None,
        }
    )
    meta["metrics"] = {**public(metrics), "baselines": t.baselines}
    pngs = plots(t.kind, test, metrics, t.history, t.classes)
    explained = None
    if t.kind == "anomaly" and len(test):
        seen, recon = b.model("int8").run_float(b.normalise(test.X))
        explained = explain(params, test, seen, recon)
        metrics["_explained"] = explained  # private key (not in bundle.json); the retrain report reuses it
    files = {B.MODEL_FILE: t.int8, B.FLOAT_MODEL_FILE: t.flt, **pngs}
    with tempfile.TemporaryDirectory() as td:
        mp = Path(td) / "m.csv"
        write_manifest(rows, mp, absolute=True)
        files["manifest.csv"] = mp.read_bytes()
    files["report.md"] = render(meta, metrics, pngs, explained).encode("utf-8")
    return meta, files, b, metrics


def train_bundle(
    manifest_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    kind: str = "anomaly",
    config: str | os.PathLike[str] | None = None,
    quiet: bool = True,
    overwrite: bool = False,
) -> Path:
    """Train, calibrate, quantize, evaluate and write a bundle.

    Parameters
    ----------
    manifest_path : path-like
        Dataset manifest (``docs/datasets.md``).
    out_dir : path-like
        Bundle directory to create (atomically).
    kind : {"anomaly", "classifier"}
    config : path-like, optional
        TOML with ``[features]`` and ``[train]`` sections.
    quiet : bool
        No progress bars.
    overwrite : bool
        Replace an existing bundle at ``out_dir``.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    if kind not in ("anomaly", "classifier"):
        raise ConfigError(f"kind {kind!r}: choose 'anomaly' or 'classifier'")
    params, cfg = load_config(config)
    rows = read_manifest(manifest_path)
    w = build_windows(rows, params=params, kind=kind, seed=cfg.seed, allow_resample=cfg.resample, quiet=quiet)
    classes = check_labels(w, rows, kind=kind)
    t = _fit(w, classes, kind, params, cfg, quiet, rows)
    meta, files, _, _ = _assemble(t, w, rows, params, cfg, os.fspath(manifest_path), Path(out_dir))
    return B.save_bundle(out_dir, meta=meta, files=files, overwrite=overwrite)


def _unsplit(r: ManifestRow, split: str = "") -> ManifestRow:
    """``r`` with ``split`` and an absolute path (the fold manifests live in a temporary folder)."""
    f = r.file.resolve()
    return dataclasses.replace(r, split=split, file=f, path=str(f))


#: Manifest columns ``cross_validate`` can hold out one value of at a time.
HOLD_OUT_COLUMNS = ("load", "group", "rpm")


def cross_validate(
    manifest_path: str | os.PathLike[str],
    *,
    column: str,
    kind: str = "anomaly",
    config: str | os.PathLike[str] | None = None,
    quiet: bool = True,
) -> dict[str, Any]:
    """Leave-one-value-out evaluation: one model per value of ``column``, tested on that value's rows only.

    Measures how a model carries over to a condition it never saw (a load, a fault size written in
    ``group``, a machine), which a random or per-recording split cannot. For each distinct non-empty value
    ``v`` of ``column``, a model is trained (with its usual train/val/test split, ``split`` column ignored)
    on every row whose value is not ``v``, rows with no value included, and evaluated on all windows of the
    rows whose value is ``v``.

    Parameters
    ----------
    manifest_path : path-like
    column : {"load", "group", "rpm"}
    kind : {"anomaly", "classifier"}
    config : path-like, optional
        ``[features]`` / ``[train]`` TOML as for :func:`train_bundle`.
    quiet : bool

    Returns
    -------
    dict
        ``column``, ``kind``, ``folds`` (``held_out``, ``n_windows``, ``float_<metric>``, ``int8_<metric>``
        with AUC for anomaly models, accuracy and macro-F1 for classifiers) and, per metric,
        ``<which>_<metric>_mean`` / ``_worst``.
    """
    if column not in HOLD_OUT_COLUMNS:
        raise ConfigError(f"hold-out column {column!r}: choose one of {', '.join(HOLD_OUT_COLUMNS)}")
    rows = read_manifest(manifest_path)

    def value(r: ManifestRow) -> str:
        v = getattr(r, column)
        return "" if v is None or (column == "group" and v == r.path) else str(v)

    values = sorted({value(r) for r in rows} - {""})
    if len(values) < 2:
        raise DatasetError(
            f"{manifest_path}: column {column!r} has {len(values)} distinct value(s) {values}; "
            "holding one out needs at least 2"
        )
    keys = ("auc",) if kind == "anomaly" else ("accuracy", "macro_f1")
    folds = []
    with tempfile.TemporaryDirectory() as td:
        for i, v in enumerate(values):
            train_m, test_m = Path(td) / f"train{i}.csv", Path(td) / f"test{i}.csv"
            write_manifest([_unsplit(r) for r in rows if value(r) != v], train_m)
            write_manifest([_unsplit(r, "test") for r in rows if value(r) == v], test_m)
            out = train_bundle(train_m, Path(td) / f"b{i}", kind=kind, config=config, quiet=quiet)
            mt = evaluate_bundle(out, test_m, quiet=quiet, split="test")
            fm = {f"{w}_{k}": mt[w].get(k) for w in ("float", "int8") for k in keys}
            folds.append({"held_out": v, "n_windows": mt["n_windows"], **fm})
    res: dict[str, Any] = {"column": column, "kind": kind, "folds": folds}
    for w in ("float", "int8"):
        for k in keys:
            vals = [f[f"{w}_{k}"] for f in folds if isinstance(f.get(f"{w}_{k}"), float)]
            if vals:
                res[f"{w}_{k}_mean"] = float(np.mean(vals))
                res[f"{w}_{k}_worst"] = float(np.min(vals))
    return res


def evaluate_bundle(
    bundle_path: str | os.PathLike[str],
    manifest_path: str | os.PathLike[str],
    *,
    quiet: bool = True,
    split: str = "test",
) -> dict[str, Any]:
    """Metrics of a bundle on a manifest's ``split`` windows (split rules as in training, bundle's seed).

    Returns
    -------
    dict
        JSON-ready metrics (see :func:`vibsentry.training.evaluate.evaluate_windows`); ``n_windows`` > 0.
    """
    from vibsentry.training.evaluate import evaluate_windows, public

    b = B.load_bundle(bundle_path)
    rows = read_manifest(manifest_path)
    seed = int(b.meta.get("training", {}).get("seed", 0))
    w = build_windows(rows, params=b.params, kind=b.kind, seed=seed, quiet=quiet)
    sel = w.in_split(split) if split else w.select(w.split != "")
    if len(sel) == 0:
        raise DatasetError(f"{manifest_path}: no windows in the {split!r} split to evaluate on")
    unknown = sorted(set(sel.label.tolist()) - set(b.classes)) if b.kind == "classifier" else []
    if unknown:
        raise DatasetError(f"{manifest_path}: labels {unknown} are not classes of the bundle {b.classes}")
    return public(evaluate_windows(b, sel))


def _merge_rows(old: list[ManifestRow], new: list[ManifestRow]) -> list[ManifestRow]:
    seen = {(os.path.realpath(r.file), r.start_s, r.end_s): r for r in old}
    out = []
    for r in new:
        prev = seen.get((os.path.realpath(r.file), r.start_s, r.end_s))
        if prev is None:
            out.append(r)
        elif prev.label != r.label:
            raise DatasetError(
                f"{r.where}: {r.path!r} was labelled {prev.label!r} in the deployed bundle, now {r.label!r}"
            )
    check_duplicates([*old, *out])
    return out


def _concat(a: Windows, b: Windows, row_offset: int) -> Windows:
    return Windows(
        X=np.concatenate([a.X, b.X]),
        label=np.concatenate([a.label, b.label]),
        group=np.concatenate([a.group, b.group]),
        split=np.concatenate([a.split, b.split]),
        row=np.concatenate([a.row, b.row + row_offset]),
        frame=np.concatenate([a.frame, b.frame]),
        load=np.concatenate([a.load, b.load]),
    )


def retrain_bundle(
    from_bundle: str | os.PathLike[str],
    manifest_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    config: str | os.PathLike[str] | None = None,
    force: bool = False,
    quiet: bool = True,
) -> tuple[Path | None, dict[str, Any]]:
    """Retrain with new recordings added, compare with the deployed bundle on the same test split.

    The deployed bundle's own training rows keep exactly the split they had (same rows, seed and rules), so
    the old model is never scored on windows it trained on; new rows are split by the usual rules.

    Returns
    -------
    path : pathlib.Path or None
        ``out_dir`` when written.
    comparison : dict
        ``old`` / ``new`` headline metrics, ``margin``, ``worse`` (list of metric names), ``written``.

    Raises
    ------
    RetrainRefused
        When the new model is worse beyond ``retrain_margin`` on any headline metric and not ``force``.
    """
    from vibsentry.training.evaluate import evaluate_windows, headline

    old = B.load_bundle(from_bundle)
    _, cfg = load_config(config)
    cfg = dataclasses.replace(cfg, seed=int(old.meta.get("training", {}).get("seed", cfg.seed)))
    old_rows = read_manifest(old.path / "manifest.csv")
    new_rows = _merge_rows(old_rows, read_manifest(manifest_path))
    kw = dict(params=old.params, kind=old.kind, seed=cfg.seed, allow_resample=cfg.resample, quiet=quiet)
    w_old = build_windows(old_rows, **kw)  # type: ignore[arg-type]
    rows = old_rows + new_rows
    w = _concat(w_old, build_windows(new_rows, **kw), len(old_rows)) if new_rows else w_old  # type: ignore[arg-type]
    classes = check_labels(w, rows, kind=old.kind)
    if old.kind == "classifier":
        classes = list(dict.fromkeys([*old.classes, *classes]))
    t = _fit(w, classes, old.kind, old.params, cfg, quiet, rows)
    meta, files, _, new_metrics = _assemble(
        t,
        w,
        rows,
        old.params,
        cfg,
        os.fspath(manifest_path),
        Path(out_dir),
        extra={
            "retrained_from": {
                "path": os.fspath(old.path),
                "fingerprint": old.meta["training_data"]["fingerprint"],
            }
        },
    )
    test = w.in_split("test")
    keep = np.isin(test.label, old.classes) if old.kind == "classifier" else np.ones(len(test), bool)
    old_metrics = evaluate_windows(old, test.select(keep))
    h_old, h_new = headline(old_metrics), headline(new_metrics)
    worse = []
    for k, vo in h_old.items():
        vn = h_new.get(k)
        if vo is None or vn is None:
            continue
        lower_better = k == "false_alarm_rate"
        if (vn - vo if lower_better else vo - vn) > cfg.retrain_margin:
            worse.append(k)
    comp = {
        "old": h_old,
        "new": h_new,
        "margin": cfg.retrain_margin,
        "worse": worse,
        "n_test_windows": len(test),
    }
    meta["retrained_from"]["comparison"] = comp
    if worse and not force:
        comp["written"] = False
        raise RetrainRefused(
            f"retrained model is worse than {os.fspath(old.path)} on {worse} by more than {cfg.retrain_margin} "
            f"(old {h_old}, new {h_new}); nothing written (use --force to accept)"
        )
    comp["written"] = True  # stored in the new bundle, which exists only if the save below succeeds
    from vibsentry.training.report import render

    pngs = {k: v for k, v in files.items() if k.endswith(".png")}
    files["report.md"] = render(meta, new_metrics, pngs, new_metrics.get("_explained")).encode("utf-8")
    path = B.save_bundle(out_dir, meta=meta, files=files)
    return path, comp
