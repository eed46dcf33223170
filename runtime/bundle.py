"""The model bundle (``docs/bundle.md``): write atomically, load with every checksum verified, score.

Loading and scoring need only NumPy and ``ai_edge_litert`` (no TensorFlow), so the gateway, the simulator and
the dashboard can use a bundle cheaply::

    from vibsentry.runtime.bundle import load_bundle
    b = load_bundle("out/bundle")
    scores = b.score_features(features)          # (n,) float32, INT8 model, as the node computes it
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.dsp.params import FeatureParams
from vibsentry.errors import BundleError, VibsentryError
from vibsentry.fileio import exchange_paths
from vibsentry.runtime.alarm import AlarmRule

FORMAT = "vibsentry.bundle"
FORMAT_VERSION = 1
BUNDLE_JSON = "bundle.json"
MODEL_FILE = "model.tflite"
FLOAT_MODEL_FILE = "model_float.tflite"
SCORE_AUTOENCODER = "autoencoder_mse_v1"
SCORE_CLASSIFIER = "classifier_fault_probability_v1"
F32 = npt.NDArray[np.float32]


def sha256_bytes(data: bytes) -> str:
    """SHA-256 hex of ``data``."""
    return hashlib.sha256(data).hexdigest()


def metadata_sha256(doc: Mapping[str, Any]) -> str:
    """SHA-256 of ``bundle.json``'s canonical JSON (sorted keys, no spaces) without its ``bundle_sha256`` key."""
    body = {k: v for k, v in doc.items() if k != "bundle_sha256"}
    return sha256_bytes(
        json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")
    )


