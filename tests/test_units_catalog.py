"""Unit conversions and the layer catalogue."""

import pytest

from spatial.geo.units import convert_area, to_m2
from spatial.rules.catalog import load_catalog


def test_area_units():
    assert convert_area(10_000.0, "ha") == 1.0
    assert convert_area(1_000_000.0, "km2") == 1.0
    # 1 mu is 10000/15 m2 exactly, so 15 mu make one hectare and 1 万亩 is 6.6667 km2 (SEED_BRIEF §4)
    assert convert_area(10_000.0, "mu") == pytest.approx(15.0, rel=1e-15)
    assert convert_area(to_m2(10_000.0, "mu"), "km2") == pytest.approx(6.666667, rel=1e-6)
    assert to_m2(1097.32, "km2") == pytest.approx(1.09732e9)
    with pytest.raises(ValueError, match="unknown area unit"):
        convert_area(1.0, "acre")


def test_catalog_has_every_kind_named_in_the_plans():
    cat = load_catalog()
    expected = {
        "admin_city", "admin_county", "admin_township", "ecological_redline", "permanent_farmland",
        "urban_boundary", "ecological_space", "agricultural_space", "urban_space", "strategic_zone",
        "national_park", "nature_reserve", "forest_park", "wetland_park", "geopark", "scenic_area",
        "water_source_zone", "mine_site", "eco_source", "eco_corridor", "eco_node",
    }
    assert expected <= set(cat.kinds)
    for kind in cat.kinds.values():
        assert kind.name_zh and kind.name_en and kind.geometry in {"polygon", "line", "point"}
        assert kind.style, kind.id
        for rule in kind.rules:
            assert rule.verdict in cat.verdicts.order and rule.rule_zh and rule.rule_en and rule.source
            assert rule.source.split(":")[0].split(";")[0].strip() in cat.sources


def test_every_constraint_layer_answers_every_project_type():
    cat = load_catalog()
    for kind in cat.kinds.values():
        if kind.rules:
            for ptype in cat.project_types:
                assert kind.rule_for(ptype) is not None, (kind.id, ptype)


def test_red_line_rules_follow_the_county_plan():
    red = load_catalog().kind("ecological_redline")
    assert red.rule_for("industrial").verdict == "prohibited"
    assert red.rule_for("energy").verdict == "prohibited"
    assert red.rule_for("linear_infrastructure").verdict == "needs_approval"
    assert red.rule_for("ecological_restoration").verdict == "allowed"
    assert red.rule_for("scientific_research").id == "RL13"


def test_delivered_layer_names_are_recognised():
    cat = load_catalog()
    assert cat.kind_for_name("STBHHX.shp").id == "ecological_redline"
    assert cat.kind_for_name("YJJBNTBHTB").id == "permanent_farmland"
    assert cat.kind_for_name("CZKFBJ").id == "urban_boundary"
    assert cat.kind_for_name("DLTB.shp").id == "land_cover"  # the land-survey parcels (三调 地类图斑)
    assert cat.kind_for_name("XZQ_unknown") is None


def test_unknown_kind_is_named(tmp_path):
    with pytest.raises(KeyError, match="unknown layer kind 'redlines'"):
        load_catalog().kind("redlines")
    bad = tmp_path / "c.toml"
    bad.write_text('[kinds.x]\nname_zh="x"\nname_en="x"\ngeometry="polygon"\nrule_class="forbidden"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="rule_class"):
        load_catalog(bad)
