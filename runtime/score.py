"""The anomaly score of an autoencoder bundle, computed exactly as the firmware computes it.

The definition is normative (``docs/bundle.md``):

1. ``z = (x - mean) / std`` in float32 (per feature);
2. ``q = clamp(round_half_away(z / s_in) + zp_in, -128, 127)`` (int8 model input);
3. ``zq = (q - zp_in) * s_in`` (float32; the input as the model saw it);
4. the INT8 model maps ``q`` to ``r`` (int8); ``y = (r - zp_out) * s_out`` (float32);
5. ``score = sum_j (zq_j - y_j)^2 / n_features``, accumulated in float32 in feature order.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vibsentry.runtime.model import TFLiteModel

F32 = npt.NDArray[np.float32]


def reconstruction_mse(a: npt.ArrayLike, b: npt.ArrayLike) -> F32:
    """Mean squared difference per row in float32, summed in feature order as the firmware does.

    Parameters
    ----------
    a, b : array_like, shape (n, n_features)

    Returns
    -------
    ndarray, float32, shape (n,)
    """
    x = np.asarray(a, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    d = x - y
    acc = np.zeros(x.shape[0], dtype=np.float32)
    # Sequential accumulation (not numpy's pairwise sum) so C, summing j = 0..n-1, gets the same bits.
    for j in range(x.shape[1]):
        acc += d[:, j] * d[:, j]
    return (acc / np.float32(x.shape[1])).astype(np.float32)


def autoencoder_score(model: TFLiteModel, z: npt.ArrayLike) -> F32:
    """Anomaly score of z-scored windows ``z`` (n, n_features) per the definition above; float32 (n,)."""
    seen, y = model.run_float(z)
    return reconstruction_mse(seen, y)
