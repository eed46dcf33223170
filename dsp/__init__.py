"""Feature pipeline: the Python reference that the C firmware mirrors (see docs/features.md)."""

from vibsentry.dsp.params import FeatureParams

__all__ = ["FeatureParams"]