def check_replaceable(
    out_dir: str | os.PathLike[str], *, sources: tuple[str | os.PathLike[str], ...] = ()
) -> Path:
    """``out_dir`` as an absolute path (``..`` resolved), checked to be something a new bundle may replace.

    Nothing there, or a previous bundle: a real directory (not a link) holding a ``bundle.json`` of this format.
    Anything else (the user's data folder, a file, a link) is refused, and so is a folder that is or contains
    one of ``sources`` (the manifest, the config, the bundle retrained from): replacing it would delete them.

    Raises
    ------
    BundleError
        With the path and the reason.
    """
    given = Path(out_dir)
    if given.name in ("", ".", ".."):
        raise BundleError(f"{given}: name the bundle folder itself (not '.' or '..')")
    # Resolve the parent, keep the last component: '-o D/../D' must mean D, and a rename must not go
    # through a path that the rename itself moves.
    out = given.parent.resolve() / given.name
    for src in sources:
        s = Path(src).resolve()
        if s == out.resolve() or out.resolve() in s.parents:
            raise BundleError(
                f"{given}: contains {src}, which this command reads; replacing it would delete it"
            )
    if not os.path.lexists(out):
        return out
    if out.is_symlink() or not out.is_dir():
        raise BundleError(
            f"{given}: exists and is not a bundle folder (a file or a link); refusing to replace it"
        )
    try:
        doc = json.loads((out / BUNDLE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(
            f"{given}: exists and is not a vibsentry bundle (no valid {BUNDLE_JSON}); --overwrite only replaces "
            "a previous bundle, never another folder"
        )
    return out


def save_bundle(
    out_dir: str | os.PathLike[str],
    *,
    meta: Mapping[str, Any],
    files: Mapping[str, bytes],
    overwrite: bool = False,
) -> Path:
    """Write a bundle directory atomically.

    Everything is written into a temporary sibling directory which is renamed to ``out_dir`` at the end, so a
    failure (or a kill) never leaves a half-written bundle under that name.

    Parameters
    ----------
    out_dir : path-like
        Destination directory (must not exist unless ``overwrite``).
    meta : mapping
        ``bundle.json`` content without ``files`` (added here: name -> sha256 of every file).
    files : mapping of str to bytes
        Flat file names (``model.tflite``, ``report.md``, ``*.png``, ...) and their bytes.
    overwrite : bool
        Replace an existing bundle (only a bundle: see :func:`check_replaceable`). The old one is moved aside
        and removed only once the new one is in place; if that fails, the old one is put back.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    if os.path.lexists(out_dir) and not overwrite:
        raise BundleError(f"{out_dir}: already exists (choose another --out, or remove it first)")
    out = check_replaceable(out_dir)
    for name in files:
        if "/" in name or name.startswith(".") or name == BUNDLE_JSON:
            raise BundleError(f"bundle file name {name!r} is not allowed")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        sums = {}
        for name, data in sorted(files.items()):
            (tmp / name).write_bytes(data)
            sums[name] = sha256_bytes(data)
        doc = dict(meta)
        doc["files"] = sums
        doc["bundle_sha256"] = metadata_sha256(doc)
        text = json.dumps(doc, indent=2, sort_keys=False, allow_nan=False) + "\n"
        (tmp / BUNDLE_JSON).write_text(text, encoding="utf-8")
        for p in tmp.iterdir():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
        if out.exists() and exchange_paths(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)  # the old bundle, swapped out in one step
        elif out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, old)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)  # roll back: the previous bundle stays where it was
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, a read-only folder: name the bundle, not the temp file
            raise BundleError(
                f"{out_dir}: cannot write the bundle ({exc.strerror or exc}); nothing was written"
            ) from None
        raise
    return out


@dataclass
class Bundle:
    """A loaded, verified bundle.

    Attributes
    ----------
    path : pathlib.Path
    meta : dict
        The parsed ``bundle.json``.
    params : FeatureParams
    kind : str
        ``"anomaly"`` or ``"classifier"``.
    classes : list of str
    alarm : AlarmRule or None
        None for a classifier without a ``normal`` class.
    mean, std : ndarray float32 (n_features,)
        Normalisation.
    """

    path: Path
    meta: dict[str, Any]
    params: FeatureParams
    kind: str
    classes: list[str]
    alarm: AlarmRule | None
    mean: F32
    std: F32
    _models: dict[str, Any] = field(default_factory=dict, repr=False)
    _blobs: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def feature_hash(self) -> str:
        """The FeatureParams hash the bundle was trained with."""
        return str(self.meta["feature_hash"])

    @property
    def threshold(self) -> float | None:
        """Alarm threshold on the score (float32 value), or None."""
        return None if self.alarm is None else self.alarm.threshold

    def model(self, which: str = "int8") -> Any:
        """The :class:`~vibsentry.runtime.model.TFLiteModel` for ``"int8"`` or ``"float"``."""
        from vibsentry.runtime.model import TFLiteModel

        if which not in self._models:
            name = MODEL_FILE if which == "int8" else self.meta["model"].get("float_file", FLOAT_MODEL_FILE)
            if name not in self._blobs:
                raise BundleError(f"{self.path}: bundle has no {which} model ({name})")
            m = TFLiteModel(self._blobs[name], name=str(self.path / name))
            self.check_io(m.n_inputs, m.n_outputs, where=str(self.path / name))
            if which == "int8" and m.input_dtype != np.int8:
                raise BundleError(
                    f"{self.path / name}: input is {m.input_dtype}, a bundle's model must be full INT8"
                )
            self._models[which] = m
        return self._models[which]

    def check_io(self, n_inputs: int, n_outputs: int, *, where: str) -> None:
        """Refuse a model whose input/output widths differ from what the bundle declares (its features, and
        its kind: an autoencoder reproduces the features, a classifier gives one value per class)."""
        if n_inputs != self.params.n_features:
            raise BundleError(
                f"{where}: the model takes {n_inputs} inputs but the bundle's features have "
                f"{self.params.n_features} values (feature_params)"
            )
        want = self.params.n_features if self.kind == "anomaly" else len(self.classes)
        if n_outputs != want:
            what = "reproduces its features" if self.kind == "anomaly" else f"has {len(self.classes)} classes"
            raise BundleError(
                f"{where}: the model gives {n_outputs} outputs but this {self.kind} bundle {what}"
            )

    def normalise(self, features: npt.ArrayLike) -> F32:
        """Z-score raw features (n, n_features) with the bundle's mean/std (float32)."""
        x = np.asarray(features, dtype=np.float32)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.params.n_features:
            raise BundleError(
                f"{self.path}: features must have shape (n, {self.params.n_features}), got {np.shape(features)}"
            )
        if self.meta["normalisation"]["method"] == "none":
            return x
        return ((x - self.mean) / self.std).astype(np.float32)

    def score_features(self, features: npt.ArrayLike, *, model: str = "int8") -> F32:
        """Anomaly score per window as the node computes it (``docs/bundle.md``).

        Parameters
        ----------
        features : array_like, shape (n, n_features)
            Raw features from :func:`vibsentry.dsp.extract_features` with ``self.params``.
        model : {"int8", "float"}

        Returns
        -------
        ndarray float32, shape (n,)
            Autoencoder: reconstruction MSE. Classifier: ``1 - P(normal)`` (``max`` fault probability
            when there is no normal class).
        """
        z = self.normalise(features)
        if self.kind == "anomaly":
            from vibsentry.runtime.score import autoencoder_score

            return autoencoder_score(self.model(model), z)
        proba = self.predict_proba(features, model=model)
        if "normal" in self.classes:
            return (np.float32(1.0) - proba[:, self.classes.index("normal")]).astype(np.float32)
        return proba.max(axis=1).astype(np.float32)

    def predict_proba(self, features: npt.ArrayLike, *, model: str = "int8") -> F32:
        """Classifier probabilities (n, n_classes), dequantized from the INT8 output."""
        if self.kind != "classifier":
            raise BundleError(
                f"{self.path}: predict_proba needs a classifier bundle, this one is {self.kind!r}"
            )
        _, y = self.model(model).run_float(self.normalise(features))
        return y

    def predict(self, features: npt.ArrayLike, *, model: str = "int8") -> npt.NDArray[Any]:
        """Classifier: class name per window. Anomaly: 1 where the score is above the threshold, else 0."""
        if self.kind == "classifier":
            return np.asarray(self.classes)[np.argmax(self.predict_proba(features, model=model), axis=1)]
        thr = np.float32(self.threshold if self.threshold is not None else np.inf)
        return (self.score_features(features, model=model) > thr).astype(np.int64)


def _no_constant(name: str) -> Any:
    """``json.loads`` hook: NaN and Infinity are not JSON, and no bundle value (threshold, mean, ...) may be one."""
    raise ValueError(f"{name} is not allowed in a bundle (every value must be a finite number)")


def _read_regular(path: Path) -> bytes:
    """The bytes of ``path``, refused unless it is a regular file: opened without blocking, so a FIFO or a
    device put in a bundle gives one error instead of a hang."""
    import stat

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BundleError(f"{path}: not a regular file (a FIFO, device or folder); refusing to read it")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def _need(doc: Mapping[str, Any], key: str, path: Path) -> Any:
    if key not in doc:
        raise BundleError(f"{path / BUNDLE_JSON}: missing field {key!r}")
    return doc[key]


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Open a bundle directory and verify it.

    Checks the format name and version, ``bundle_sha256`` (the metadata itself: thresholds, normalisation),
    that every file listed in ``files`` exists and matches its sha256, and that the feature parameters
    re-hash to ``feature_hash``.

    Raises
    ------
    BundleError
        Naming the missing, unreadable or tampered file.
    """
    p = Path(path)
    if not p.is_dir():
        raise BundleError(f"{p}: not a bundle directory (it does not exist or is a file)")
    jpath = p / BUNDLE_JSON
    try:
        doc = json.loads(_read_regular(jpath).decode("utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise BundleError(f"{jpath}: missing; {p} is not a complete bundle") from None
    except (
        OSError,
        UnicodeDecodeError,
        ValueError,
    ) as exc:  # JSONDecodeError and NaN/Infinity are ValueErrors
        raise BundleError(f"{jpath}: unreadable bundle metadata ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(
            f"{jpath}: not a vibsentry bundle (format {doc.get('format') if isinstance(doc, dict) else None!r})"
        )
    ver = doc.get("format_version")
    if ver != FORMAT_VERSION:
        raise BundleError(
            f"{jpath}: format_version {ver!r} is not supported (this vibsentry reads {FORMAT_VERSION})"
        )
    if doc.get("bundle_sha256") != metadata_sha256(doc):
        raise BundleError(f"{jpath}: content does not match its bundle_sha256; edited by hand or tampered?")
    files = _need(doc, "files", p)
    if not isinstance(files, dict) or MODEL_FILE not in files:
        raise BundleError(f"{jpath}: 'files' must list {MODEL_FILE} with its sha256")
    blobs: dict[str, bytes] = {}
    for name, want in files.items():
        if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
            raise BundleError(f"{jpath}: file name {name!r} in 'files' is not a plain file of the bundle")
        f = p / name
        try:
            data = _read_regular(f)
            got = sha256_bytes(data)
        except FileNotFoundError:
            raise BundleError(f"{f}: listed in bundle.json but missing; the bundle is incomplete") from None
        except OSError as exc:
            raise BundleError(f"{f}: unreadable ({exc.strerror})") from None
        if got != want:
            raise BundleError(
                f"{f}: sha256 {got[:16]}… does not match bundle.json ({str(want)[:16]}…); tampered?"
            )
        if name.endswith(".tflite"):
            blobs[name] = data  # the verified bytes, so a later change on disk cannot slip in
    try:
        params = FeatureParams.from_dict(_need(doc, "feature_params", p), source=str(jpath))
        if params.feature_hash != _need(doc, "feature_hash", p):
            raise BundleError(f"{jpath}: feature_params do not hash to feature_hash {doc['feature_hash']!r}")
        kind = _need(doc, "kind", p)
        if kind not in ("anomaly", "classifier"):
            raise BundleError(f"{jpath}: kind {kind!r} must be 'anomaly' or 'classifier'")
        norm = _need(doc, "normalisation", p)
        mean = np.asarray(norm["mean"], dtype=np.float32)
        std = np.asarray(norm["std"], dtype=np.float32)
        if mean.shape != (params.n_features,) or std.shape != (params.n_features,):
            raise BundleError(f"{jpath}: normalisation mean/std must have {params.n_features} values")
        alarm = doc.get("alarm")
        rule = AlarmRule.from_dict(alarm) if alarm else None
        score = doc.get("score")
        if score is not None:
            want = SCORE_AUTOENCODER if kind == "anomaly" else SCORE_CLASSIFIER
            got_def = score.get("definition") if isinstance(score, dict) else score
            if got_def != want:
                raise BundleError(
                    f"{jpath}: score definition {got_def!r} is unknown for a {kind} bundle (this vibsentry "
                    f"computes {want!r})"
                )
    except BundleError:
        raise
    except (VibsentryError, KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{jpath}: invalid bundle metadata ({exc})") from None
    return Bundle(
        path=p,
        meta=doc,
        params=params,
        kind=kind,
        classes=list(_need(doc, "classes", p)),
        alarm=rule,
        mean=mean,
        std=std,
        _blobs=blobs,
    )
