"""ISO 10816 / 20816 evaluation zones (vibsentry.diagnostics.iso10816; formerly vibsentry.dashboard.iso10816)."""

from __future__ import annotations

import math

import pytest

from vibsentry.diagnostics.iso10816 import DEFAULT_GROUP, DEFAULT_GROUPS, limits_for, load_groups, zone_of
from vibsentry.errors import ConfigError


@pytest.mark.parametrize(
    ("group", "velocity", "zone"),
    [
        ("group2_rigid", 0.5, "A"),
        ("group2_rigid", 1.4, "B"),  # a boundary value belongs to the upper zone
        ("group2_rigid", 2.79, "B"),
        ("group2_rigid", 3.0, "C"),
        ("group2_rigid", 4.5, "D"),
        ("group1_flexible", 10.9, "C"),
        ("group1_flexible", 11.0, "D"),
        ("group1_rigid", 2.2, "A"),
        ("class_i", 1.0, "B"),
    ],
)
def test_zone_boundaries_match_iso_10816_tables(group: str, velocity: float, zone: str) -> None:
    assert zone_of(velocity, limits_for(group)) == zone


def test_missing_velocity_has_no_zone() -> None:
    lim = limits_for(None)
    assert lim.name == DEFAULT_GROUP
    assert zone_of(None, lim) is None
    assert zone_of(math.nan, lim) is None


def test_groups_are_configurable_and_validated() -> None:
    groups = load_groups({"fans": [2, 4, 6], "group2_rigid": [1.0, 2.0, 3.0]})
    assert zone_of(5.0, groups["fans"]) == "C"
    assert groups["group2_rigid"].boundaries == (1.0, 2.0, 3.0)
    assert DEFAULT_GROUPS["group2_rigid"].boundaries == (1.4, 2.8, 4.5)  # defaults untouched
    with pytest.raises(ConfigError, match=r"'fans'.*\[4, 2, 6\]"):
        load_groups({"fans": [4, 2, 6]})
    with pytest.raises(ConfigError, match="three boundaries"):
        load_groups({"fans": [1, 2]})
    with pytest.raises(ConfigError, match="'nope'"):
        limits_for("nope")
