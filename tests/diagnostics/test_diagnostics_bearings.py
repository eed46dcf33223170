"""vibsentry.diagnostics.bearings: defect-frequency formulas, the catalogue, custom geometry."""

from __future__ import annotations

import numpy as np
import pytest

from vibsentry import synth
from vibsentry.diagnostics import (
    CATALOGUE,
    BearingGeometry,
    bearing_frequencies,
    bearing_orders,
    defect_frequencies,
    get_bearing,
    parse_geometry,
)
from vibsentry.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "published"),
    [
        # CWRU Bearing Data Center "bearing information": multiples of running speed (their "BSF" is 2 x BSF).
        ("6205-2rs", {"bpfi": 5.4152, "bpfo": 3.5848, "ftf": 0.39828, "2bsf": 4.7135}),
        ("6203-2rs", {"bpfi": 4.9469, "bpfo": 3.0530, "ftf": 0.3817, "2bsf": 3.9874}),
    ],
)
def test_catalogue_orders_match_the_values_cwru_publishes(name: str, published: dict[str, float]) -> None:
    o = bearing_orders(get_bearing(name))
    o["2bsf"] = 2 * o["bsf"]
    for key, value in published.items():
        assert o[key] == pytest.approx(value, rel=2e-4), key


def test_femto_bearing_from_the_challenge_document() -> None:
    g = get_bearing("femto")
    assert (g.n_balls, g.ball_diameter_mm, g.pitch_diameter_mm) == (13, 3.5, 25.6)
    f = bearing_frequencies(g, 1800.0)
    rho = 3.5 / 25.6
    assert f["bpfo"] == pytest.approx(13 / 2 * (1 - rho) * 30.0)
    assert f["bpfi"] == pytest.approx(13 / 2 * (1 + rho) * 30.0)


def test_every_catalogue_entry_names_its_source_and_aliases_resolve() -> None:
    for key, (geom, source) in CATALOGUE.items():
        assert isinstance(geom, BearingGeometry) and len(source) > 20, key
    assert get_bearing("CWRU-DE") == get_bearing("6205-2RS") == BearingGeometry()
    assert get_bearing("pronostia") == get_bearing("femto")
    with pytest.raises(ConfigError, match=r"unknown bearing '6206'.*6205-2rs"):
        get_bearing("6206")


def test_synth_reexports_the_same_objects() -> None:
    assert synth.BearingGeometry is BearingGeometry
    assert synth.bearing_orders is bearing_orders and synth.bearing_frequencies is bearing_frequencies


def test_batched_frequencies_equal_the_scalar_ones() -> None:
    g = get_bearing("za-2115")
    rpm = np.array([[600.0, 1797.0], [2000.0, 3600.0]])
    batch = defect_frequencies(geometry=g, rpm=rpm)
    for idx in np.ndindex(rpm.shape):
        one = bearing_frequencies(g, float(rpm[idx]))
        for key, value in one.items():
            assert batch[key][idx] == pytest.approx(value, rel=1e-12)
    with pytest.raises(ConfigError, match=r"rpm=-1\.0"):
        defect_frequencies(rpm=[100.0, -1.0])


def test_contact_angle_lowers_rho() -> None:
    flat = bearing_orders(BearingGeometry(16, 8.4074, 71.501, 0.0))
    angled = bearing_orders(BearingGeometry(16, 8.4074, 71.501, 15.17))
    assert angled["bpfo"] > flat["bpfo"] and angled["bpfi"] < flat["bpfi"]


def test_parse_geometry_accepts_three_or_four_numbers() -> None:
    g = parse_geometry("9, 7.94, 39.04, 0")
    assert (g.n_balls, g.ball_diameter_mm, g.pitch_diameter_mm, g.contact_angle_deg) == (9, 7.94, 39.04, 0.0)
    assert parse_geometry("8,10,50").contact_angle_deg == 0.0


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("9,7.94", "expected n,ball_mm,pitch_mm"),
        ("9,x,39,0", "must be a number"),
        ("9.5,7.94,39.04,0", "not an integer"),
        ("2,7.94,39.04,0", "n_balls=2"),
        ("9,40,39.04,0", "must be smaller than"),
        ("9,7.94,39.04,95", "contact_angle_deg=95.0"),
        ("9,7.94,39.04,0,1", "expected n,ball_mm,pitch_mm"),
    ],
)
def test_parse_geometry_rejects_bad_text_in_one_line(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        parse_geometry(text)
    assert "\n" not in str(info.value) and repr(text) in str(info.value)
