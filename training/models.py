"""Detectors and classifiers with one scikit-learn-style interface.

Anomaly detectors (:class:`AutoencoderDetector`, :class:`IsolationForestDetector`,
:class:`MahalanobisDetector`) are fitted on normal windows only. Unlike scikit-learn's outlier detectors,
``score_samples`` returns an **anomaly score, higher = more anomalous** (the same direction as the score a
node streams); ``decision_function`` is ``score - threshold_`` (positive = anomaly) and ``predict`` returns 1
for anomaly, 0 for normal. ``threshold_`` starts as the 99th percentile of the training scores and is replaced
by the calibrated threshold (:mod:`vibsentry.training.calibrate`).

Every estimator z-scores its input with per-feature ``mean_`` / ``std_`` learnt from the training windows, the
same normalisation the bundle stores and the firmware applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from vibsentry.errors import DatasetError
from vibsentry.runtime.score import reconstruction_mse

F32 = npt.NDArray[np.float32]
#: Floor of the per-feature std, so a constant feature does not blow up the z-score.
STD_FLOOR = 1e-6
#: Std stored for an ignored feature: its z-score is then ~1e-30 and quantizes to the zero point, so the
#: model never sees it while the input vector keeps the length the firmware computes.
IGNORED_STD = 1e30


def fit_normaliser(X: npt.ArrayLike, *, ignore: tuple[int, ...] = ()) -> tuple[F32, F32]:
    """Per-feature mean and std (float32) of ``X`` (n_windows, n_features), std floored at ``STD_FLOOR``.

    Columns in ``ignore`` get std :data:`IGNORED_STD` (their normalised value is zero for any input).
    """
    x = np.asarray(X, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise DatasetError(f"need at least 2 training windows to normalise, got shape {x.shape}")
    mean = x.mean(axis=0).astype(np.float32)
    std = np.maximum(x.std(axis=0), STD_FLOOR)
    std[list(ignore)] = IGNORED_STD
    return mean, std.astype(np.float32)


def normalise(X: npt.ArrayLike, mean: F32, std: F32) -> F32:
    """``(X - mean) / std`` in float32 (the order of operations the firmware uses)."""
    x = np.asarray(X, dtype=np.float32)
    return ((x - mean) / std).astype(np.float32)


def import_tensorflow() -> Any:
    """Import TensorFlow the one way vibsentry does (lazily: the gateway and dashboard never need it).

    oneDNN's float kernels are switched off unless the user set ``TF_ENABLE_ONEDNN_OPTS``: they reorder
    reductions depending on the CPU, so the same seed could train a different model on another machine, and
    they print a notice on every import that clutters ``vibsentry demo`` and ``train`` output.
    """
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    return tf


def _setup_tf(seed: int) -> Any:
    tf = import_tensorflow()

    try:
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised in this process; the setting only applies once
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    return tf


@dataclass
class _Base:
    seed: int = 0
    ignore_features: tuple[int, ...] = ()
    threshold_: float = field(default=0.0, init=False)
    mean_: F32 = field(default_factory=lambda: np.zeros(0, np.float32), init=False)
    std_: F32 = field(default_factory=lambda: np.ones(0, np.float32), init=False)

    def _score(self, Z: F32) -> F32:  # pragma: no cover - abstract
        raise NotImplementedError

    def score_samples(self, X: npt.ArrayLike) -> F32:
        """Anomaly score per window, shape (n_windows,), float32; higher = more anomalous."""
        return self._score(normalise(X, self.mean_, self.std_))

    def decision_function(self, X: npt.ArrayLike) -> F32:
        """``score_samples(X) - threshold_``; positive means anomaly."""
        return (self.score_samples(X) - np.float32(self.threshold_)).astype(np.float32)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """1 where the score is strictly above ``threshold_`` (anomaly), else 0."""
        return (self.score_samples(X) > np.float32(self.threshold_)).astype(np.int64)

    def _finish_fit(self, X: npt.ArrayLike) -> None:
        self.threshold_ = float(np.float32(np.percentile(self.score_samples(X), 99)))


@dataclass
class AutoencoderDetector(_Base):
    """Dense autoencoder (default 40-32-16-32-40, ReLU) on z-scored features; score = reconstruction MSE.

    Parameters
    ----------
    hidden : tuple of int
        Hidden layer widths (encoder, bottleneck, decoder), e.g. ``(32, 16, 32)``.
    epochs, batch_size, learning_rate, patience : training settings (Adam, early stopping on val loss).
    seed : int
        Seeds TensorFlow, NumPy and Python; with op determinism the fit is reproducible.

    Attributes
    ----------
    model_ : keras.Model
    history_ : dict of list of float
        ``loss`` / ``val_loss`` per epoch.
    """

    hidden: tuple[int, ...] = (32, 16, 32)
    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 15
    model_: Any = field(default=None, init=False)
    history_: dict[str, list[float]] = field(default_factory=dict, init=False)

    def fit(
        self, X: npt.ArrayLike, *, X_val: npt.ArrayLike | None = None, quiet: bool = True
    ) -> AutoencoderDetector:
        """Fit on normal windows ``X`` (n, n_features); ``X_val`` drives early stopping."""
        tf = _setup_tf(self.seed)
        self.mean_, self.std_ = fit_normaliser(X, ignore=self.ignore_features)
        Z = normalise(X, self.mean_, self.std_)
        n_in = Z.shape[1]
        model = _dense_net(tf, n_in, self.hidden, n_in, None, "autoencoder")
        val = None
        if X_val is not None and np.asarray(X_val).shape[0] > 0:
            Zv = normalise(X_val, self.mean_, self.std_)
            val = (Zv, Zv)
        self.history_ = _keras_fit(tf, model, Z, Z, val, self, quiet)
        self.model_ = model
        self._finish_fit(X)
        return self

    def reconstruct(self, Z: F32) -> F32:
        """Float reconstruction of z-scored windows, shape (n, n_features)."""
        return np.asarray(self.model_(Z, training=False), dtype=np.float32)

    def _score(self, Z: F32) -> F32:
        return reconstruction_mse(Z, self.reconstruct(Z))


@dataclass
class _SklearnDetector(_Base):
    model_: Any = field(default=None, init=False)

    def _make(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, X: npt.ArrayLike, **_: Any) -> _SklearnDetector:
        """Fit on normal windows ``X`` (n, n_features)."""
        self.mean_, self.std_ = fit_normaliser(X, ignore=self.ignore_features)
        self.model_ = self._make()
        self.model_.fit(normalise(X, self.mean_, self.std_))
        self._finish_fit(X)
        return self

    def _score(self, Z: F32) -> F32:
        # scikit-learn scores are higher for inliers; flip them so higher means more anomalous.
        return (-self.model_.score_samples(Z)).astype(np.float32)


@dataclass
class IsolationForestDetector(_SklearnDetector):
    """scikit-learn IsolationForest baseline; score = ``-IsolationForest.score_samples`` (higher = anomalous).

    Attributes
    ----------
    model_ : sklearn.ensemble.IsolationForest
    """

    n_estimators: int = 200

    def _make(self) -> Any:
        from sklearn.ensemble import IsolationForest

        return IsolationForest(n_estimators=self.n_estimators, random_state=self.seed)


@dataclass
class MahalanobisDetector(_SklearnDetector):
    """Gaussian mixture baseline; score = negative log-likelihood (one component = Mahalanobis distance).

    Attributes
    ----------
    model_ : sklearn.mixture.GaussianMixture
    """

    n_components: int = 1

    def _make(self) -> Any:
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(
            n_components=self.n_components, covariance_type="full", reg_covar=1e-3, random_state=self.seed
        )


@dataclass
class MLPClassifier:
    """Small Keras MLP fault classifier on z-scored features (softmax output).

    Parameters
    ----------
    hidden : tuple of int
        Hidden widths, default ``(64, 32)``.
    epochs, batch_size, learning_rate, patience, seed : training settings.
    balanced : bool
        Weigh each class's windows so every class counts the same in the loss (default True).

    Attributes
    ----------
    classes_ : list of str
    mean_, std_ : ndarray float32 (n_features,)
    model_ : keras.Model
    history_ : dict of list of float
    """

    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 15
    seed: int = 0
    ignore_features: tuple[int, ...] = ()
    balanced: bool = True
    classes_: list[str] = field(default_factory=list, init=False)
    mean_: F32 = field(default_factory=lambda: np.zeros(0, np.float32), init=False)
    std_: F32 = field(default_factory=lambda: np.ones(0, np.float32), init=False)
    model_: Any = field(default=None, init=False)
    history_: dict[str, list[float]] = field(default_factory=dict, init=False)

    def fit(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        X_val: npt.ArrayLike | None = None,
        y_val: npt.ArrayLike | None = None,
        classes: list[str] | None = None,
        quiet: bool = True,
    ) -> MLPClassifier:
        """Fit on windows ``X`` (n, n_features) with string labels ``y`` (n,)."""
        tf = _setup_tf(self.seed)
        yv = np.asarray(y).astype(str)
        self.classes_ = list(classes) if classes is not None else sorted(set(yv.tolist()))
        index = {c: i for i, c in enumerate(self.classes_)}
        self.mean_, self.std_ = fit_normaliser(X, ignore=self.ignore_features)
        Z = normalise(X, self.mean_, self.std_)
        yi = np.array([index[c] for c in yv], dtype=np.int64)
        model = self._build(tf, Z.shape[1], len(self.classes_))
        val = None
        if X_val is not None and y_val is not None and np.asarray(X_val).shape[0] > 0:
            yvv = np.array([index.get(c, -1) for c in np.asarray(y_val).astype(str)])
            keep = yvv >= 0
            val = (normalise(np.asarray(X_val)[keep], self.mean_, self.std_), yvv[keep])
        # Balanced class weights: CWRU-like sets have far fewer normal windows than fault windows.
        counts = np.bincount(yi, minlength=len(self.classes_)).astype(np.float64)
        weights = {i: float(len(yi) / (len(counts) * c)) for i, c in enumerate(counts) if c > 0}
        self.history_ = _keras_fit(
            tf,
            model,
            Z,
            yi,
            val,
            self,
            quiet,
            loss="sparse_categorical_crossentropy",
            class_weight=weights if self.balanced else None,
        )
        self.model_ = model
        return self

    def _build(self, tf: Any, n_in: int, n_out: int) -> Any:
        return _dense_net(tf, n_in, self.hidden, n_out, "softmax", "classifier")

    def predict_proba(self, X: npt.ArrayLike) -> F32:
        """Class probabilities, shape (n_windows, n_classes), float32."""
        Z = normalise(X, self.mean_, self.std_)
        return np.asarray(self.model_(Z, training=False), dtype=np.float32)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.str_]:
        """Most probable class name per window."""
        return np.asarray(self.classes_)[np.argmax(self.predict_proba(X), axis=1)]

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike) -> float:
        """Accuracy on ``(X, y)``."""
        return float(np.mean(self.predict(X) == np.asarray(y).astype(str)))


@dataclass
class CNN1DClassifier(MLPClassifier):
    """1-D CNN fault classifier: the feature vector as a sequence (neighbouring mel bands are neighbours).

    ``hidden = (f1, f2)``: two Conv1D layers (kernel 5 then 3 with stride 2, ReLU, ``f1`` and ``f2``
    filters), flattened into the softmax layer. Same interface and attributes as :class:`MLPClassifier`.
    """

    hidden: tuple[int, ...] = (8, 16)

    def _build(self, tf: Any, n_in: int, n_out: int) -> Any:
        inp = tf.keras.Input(shape=(n_in,), name="features")
        h = tf.keras.layers.Reshape((n_in, 1))(inp)
        h = tf.keras.layers.Conv1D(self.hidden[0], 5, padding="same", activation="relu", name="conv_0")(h)
        h = tf.keras.layers.Conv1D(
            self.hidden[-1], 3, strides=2, padding="same", activation="relu", name="conv_1"
        )(h)
        h = tf.keras.layers.Flatten()(h)
        out = tf.keras.layers.Dense(n_out, activation="softmax", name="output")(h)
        return tf.keras.Model(inp, out, name="cnn1d_classifier")


@dataclass
class LinearDetector(_Base):
    """Mahalanobis distance or PCA residual, built as a one-layer linear "autoencoder" for the INT8 runtime.

    Both scores are written as the reconstruction error of one fully connected layer, so they run through
    the same INT8 kernels, score definition (``docs/bundle.md``), threshold and alarm rule as the
    autoencoder, on the node and in Python, with no code of their own:

    - ``"mahalanobis"``: with ``P = W^T W`` the (Ledoit-Wolf shrunk) inverse covariance of the training
      z-scores, the layer outputs ``r = z - W (z - mu)``, so ``mean((z - r)^2) = (z - mu)^T P (z - mu) / n``,
      the squared Mahalanobis distance over the number of features;
    - ``"pca"``: the layer projects onto the principal subspace that holds ``variance`` of the training
      variance, ``r = mu + (z - mu) V V^T``; the score is the energy left outside it.

    Parameters
    ----------
    method : {"mahalanobis", "pca"}
    variance : float
        PCA only: fraction of the variance the kept components explain, in (0, 1).

    Attributes
    ----------
    model_ : keras.Model
        Input -> Dense(n_features) with the weights above (no training).
    history_ : dict
        Empty (nothing is iterated).
    """

    method: str = "mahalanobis"
    variance: float = 0.95
    model_: Any = field(default=None, init=False)
    history_: dict[str, list[float]] = field(default_factory=dict, init=False)

    def fit(self, X: npt.ArrayLike, **_: Any) -> LinearDetector:
        """Fit on normal windows ``X`` (n, n_features)."""
        if self.method not in ("mahalanobis", "pca"):
            raise ValueError(f"method {self.method!r}: choose 'mahalanobis' or 'pca'")
        tf = _setup_tf(self.seed)
        self.mean_, self.std_ = fit_normaliser(X, ignore=self.ignore_features)
        Z = normalise(X, self.mean_, self.std_).astype(np.float64)
        n = Z.shape[1]
        act = np.array([j for j in range(n) if j not in set(self.ignore_features)])
        mu = np.zeros(n)
        mu[act] = Z[:, act].mean(axis=0)
        Za = Z[:, act] - mu[act]
        K = np.eye(n)  # kernel of y = z @ K + b; ignored columns are 0 in and out
        if self.method == "mahalanobis":
            from sklearn.covariance import LedoitWolf

            prec = np.linalg.inv(LedoitWolf().fit(Za).covariance_)
            W = np.linalg.cholesky(prec).T  # prec = W^T W, W upper triangular
            Ka = np.eye(act.size) - W.T
        else:
            sv, vt = np.linalg.svd(Za, full_matrices=False)[1:]
            frac = np.cumsum(sv**2) / np.sum(sv**2)
            k = int(np.searchsorted(frac, self.variance) + 1)
            V = vt[:k].T
            Ka = V @ V.T
        K[np.ix_(act, act)] = Ka
        b = mu - mu @ K
        inp = tf.keras.Input(shape=(n,), name="features")
        out = tf.keras.layers.Dense(n, activation=None, name="output")(inp)
        model = tf.keras.Model(inp, out, name=self.method)
        model.get_layer("output").set_weights([K.astype(np.float32), b.astype(np.float32)])
        self.model_ = model
        self.history_ = {}
        self._finish_fit(X)
        return self

    def reconstruct(self, Z: F32) -> F32:
        """Float output of the layer for z-scored windows, shape (n, n_features)."""
        return np.asarray(self.model_(Z, training=False), dtype=np.float32)

    def _score(self, Z: F32) -> F32:
        return reconstruction_mse(Z, self.reconstruct(Z))


def _dense_net(
    tf: Any, n_in: int, hidden: tuple[int, ...], n_out: int, out_activation: str | None, name: str
) -> Any:
    inp = tf.keras.Input(shape=(n_in,), name="features")
    h = inp
    for i, width in enumerate(hidden):
        h = tf.keras.layers.Dense(width, activation="relu", name=f"dense_{i}")(h)
    out = tf.keras.layers.Dense(n_out, activation=out_activation, name="output")(h)
    return tf.keras.Model(inp, out, name=name)


def _keras_fit(
    tf: Any,
    model: Any,
    x: Any,
    y: Any,
    val: Any,
    est: Any,
    quiet: bool,
    *,
    loss: str = "mse",
    class_weight: dict[int, float] | None = None,
) -> dict[str, list[float]]:
    """Adam with early stopping on the val loss (train loss without val), restoring the best weights.

    A plain loop over in-memory batches: ``keras.Model.fit`` builds a tf.data pipeline per epoch, which costs
    more than training these tiny networks.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32 if loss == "mse" else np.int32)
    w = np.ones(x.shape[0], np.float32)
    if class_weight:
        w = np.array([class_weight[int(c)] for c in y], dtype=np.float32)
    opt = tf.keras.optimizers.Adam(est.learning_rate)

    def loss_of(yt: Any, yp: Any, wt: Any) -> Any:
        if loss == "mse":
            per = tf.reduce_mean(tf.square(yt - yp), axis=-1)
        else:
            per = tf.keras.losses.sparse_categorical_crossentropy(yt, yp)
        return tf.reduce_sum(per * wt) / tf.reduce_sum(wt)

    @tf.function(reduce_retracing=True)
    def step(xb: Any, yb: Any, wb: Any) -> Any:
        with tf.GradientTape() as tape:
            lv = loss_of(yb, model(xb, training=True), wb)
        grads = tape.gradient(lv, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return lv

    @tf.function(reduce_retracing=True)
    def evaluate(xe: Any, ye: Any) -> Any:
        return loss_of(ye, model(xe, training=False), tf.ones(tf.shape(xe)[0]))

    rng = np.random.default_rng(est.seed)
    hist: dict[str, list[float]] = {"loss": []}
    if val is not None:
        hist["val_loss"] = []
        xv = tf.constant(np.asarray(val[0], np.float32))
        yv = tf.constant(np.asarray(val[1], np.float32 if loss == "mse" else np.int32))
    best, best_w, wait = np.inf, model.get_weights(), 0
    from vibsentry.progress import bar

    pb = bar(total=est.epochs, desc="training", unit="epoch", quiet=quiet)
    for _ in range(est.epochs):
        order = rng.permutation(x.shape[0])
        tot = 0.0
        for i in range(0, x.shape[0], est.batch_size):
            sel = order[i : i + est.batch_size]
            tot += float(step(x[sel], y[sel], w[sel])) * sel.size
        hist["loss"].append(tot / x.shape[0])
        cur = hist["loss"][-1]
        if val is not None:
            cur = float(evaluate(xv, yv))
            hist["val_loss"].append(cur)
        pb.update(1)
        if cur < best - 1e-7:
            best, best_w, wait = cur, model.get_weights(), 0
        else:
            wait += 1
            if wait >= est.patience:
                break
    pb.close()
    model.set_weights(best_w)
    return hist


DETECTORS = {
    "autoencoder": AutoencoderDetector,
    "isolation_forest": IsolationForestDetector,
    "mahalanobis": MahalanobisDetector,
}
