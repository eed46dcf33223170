"""Moved to :mod:`vibsentry.diagnostics.iso10816`; this name stays so existing imports keep working."""

from vibsentry.diagnostics.iso10816 import (
    DEFAULT_GROUP,
    DEFAULT_GROUPS,
    ZONE_MEANING,
    ZONES,
    ZoneLimits,
    limits_for,
    load_groups,
    zone_of,
)

__all__ = [
    "DEFAULT_GROUP",
    "DEFAULT_GROUPS",
    "ZONES",
    "ZONE_MEANING",
    "ZoneLimits",
    "limits_for",
    "load_groups",
    "zone_of",
]
