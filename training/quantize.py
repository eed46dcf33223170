"""Full-integer INT8 TFLite conversion with a representative dataset that covers the tails."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

#: Z-score magnitude the INT8 input range always covers, so a fault far outside the normal range saturates
#: late instead of at the edge of the training data (fault windows are never used to calibrate).
INPUT_RANGE_Z = 8.0


def representative_rows(
    Z: npt.ArrayLike, *, max_rows: int = 2000, seed: int = 0, input_range: float = INPUT_RANGE_Z
) -> npt.NDArray[np.float32]:
    """Rows used to calibrate the INT8 ranges.

    Parameters
    ----------
    Z : array_like, shape (n, n_features)
        Normalised training windows.
    max_rows : int
        Random rows kept (all when fewer).
    seed : int
    input_range : float
        Two extra rows at ``+-input_range`` in every feature stretch the input range (0: none). Anomaly
        detectors need it (faults lie outside the training range); classifiers saw every class already.

    Returns
    -------
    ndarray float32, shape (m, n_features)
        Random rows, every row holding a per-feature minimum or maximum (the tails), and the two range rows.
    """
    z = np.asarray(Z, dtype=np.float32)
    rng = np.random.default_rng(seed)
    pick = rng.permutation(z.shape[0])[:max_rows]
    tails = np.unique(np.concatenate([np.argmin(z, axis=0), np.argmax(z, axis=0)]))
    parts = [z[pick], z[tails]]
    if input_range > 0:
        ends = np.full((2, z.shape[1]), input_range, dtype=np.float32)
        ends[1] *= -1
        parts.append(ends)
    return np.concatenate(parts).astype(np.float32)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Send fd 1 and 2 to /dev/null: the converter prints pages of C++ and SavedModel logs there."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        sink = io.StringIO()
        # Python-level prints go to sys.stdout, which a caller (or pytest) may have replaced.
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


def convert_int8(model: Any, rep: npt.ArrayLike) -> bytes:
    """Full-integer conversion (int8 weights, activations, input and output).

    Parameters
    ----------
    model : keras.Model
        One float input (n_features,), one output.
    rep : array_like, shape (m, n_features)
        Representative rows (see :func:`representative_rows`).

    Returns
    -------
    bytes
        The ``.tflite`` flatbuffer.
    """
    from vibsentry.training.models import import_tensorflow

    tf = import_tensorflow()

    rows = np.asarray(rep, dtype=np.float32)

    def gen() -> Iterator[list[npt.NDArray[np.float32]]]:
        for i in range(rows.shape[0]):
            yield [rows[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = gen
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with silenced():
        return bytes(conv.convert())


def convert_float(model: Any) -> bytes:
    """Float32 TFLite of the same model (the bundle keeps it so float metrics need no TensorFlow)."""
    from vibsentry.training.models import import_tensorflow

    tf = import_tensorflow()

    with silenced():
        return bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
