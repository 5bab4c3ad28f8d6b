"""Mine restoration rates (spatial.analysis.mines) by count and by area, against independent counts and Geod areas."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, box
from shapely.geometry.polygon import orient

from spatial.analysis.mines import classify_mines, mine_rows
from spatial.analysis.targets import (
    STATUS_FAIL,
    STATUS_NO_DATA,
    STATUS_PASS,
    indicator_specs,
)
from spatial.analysis.territory import Units
from spatial.rules.catalog import load_catalog

GEOD = Geod(ellps="GRS80")
CATALOG = load_catalog()
SPEC = next(s for s in indicator_specs(CATALOG) if s.id == "mine_restoration")


def geod_area(geom) -> float:
    geom = shapely.segmentize(geom, 0.0002)
    return sum(GEOD.geometry_area_perimeter(orient(p, 1.0))[0]
               for p in shapely.get_parts(geom) if p.geom_type == "Polygon")


def units_of(geoms, names) -> Units:
    return Units("admin_county", "县级行政区 County", list(names), [str(i) for i in range(len(names))],
                 np.asarray(geoms, dtype=object), ["mountain"] * len(names),
                 np.asarray([geod_area(g) for g in geoms]), np.ones(len(names)))


WEST = box(118.0, 28.0, 118.5, 28.5)
EAST = box(118.5, 28.0, 119.0, 28.5)


def mine(x, y, size=0.002):
    return box(x, y, x + size, y + size * 1.5)


@pytest.fixture
def mines() -> gpd.GeoDataFrame:
    rows = [
        # name, status, abandoned, geometry
        ("A 已修复", "已修复", 1, mine(118.10, 28.10, 0.003)),
        ("B 已修复", "已修复", 1, mine(118.12, 28.10, 0.002)),
        ("C 修复中", "修复中", 1, mine(118.14, 28.10, 0.004)),
        ("D 未修复", "未修复", 1, mine(118.16, 28.10, 0.001)),
        ("E 在产", "在产", 0, mine(118.18, 28.10, 0.005)),          # active: not needing treatment
        ("F 废弃在产", "在产", 1, mine(118.20, 28.10, 0.002)),       # abandoned although marked 在产: needs treatment
        ("G 东 已修复", "已修复", 0, mine(118.60, 28.10, 0.003)),    # closed, not flagged abandoned: needs treatment
        ("H 东 restored", "restored", 1, mine(118.62, 28.10, 0.003)),
    ]
    return gpd.GeoDataFrame({"name": [r[0] for r in rows], "status": [r[1] for r in rows],
                             "abandoned": [r[2] for r in rows]}, geometry=[r[3] for r in rows], crs="EPSG:4490")


def test_classification(mines):
    info = classify_mines(mines)
    assert list(info["needing"]) == [True, True, True, True, False, True, True, True]
    assert list(info["restored"]) == [True, True, False, False, False, False, True, True]
    assert list(info["state"])[:5] == ["restored", "restored", "restoring", "not_restored", "active"]
    with pytest.raises(ValueError, match="status"):
        classify_mines(mines.drop(columns="status"))


def test_rates_by_count_and_area(mines):
    whole = units_of([shapely.union_all([WEST, EAST])], ["全域"])
    per = units_of([WEST, EAST], ["西县", "东县"])
    out = mine_rows(SPEC, mines, [whole, per], catalog=CATALOG)
    geoms = list(mines.geometry)
    need = [0, 1, 2, 3, 5, 6, 7]
    restored = [0, 1, 6, 7]

    def pick(unit, measure):
        return [r for r in out.rows if r["unit"] == unit and r["indicator_id"] == f"mine_restoration_{measure}"]

    # both targets kept: 2020 (000:1477) and 2022 (000:984)
    count = pick("全域", "count")
    assert [r["target_label"] for r in count] == ["2020", "2022"]
    assert [r["source_ref"] for r in count] == ["000:1477", "000:984"]
    assert count[0]["value"] == pytest.approx(100 * 4 / 7)
    assert count[0]["status"] == STATUS_FAIL
    assert count[0]["margin"] == 4 - math.ceil(0.9 * 7)  # three more mines to restore
    assert count[0]["margin_unit"] == "个 mines"
    area = pick("全域", "area")
    need_m2 = geod_area(shapely.union_all([geoms[i] for i in need]))
    rest_m2 = geod_area(shapely.union_all([geoms[i] for i in restored]))
    assert area[0]["value"] == pytest.approx(100 * rest_m2 / need_m2, rel=1e-8)
    assert area[0]["margin"] == pytest.approx((rest_m2 - 0.9 * need_m2) / 1e4, rel=1e-6)
    assert area[0]["margin_unit"] == "公顷 ha"
    # per unit: the east county has both of its mines restored
    east = pick("东县", "count")
    assert east[0]["value"] == pytest.approx(100.0) and east[0]["status"] == STATUS_PASS and east[0]["margin"] == 0
    west = pick("西县", "count")
    assert west[0]["value"] == pytest.approx(100 * 2 / 5)
    # the list of mines still to restore
    assert list(out.to_restore["name"]) == ["C 修复中", "D 未修复", "F 废弃在产"]
    assert set(out.to_restore["unit"]) == {"西县"}
    assert out.register.loc[out.register["name"] == "G 东 已修复", "unit"].iloc[0] == "东县"


def test_all_restored_passes_and_no_layer_is_no_data(mines):
    whole = units_of([shapely.union_all([WEST, EAST])], ["全域"])
    done = mines.assign(status="已修复")
    rows = mine_rows(SPEC, done, [whole], catalog=CATALOG).rows
    assert {r["status"] for r in rows} == {STATUS_PASS}
    rows = mine_rows(SPEC, None, [whole], catalog=CATALOG).rows
    assert len(rows) == 4 and {r["status"] for r in rows} == {STATUS_NO_DATA}


def test_point_mines_have_no_area_rate(mines):
    whole = units_of([shapely.union_all([WEST, EAST])], ["全域"])
    pts = mines.set_geometry([Point(g.centroid) for g in mines.geometry])
    out = mine_rows(SPEC, pts, [whole], catalog=CATALOG)
    by_count = [r for r in out.rows if r["indicator_id"].endswith("count")]
    by_area = [r for r in out.rows if r["indicator_id"].endswith("area")]
    assert by_count[0]["value"] == pytest.approx(100 * 4 / 7)
    assert all(r["status"] == STATUS_NO_DATA for r in by_area)
