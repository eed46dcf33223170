"""Feature pipeline: the Python reference that the C firmware mirrors (see ``docs/features.md``).

>>> from vibsentry.dsp import FeatureParams, extract_features
>>> params = FeatureParams()                     # 12 kHz, 1024-sample frames, log-mel 32 + stats + velocity
>>> feats = extract_features(signal, params=params)  # doctest: +SKIP
>>> feats.shape                                  # doctest: +SKIP
(n_frames, 40)
"""

from vibsentry.dsp.features import (
    FeatureTables,
    check_signal,
    extract_features,
    feature_tables,
    features_from_frames,
    frame_signal,
    n_frames,
)
from vibsentry.dsp.params import CONTRACT, FEATURE_GROUPS, FeatureParams
from vibsentry.dsp.stream import FeatureStream, stream_features

__all__ = [
    "CONTRACT",
    "FEATURE_GROUPS",
    "FeatureParams",
    "FeatureStream",
    "FeatureTables",
    "check_signal",
    "extract_features",
    "feature_tables",
    "features_from_frames",
    "frame_signal",
    "n_frames",
    "stream_features",
]
