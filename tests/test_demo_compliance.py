"""The demo's compliance layers (layers/changshan/compliance.gpkg, scripts/build_demo_compliance.py)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from spatial.analysis.balance import balance
from spatial.analysis.ledger import ledger
from spatial.analysis.versions import VERDICT_REDUCED
from spatial.sources.workspace import load_workspace

WS = Path(__file__).resolve().parent.parent / "layers" / "changshan"
GPKG = WS / "compliance.gpkg"


@pytest.fixture(scope="module")
def ws():
    return load_workspace(WS)


def test_layers_are_illustrative_and_cgcs2000():
    for name in ("ecological_redline_2023", "farmland_occupied", "farmland_compensated", "sensitive_receptor"):
        frame = gpd.read_file(GPKG, layer=name, engine="pyogrio")
        assert frame.crs.to_epsg() == 4490 and (frame["illustrative"] == 1).all(), name
        assert frame.geometry.is_valid.all() and not frame.geometry.is_empty.any(), name
    assert set(pyogrio.list_layers(GPKG)[:, 0]) == {"ecological_redline_2023", "farmland_occupied",
                                                    "farmland_compensated", "sensitive_receptor"}


def test_receptors_and_the_school_near_the_huibu_base(ws):
    rec = ws.layer("sensitive_receptor").gdf
    assert set(rec["kind"]) == {"居民区", "学校", "医院", "养老机构"} and rec["name"].notna().all()
    projects = ws.projects.gdf
    base = projects.loc[projects["name"] == "浙江钙产业循环经济基地（辉埠）"].to_crs(4549).geometry.iloc[0]
    school = rec.loc[rec["kind"] == "学校"].to_crs(4549).geometry.iloc[0]
    assert 290 < base.distance(school) < 310
    assert not projects.intersects(shapely.union_all(rec.geometry.values)).any()


def test_demo_ledger_one_zone_loses_while_the_total_grows(ws):
    res = ledger(ws, by="strategic_zone")
    last = res.rows[res.rows["version"] == "2023"].set_index("unit")
    assert last.iloc[0]["change_m2"] > 0 and res.area_not_reduced
    assert res.flagged == ["金衢盆地农业与城镇环境维护区"]
    assert last.loc["金衢盆地农业与城镇环境维护区", "verdict"] == VERDICT_REDUCED


def test_demo_balance_area_made_good_but_grade_worse(ws):
    entry = ws.raw["balance"]
    res = balance(WS / entry["occupied"]["path"], WS / entry["compensated"]["path"],
                  occupied_layer=entry["occupied"]["layer"], compensated_layer=entry["compensated"]["layer"])
    assert res.area_ok and not res.grade_ok and not res.balanced
    assert res.to_dict()["patches"] == 2
