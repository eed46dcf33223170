"""ISO 10816-3 evaluation zones for broadband velocity RMS (10-1000 Hz, mm/s).

Plant engineers judge overall vibration by zone, not by a raw number:

- **A**: newly commissioned machines;
- **B**: acceptable for unrestricted long-term operation;
- **C**: unsatisfactory for long-term operation, plan a repair;
- **D**: severe enough to cause damage.

ISO 10816-3 gives the zone boundaries for machines above 15 kW, by machine group and foundation. The
defaults below are the boundary values of ISO 10816-3:2009 Table A.1/A.2 (ISO 20816-3:2022 keeps the B/C and
C/D values). Smaller machines (below 15 kW, ISO 10816-1 class I) are added as ``class_i`` because the demo
data (CWRU, a 2 hp motor) belongs there. Every group can be overridden or added in the dashboard's TOML
configuration::

    [dashboard.iso_groups]
    group2_rigid = [1.4, 2.8, 4.5]
    my_fans = [2.0, 4.0, 6.0]

A velocity lands in the lower zone when it is strictly below a boundary: ``v < AB`` is A, ``AB <= v < BC`` is
B, ``BC <= v < CD`` is C, anything else (including NaN-free values at or above CD) is D.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vibsentry.errors import ConfigError

ZONES: tuple[str, ...] = ("A", "B", "C", "D")

ZONE_MEANING: dict[str, str] = {
    "A": "new machine condition",
    "B": "acceptable for long-term operation",
    "C": "unsatisfactory: plan maintenance",
    "D": "severe: risk of damage",
}


_ORDER = "must satisfy 0 < A/B < B/C < C/D (mm/s)"


def _bad(name: str, value: Any, why: str) -> ConfigError:
    return ConfigError(f"ISO 10816 group {name!r}: boundaries {value!r} {why}")


@dataclass(frozen=True)
class ZoneLimits:
    """Zone boundaries of one machine group, velocity RMS in mm/s.

    Parameters
    ----------
    name : str
        Machine group name as used in the configuration (for example ``"group2_rigid"``).
    ab, bc, cd : float
        Boundaries A/B, B/C and C/D in mm/s; ``0 < ab < bc < cd``, all finite.
    description : str
        What machines the group covers (shown in the dashboard).
    """

    name: str
    ab: float
    bc: float
    cd: float
    description: str = ""

    def __post_init__(self) -> None:
        vals = (self.ab, self.bc, self.cd)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals):
            raise _bad(self.name, list(vals), "must be finite numbers")
        if not 0 < self.ab < self.bc < self.cd:
            raise _bad(self.name, list(vals), _ORDER)

    @property
    def boundaries(self) -> tuple[float, float, float]:
        """``(ab, bc, cd)`` in mm/s."""
        return (self.ab, self.bc, self.cd)

    def zone(self, velocity_rms_mm_s: float) -> str | None:
        """Zone letter for one velocity RMS value in mm/s; None for a missing (NaN/None) value."""
        return zone_of(velocity_rms_mm_s, self)


#: Defaults. ISO 10816-3 group 1: large machines, 300 kW - 50 MW; group 2: medium machines, 15 - 300 kW.
DEFAULT_GROUPS: dict[str, ZoneLimits] = {
    "group1_rigid": ZoneLimits("group1_rigid", 2.3, 4.5, 7.1, "ISO 10816-3 group 1 (>300 kW), rigid"),
    "group1_flexible": ZoneLimits(
        "group1_flexible", 3.5, 7.1, 11.0, "ISO 10816-3 group 1 (>300 kW), flexible"
    ),
    "group2_rigid": ZoneLimits("group2_rigid", 1.4, 2.8, 4.5, "ISO 10816-3 group 2 (15-300 kW), rigid"),
    "group2_flexible": ZoneLimits(
        "group2_flexible", 2.3, 4.5, 7.1, "ISO 10816-3 group 2 (15-300 kW), flexible"
    ),
    "class_i": ZoneLimits("class_i", 0.71, 1.8, 4.5, "ISO 10816-1 class I (small machines, <15 kW)"),
}

#: The group used for a machine with no group configured.
DEFAULT_GROUP = "group2_rigid"


def zone_of(velocity_rms_mm_s: float | None, limits: ZoneLimits) -> str | None:
    """Return the ISO 10816 zone letter of a velocity RMS.

    Parameters
    ----------
    velocity_rms_mm_s : float or None
        Broadband velocity RMS, 10-1000 Hz, in mm/s.
    limits : ZoneLimits
        Boundaries of the machine's group.

    Returns
    -------
    str or None
        ``"A"``, ``"B"``, ``"C"`` or ``"D"``; None when the value is missing or NaN.
    """
    if velocity_rms_mm_s is None:
        return None
    v = float(velocity_rms_mm_s)
    if math.isnan(v):
        return None
    if v < limits.ab:
        return "A"
    if v < limits.bc:
        return "B"
    if v < limits.cd:
        return "C"
    return "D"


def load_groups(config: Mapping[str, Any] | None = None) -> dict[str, ZoneLimits]:
    """Default groups updated with ``config`` (``{name: [ab, bc, cd]}``), validated.

    Parameters
    ----------
    config : mapping, optional
        Group name -> three boundaries in mm/s, typically the ``[dashboard.iso_groups]`` TOML table.

    Returns
    -------
    dict of str to ZoneLimits
    """
    groups = dict(DEFAULT_GROUPS)
    for name, value in (config or {}).items():
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise _bad(name, value, "expected three boundaries [A/B, B/C, C/D]")
        try:
            ab, bc, cd = (float(x) for x in value)
        except (TypeError, ValueError):
            raise _bad(name, value, "are not numbers") from None
        if not 0 < ab < bc < cd:
            raise _bad(name, list(value), _ORDER)
        desc = DEFAULT_GROUPS[name].description + " (overridden)" if name in DEFAULT_GROUPS else "configured"
        groups[name] = ZoneLimits(name, ab, bc, cd, desc)
    return groups


def limits_for(group: str | None, groups: Mapping[str, ZoneLimits] | None = None) -> ZoneLimits:
    """Limits of ``group`` (None: :data:`DEFAULT_GROUP`); an unknown group raises :class:`ConfigError`."""
    table = DEFAULT_GROUPS if groups is None else groups
    key = group or DEFAULT_GROUP
    if key not in table:
        raise ConfigError(f"unknown ISO 10816 machine group {key!r}; known: {', '.join(sorted(table))}")
    return table[key]
