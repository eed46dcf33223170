"""Vibration diagnostics: bearing kinematics, shaft speed, envelope analysis and findings.

``docs/diagnostics.md`` is the specification. Entry point: :func:`diagnose`.
"""

from vibsentry.diagnostics.analysis import FAULTS, Diagnosis, Finding, diagnose
from vibsentry.diagnostics.bearings import (
    CATALOGUE,
    BearingGeometry,
    bearing_frequencies,
    bearing_orders,
    defect_frequencies,
    get_bearing,
    parse_geometry,
)
from vibsentry.diagnostics.kurtogram import Kurtogram, envelope_spectrum, fast_kurtogram
from vibsentry.diagnostics.speed import SpeedEstimate, estimate_speed

__all__ = [
    "CATALOGUE",
    "FAULTS",
    "BearingGeometry",
    "Diagnosis",
    "Finding",
    "Kurtogram",
    "SpeedEstimate",
    "bearing_frequencies",
    "bearing_orders",
    "defect_frequencies",
    "diagnose",
    "envelope_spectrum",
    "estimate_speed",
    "fast_kurtogram",
    "get_bearing",
    "parse_geometry",
]
