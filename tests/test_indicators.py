"""Area-share indicators (spatial.analysis.indicators) against independent union-then-measure computations.

The independent figures use shapely unions and pyproj.Geod on GRS80 (the CGCS2000 ellipsoid), with the
``geodesic`` method of spatial.geo.area, which must agree to 1e-9; the default ``official`` method is checked
to be within 1e-6 of them (for these small lon/lat boxes the two differ by far less).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box
from shapely.geometry.polygon import orient

from spatial.analysis.indicators import (
    area_share_rows,
    compute_indicators,
    flatten_by_precedence,
    indicator_result,
)
from spatial.analysis.targets import (
    STATUS_FAIL,
    STATUS_NO_DATA,
    STATUS_NO_TARGET,
    STATUS_PASS,
    IndicatorSpec,
    Target,
)
from spatial.analysis.territory import Units
from spatial.outputs.indicator_report import (
    indicators_markdown,
    write_indicator_outputs,
)
from spatial.outputs.tables import HEADERS, markdown_table
from spatial.rules.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "layers" / "changshan"
GEOD = Geod(ellps="GRS80")
CATALOG = load_catalog()
CRS = "EPSG:4490"


def geod_area(geom, dense: bool = True) -> float:
    """Independent area with pyproj.Geod on GRS80 (polygons oriented, holes subtracted).

    dense=True: edges are first split every 0.0002° (≈ 20 m), so that the geodesics follow the edges straight
    in (lon, lat) that the official method (图斑椭球面积 of geographic data) integrates exactly; dense=False:
    the vertices as they are, joined by geodesics (the ``geodesic`` method).
    """
    if geom is None or geom.is_empty:
        return 0.0
    if dense:
        geom = shapely.segmentize(geom, 0.0002)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return sum(GEOD.geometry_area_perimeter(orient(p, 1.0))[0] for p in parts)


# --------------------------------------------------------------------------- in-memory workspace

@dataclass
class MemLayer:
    kind: Any
    gdf: gpd.GeoDataFrame
    name_field: str | None = "name"


class MemWorkspace:
    """The parts of spatial.sources.workspace.Workspace the indicators use, over in-memory layers."""

    def __init__(self, layers: dict[str, gpd.GeoDataFrame], **settings: Any) -> None:
        self.catalog = CATALOG
        self.settings = {"name_zh": "测试", "name_en": "test", **settings}
        self.layers = {k: MemLayer(CATALOG.kinds.get(k), g) for k, g in layers.items()}
        self.name = "测试 test"
        self.illustrative = False
        self.path = Path(".")

    def layer(self, kind_id):
        return self.layers.get(kind_id)

    def territory(self):
        layer = self.layers.get(self.settings.get("territory_kind"))
        if layer is None:
            return None
        code = self.settings.get("territory_code")
        if code is None:
            return layer.gdf
        return layer.gdf[layer.gdf["code"].astype(str) == str(code)]


def frame(geoms, **cols) -> gpd.GeoDataFrame:
    n = len(geoms)
    data = {k: (v if isinstance(v, list) else [v] * n) for k, v in cols.items()}
    data.setdefault("name", [f"f{i}" for i in range(n)])
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=CRS)


# Two counties side by side near Changshan; A holds overlapping designations, B none.
A = box(118.40, 28.80, 118.50, 28.90)
B = box(118.50, 28.80, 118.60, 28.90)
NR = box(118.41, 28.81, 118.45, 28.85)      # nature reserve (precedence 2)
FP = box(118.43, 28.83, 118.47, 28.87)      # forest park (5), overlaps NR
SA = box(118.44, 28.84, 118.46, 28.86)      # scenic area (7), wholly inside FP
RL = box(118.39, 28.79, 118.44, 28.84)      # red line (no precedence: last), overlaps NR and sticks out of A


@pytest.fixture
def ws() -> MemWorkspace:
    counties = frame([A, B], name=["甲县", "乙县"], code=["1", "2"])
    return MemWorkspace({
        "admin_county": counties,
        "nature_reserve": frame([NR]),
        "forest_park": frame([FP]),
        "scenic_area": frame([SA]),
        "ecological_redline": frame([RL]),
    }, territory_kind="admin_county", territory_code=None, terrain_class="mountain")


def rows(table: pd.DataFrame, indicator: str, unit: str, kind: str | None = None) -> pd.DataFrame:
    sel = table[(table["indicator_id"] == indicator) & (table["unit"] == unit)]
    if kind is not None:
        sel = sel[sel["unit_kind"].str.contains(kind)]
    return sel


# --------------------------------------------------------------------------- protected share

@pytest.mark.parametrize("method", ["official", "geodesic"])
def test_overlapping_designations_counted_once(ws, method):
    dense = method == "official"
    res = indicator_result(ws, by="admin_county", method=method, indicators=["protected_share"])
    union_a = shapely.union_all([NR, FP, SA, RL]).intersection(A)
    expected = 100 * geod_area(union_a, dense) / geod_area(A, dense)
    row = rows(res.table, "protected_share", "甲县", "County").iloc[0]
    assert row["value"] == pytest.approx(expected, rel=1e-9)
    assert row["area_km2"] == pytest.approx(geod_area(union_a, dense) / 1e6, rel=1e-9)
    # a naive sum of feature areas would count the overlaps twice
    naive = sum(geod_area(g.intersection(A)) for g in (NR, FP, SA, RL))
    assert naive > geod_area(union_a) * 1.2
    # status and margin against the mountain threshold (33 %)
    assert row["target_value"] == 33.0
    assert row["status"] == (STATUS_PASS if expected >= 33 else STATUS_FAIL)
    assert row["margin"] == pytest.approx((geod_area(union_a, dense) - 0.33 * geod_area(A, dense)) / 1e6, rel=1e-9)
    assert row["margin_unit"] == "km²"


def test_official_method_is_the_default(ws):
    default = compute_indicators(ws, by="admin_county")
    official = compute_indicators(ws, by="admin_county", method="official")
    pd.testing.assert_frame_equal(default, official)


def test_precedence_breakdown_sums_to_the_union(ws):
    # official areas are additive over a partition whatever vertices the overlay inserts on an edge; geodesic
    # areas are not (an edge straight in lon/lat split at a new vertex follows other geodesics)
    res = indicator_result(ws, by="admin_county", indicators=["protected_share"])
    bd = res.breakdown[(res.breakdown["unit"] == "甲县") & res.breakdown["unit_kind"].str.contains("County")]
    flat = dict(zip(bd["kind"], bd["flat_km2"] * 1e6))
    # stricter designation keeps the shared area: NR (2) > FP (5) > SA (7) > red line (no precedence)
    assert list(bd["kind"]) == ["nature_reserve", "forest_park", "scenic_area", "ecological_redline", "total"]
    assert flat["nature_reserve"] == pytest.approx(geod_area(NR), rel=1e-9)
    assert flat["forest_park"] == pytest.approx(geod_area(FP.difference(NR)), rel=1e-9)
    assert flat["scenic_area"] == pytest.approx(0.0, abs=1e-3)            # wholly inside the forest park
    rl_part = RL.intersection(A).difference(shapely.union_all([NR, FP, SA]))
    assert flat["ecological_redline"] == pytest.approx(geod_area(rl_part), rel=1e-9)
    parts = sum(v for k, v in flat.items() if k != "total")
    union_a = geod_area(shapely.union_all([NR, FP, SA, RL]).intersection(A))
    assert parts == pytest.approx(union_a, rel=1e-9)
    assert flat["total"] == pytest.approx(union_a, rel=1e-9)
    # own-union areas (before flattening) are shown beside
    raw = dict(zip(bd["kind"], bd["raw_km2"] * 1e6))
    assert raw["scenic_area"] == pytest.approx(geod_area(SA), rel=1e-9)
    assert bd.loc[bd["kind"] == "total", "share_of_union"].iloc[0] == pytest.approx(100.0)
    # the flattened parts go to the GeoPackage too, disjoint
    parts_geo = res.parts[res.parts["indicator_id"] == "protected_share"]
    assert set(parts_geo["kind"]) == {"nature_reserve", "forest_park", "scenic_area", "ecological_redline"}
    g = parts_geo.geometry.values
    assert sum(shapely.area(shapely.intersection(g[i], g[j])) for i in range(len(g)) for j in range(i + 1, len(g))) \
        == pytest.approx(0.0, abs=1e-14)


def test_unit_without_protected_land_fails_with_negative_margin(ws):
    table = compute_indicators(ws, by="admin_county", method="official")
    row = rows(table, "protected_share", "乙县", "County").iloc[0]
    assert row["value"] == pytest.approx(0.0, abs=1e-9)
    assert row["status"] == STATUS_FAIL
    assert row["margin"] == pytest.approx(-0.33 * geod_area(B) / 1e6, rel=1e-9)
    assert row["margin"] < 0


def test_territory_row_is_the_union_of_the_territory(ws):
    table = compute_indicators(ws, method="official")
    terr = table[(table["indicator_id"] == "protected_share")]
    assert len(terr) == 1 and terr.iloc[0]["unit_kind"].startswith("全域")
    union = shapely.union_all([NR, FP, SA, RL]).intersection(shapely.union_all([A, B]))
    assert terr.iloc[0]["value"] == pytest.approx(100 * geod_area(union) / geod_area(shapely.union_all([A, B])),
                                                  rel=1e-9)


def test_terrain_class_thresholds():
    # Two equal units each 20 % protected: a hill county fails (≥ 22 %), a plain county passes (≥ 16 %),
    # one with no terrain class has no target.
    units = [box(118.0 + i * 0.1, 28.8, 118.1 + i * 0.1, 28.9) for i in range(3)]
    pa = [box(118.0 + i * 0.1, 28.8, 118.02 + i * 0.1, 28.9) for i in range(3)]
    counties = frame(units, name=["丘陵县", "平原县", "未定县"], code=["1", "2", "3"],
                     terrain_class=["丘陵", "plain", None])
    ws = MemWorkspace({"admin_county": counties, "forest_park": frame(pa)}, territory_kind="admin_county")
    table = compute_indicators(ws, by="admin_county", method="official")
    hill = rows(table, "protected_share", "丘陵县").iloc[0]
    plain = rows(table, "protected_share", "平原县").iloc[0]
    unset = rows(table, "protected_share", "未定县").iloc[0]
    for r, u, p in ((hill, units[0], pa[0]), (plain, units[1], pa[1])):
        assert r["value"] == pytest.approx(100 * geod_area(p) / geod_area(u), rel=1e-9)
    assert (hill["target_value"], hill["status"]) == (22.0, STATUS_FAIL)
    assert (plain["target_value"], plain["status"]) == (16.0, STATUS_PASS)
    assert hill["terrain_class"].endswith("hill") and plain["terrain_class"].endswith("plain")
    assert unset["status"] == STATUS_NO_TARGET and "terrain" in unset["note"]
    # the workspace setting fills in for units without the attribute
    ws.settings["terrain_class"] = "mountain"
    table = compute_indicators(ws, by="admin_county", method="official")
    assert rows(table, "protected_share", "未定县").iloc[0]["target_value"] == 33.0
    assert rows(table, "protected_share", "丘陵县").iloc[0]["target_value"] == 22.0


def test_unit_outside_the_territory_is_no_data(ws):
    ws.settings["territory_code"] = "1"   # territory = 甲县 only; the layers say nothing about 乙县
    table = compute_indicators(ws, by="admin_county", method="official")
    b = rows(table, "protected_share", "乙县").iloc[0]
    assert b["status"] == STATUS_NO_DATA and b["coverage"] == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(b["margin"])
    a = rows(table, "protected_share", "甲县", "County").iloc[0]
    assert a["coverage"] == pytest.approx(100.0) and a["status"] in (STATUS_PASS, STATUS_FAIL)


def test_other_area_shares_and_missing_layers(ws):
    eco = box(118.40, 28.80, 118.46, 28.90)  # 60 % of 甲县
    ws.layers["ecological_space"] = MemLayer(CATALOG.kinds["ecological_space"], frame([eco]))
    ws.settings["territory_code"] = "1"
    table = compute_indicators(ws, method="official")
    es = rows(table, "ecological_space_share", "甲县").iloc[0]
    assert es["value"] == pytest.approx(100 * geod_area(eco) / geod_area(A), rel=1e-9)
    assert (es["target_value"], es["status"]) == (50.0, STATUS_PASS)
    rl = rows(table, "redline_share", "甲县").iloc[0]
    assert rl["value"] == pytest.approx(100 * geod_area(RL.intersection(A)) / geod_area(A), rel=1e-9)
    assert rl["status"] == STATUS_NO_TARGET and "spatial diff" in rl["note"]   # no baseline for this unit
    forest = rows(table, "forest_cover", "甲县").iloc[0]
    assert forest["status"] == STATUS_NO_DATA and "forest" in forest["note"]
    mines = table[table["indicator_id"].str.startswith("mine_restoration")]
    assert set(mines["status"]) == {STATUS_NO_DATA}
    # every row names its source document
    assert table["source"].str.len().gt(0).all()
    assert "常山县生态文明建设规划" in rows(table, "protected_share", "甲县").iloc[0]["source"]


def test_not_decrease_against_the_reported_baseline():
    # 衢州市 reports a red-line share of 27.90 % (001:207): not decrease means ≥ 27.90 % for that unit.
    city = box(118.0, 28.5, 119.0, 29.5)
    red = box(118.0, 28.5, 118.25, 29.5)   # ≈ 25 %
    ws = MemWorkspace({"admin_city": frame([city], name="衢州市", code="330800"), "ecological_redline": frame([red])},
                      territory_kind="admin_city", territory_code="330800")
    row = rows(compute_indicators(ws, method="official"), "redline_share", "衢州市").iloc[0]
    assert row["reported"] == pytest.approx(27.90)
    assert row["target_value"] == pytest.approx(27.90)
    assert row["status"] == STATUS_FAIL
    assert row["margin"] == pytest.approx((geod_area(red) - 0.279 * geod_area(city)) / 1e6, rel=1e-9)


def test_where_filter_and_explicit_precedence():
    unit = box(118.0, 28.0, 118.1, 28.1)
    parcels = frame([box(118.0, 28.0, 118.05, 28.1), box(118.05, 28.0, 118.1, 28.05), box(118.05, 28.05, 118.1, 28.1)],
                    DLBM=["0301", "0101", "0305"])
    units = Units("territory", "全域 territory", ["U"], ["9"], np.asarray([unit], dtype=object), ["hill"],
                  np.asarray([geod_area(unit)]), np.ones(1))
    spec = IndicatorSpec(id="forest_cover", name_zh="森林覆盖率", name_en="Forest cover", kinds=("land_cover",),
                         unit="%", targets=(Target({"hill": 40.0}),), source="000:541", reported={},
                         where={"land_cover": {"field": "DLBM", "prefix": ["0301", "0305"]}})
    out, _, _ = area_share_rows(spec, {"land_cover": parcels}, [units], "official")
    forest = shapely.union_all([parcels.geometry[0], parcels.geometry[2]])
    assert out[0]["value"] == pytest.approx(100 * geod_area(forest) / geod_area(unit), rel=1e-9)
    assert out[0]["status"] == STATUS_PASS
    # flatten_by_precedence keeps order and disjointness
    a, b = box(0, 0, 2, 2), box(1, 1, 3, 3)
    parts = flatten_by_precedence([("b", b), ("a", a)])
    assert [k for k, _ in parts] == ["b", "a"]
    assert parts[1][1].area == pytest.approx(3.0) and parts[0][1].area == pytest.approx(4.0)


# --------------------------------------------------------------------------- outputs

def test_bilingual_markdown(ws):
    table = compute_indicators(ws, by="admin_county", method="official")
    md = indicators_markdown(table)
    header = md.splitlines()[0]
    for col in ("指标 indicator", "单位 unit", "值 value", "目标 target", "状态 status", "差额 margin",
                "规划报告值 reported"):
        assert col in header
    assert md.count("\n") == len(table) + 2
    assert "达标 pass" in md or "未达标 fail" in md
    assert "a\\|b" in markdown_table(pd.DataFrame({"x": ["a|b"]}))
    assert all(" " in HEADERS[c] for c in table.columns)  # every header has Chinese and English


def test_outputs_are_written_and_reread(ws, tmp_path):
    ws.layers["mine_site"] = MemLayer(CATALOG.kinds["mine_site"], frame(
        [box(118.41, 28.81, 118.411, 28.811), box(118.42, 28.82, 118.421, 28.821)],
        name=["矿1", "矿2"], status=["已修复", "未修复"], abandoned=[1, 1]))
    res = indicator_result(ws, by="admin_county", method="official")
    paths = write_indicator_outputs(res, tmp_path)
    csv = pd.read_csv(tmp_path / "indicators.csv", encoding="utf-8-sig", dtype={"unit_code": str})
    assert list(csv.columns) == list(res.table.columns)   # stable ids for programs; the workbook is bilingual
    assert len(csv) == len(res.table)
    np.testing.assert_allclose(csv["value"].to_numpy(float), res.table["value"].to_numpy(float), rtol=1e-12)
    xlsx = pd.read_excel(tmp_path / "indicators.xlsx", sheet_name=None)
    assert set(xlsx) == {"indicators", "breakdown", "mines_to_restore"}
    assert list(xlsx["mines_to_restore"]["名称 name"]) == ["矿2"]
    parts = gpd.read_file(paths["gpkg"], layer="protected_parts")
    assert parts.crs.to_epsg() == 4490 and len(parts) == 4
    assert "<table" in (tmp_path / "indicators.html").read_text(encoding="utf-8")
    assert "指标 indicator" in (tmp_path / "indicators.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- CLI and demo (need spatial.sources.files)

def _write_workspace(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    gpkg = tmp_path / "t.gpkg"
    layers = {
        "admin_county": frame([A, B], name=["甲县", "乙县"], code=["1", "2"]),
        "nature_reserve": frame([NR]), "forest_park": frame([FP]), "scenic_area": frame([SA]),
        "ecological_redline": frame([RL]),
    }
    lines = ['[workspace]', 'name_zh = "测试"', 'name_en = "test"', 'territory_kind = "admin_county"',
             'terrain_class = "mountain"', '']
    for kind, gdf in layers.items():
        gdf.to_file(gpkg, layer=kind, driver="GPKG")
        lines += [f"[layers.{kind}]", 'path = "t.gpkg"', f'layer = "{kind}"', 'name_field = "name"', ""]
    (tmp_path / "workspace.toml").write_text("\n".join(lines), encoding="utf-8")
    return tmp_path


def test_cli_indicators(tmp_path):
    pytest.importorskip("spatial.sources.files")
    from typer.testing import CliRunner

    from spatial.cli.main import app
    from spatial.sources.workspace import load_workspace

    ws_dir = _write_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["indicators", "--workspace", str(ws_dir), "--by", "admin_county",
                                      "--area", "official", "--out", str(out)])
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(out / "indicators.csv", encoding="utf-8-sig", dtype={"unit_code": str})
    api = compute_indicators(load_workspace(ws_dir), by="admin_county", method="official")
    np.testing.assert_allclose(csv["value"].to_numpy(float), api["value"].to_numpy(float), rtol=1e-12)
    row = csv[(csv["indicator_id"] == "protected_share") & (csv["unit"] == "乙县")].iloc[0]
    assert row["status"] == STATUS_FAIL
    bad = CliRunner().invoke(app, ["indicators", "--workspace", str(ws_dir), "--by", "admin_township",
                                   "--out", str(out)])
    assert bad.exit_code == 2 and "admin_township" in bad.output


@pytest.fixture(scope="module")
def demo():
    pytest.importorskip("spatial.sources.files")
    from spatial.sources.workspace import load_workspace

    return load_workspace(DEMO)


def test_demo_protected_share_for_changshan(demo):
    import pyogrio

    gpkg = DEMO / "changshan.gpkg"
    counties = gpd.read_file(gpkg, layer="admin_county")
    cs = counties.loc[counties["code"] == "330822", "geometry"].iloc[0]
    kinds = CATALOG.indicators["protected_share"]["kinds"]
    present = [k for k in kinds if k in set(pyogrio.list_layers(gpkg)[:, 0])]
    union = shapely.union_all(np.concatenate([gpd.read_file(gpkg, layer=k).geometry.values for k in present]))
    expected = 100 * geod_area(union.intersection(cs)) / geod_area(cs)
    table = compute_indicators(demo, by="admin_county", method="official")
    row = rows(table, "protected_share", "常山县", "全域").iloc[0]
    assert row["value"] == pytest.approx(expected, rel=1e-9)
    assert row["status"] == STATUS_PASS and row["target_value"] == 33.0   # mountain (workspace.toml)
    assert row["reported"] == pytest.approx(48.3)
    official = compute_indicators(demo)
    assert rows(official, "protected_share", "常山县").iloc[0]["value"] == pytest.approx(expected, rel=1e-5)


def test_demo_per_county_rows(demo):
    res = indicator_result(demo, by="admin_county")
    per = res.table[(res.table["indicator_id"] == "protected_share") & res.table["unit_kind"].str.contains("County")]
    assert sorted(per["unit_code"]) == ["330802", "330803", "330822", "330824", "330825", "330881"]
    cs = per[per["unit_code"] == "330822"].iloc[0]
    assert cs["coverage"] == pytest.approx(100.0) and cs["status"] == STATUS_PASS
    # the demo's planning layers cover Changshan only: the other five counties are 无数据, not "fail"
    assert set(per[per["unit_code"] != "330822"]["status"]) == {STATUS_NO_DATA}
    # the breakdown sums to the union for Changshan
    bd = res.breakdown[(res.breakdown["unit_code"] == "330822") & res.breakdown["unit_kind"].str.contains("County")]
    assert bd[bd["kind"] != "total"]["flat_km2"].sum() == pytest.approx(cs["area_km2"], rel=1e-9)
    mines = res.table[(res.table["indicator_id"] == "mine_restoration_count") & res.table["unit_kind"].str.startswith("全域")]
    assert list(mines["target_label"]) == ["2020", "2022"]
    assert len(res.to_restore) == 3


# --------------------------------------------------------------------------- forest cover from a DLTB layer

def test_forest_cover_from_a_gk_dltb_shapefile(tmp_path):
    """A land-survey layer (DLTB, GBK without .cpg, GK zone 40 with prefix) in a real workspace folder: the
    catalogue's forest classes (DLBM 0301-0305) are unioned, clipped to the county and measured."""
    from factories import geodesic_area_m2, gk_rect, write_shapefile
    from shapely.geometry import Polygon

    from spatial.sources.workspace import load_workspace

    county = box(118.70, 28.85, 118.80, 28.95)
    gpd.GeoDataFrame({"name": ["测试县"], "code": ["1"]}, geometry=[county], crs=CRS).to_file(
        tmp_path / "county.gpkg", layer="county", driver="GPKG")
    rects = [Polygon(gk_rect(118.71, 28.86, 2000, 1500, 4528)),   # 0301 arbour forest
             Polygon(gk_rect(118.72, 28.865, 2000, 1500, 4528)),  # 0302 bamboo, overlapping the first
             Polygon(gk_rect(118.75, 28.90, 1000, 1000, 4528)),   # 0103 dry farmland: not forest
             Polygon(gk_rect(118.76, 28.91, 800, 600, 4528)),     # 0305 shrubland
             Polygon(gk_rect(118.79, 28.94, 3000, 3000, 4528))]   # 0307 other forest land, half outside: not counted
    dltb = gpd.GeoDataFrame({"BSM": [1, 2, 3, 4, 5], "DLBM": ["0301", "0302", "0103", "0305", "0307"],
                             "DLMC": ["乔木林地", "竹林地", "旱地", "灌木林地", "其他林地"]}, geometry=rects, crs=4528)
    write_shapefile(tmp_path / "DLTB.shp", dltb, encoding="GBK", cpg=False)
    (tmp_path / "workspace.toml").write_text(
        '[workspace]\nname_zh = "测试"\nterritory_kind = "admin_county"\nterritory_code = "1"\n'
        'terrain_class = "mountain"\n\n[layers.admin_county]\npath = "county.gpkg"\nlayer = "county"\n\n'
        '[layers.land_cover]\npath = "DLTB.shp"\n', encoding="utf-8")

    ws = load_workspace(tmp_path)
    assert list(ws.layer("land_cover").gdf["DLMC"]) == list(dltb["DLMC"])  # GBK detected
    table = indicator_result(ws, indicators=["forest_cover"]).table
    row = table[table["indicator_id"] == "forest_cover"].iloc[0]

    forest = shapely.union_all([rects[0], rects[1], rects[3]])  # in the GK plane, where the edges are straight
    expected = 100 * geodesic_area_m2(forest, crs="EPSG:4528", step_m=5) / geod_area(county)
    assert 0 < row["value"] < 10
    assert row["value"] == pytest.approx(expected, rel=1e-6)
    assert row["status"] == STATUS_FAIL  # far below 60 % (mountain)
