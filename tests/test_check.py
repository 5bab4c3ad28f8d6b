"""spatial.analysis.check and `spatial check`: areas, shares, lengths and distances against independent
computations (shapely overlay + pyproj.Geod on GRS80), verdicts from the catalogue, CLI outputs."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import LineString, Point, Polygon, box
from typer.testing import CliRunner

from spatial.analysis.check import DEFAULT_POINT_RADIUS_M, check, worst_verdict
from spatial.engine import local as check_mod
from spatial.errors import InputError
from spatial.rules.catalog import load_catalog
from spatial.outputs.tables import HEADERS

GEOD = Geod(ellps="GRS80")
CRS = "EPSG:4490"
CATALOG = load_catalog()
DEMO = Path(__file__).resolve().parent.parent / "layers" / "changshan"

# around Changshan, zone 40 side (118.6°E, 28.9°N); 0.01° ≈ 975 m east-west, 1109 m north-south
X0, Y0 = 118.60, 28.90


def geodesic_area(geom) -> float:
    """|exterior| − Σ|holes| per polygon part, each ring measured with pyproj.Geod (GRS80)."""
    if geom is None or geom.is_empty:
        return 0.0

    def ring(r) -> float:
        lon, lat = r.xy
        return abs(GEOD.polygon_area_perimeter(lon, lat)[0])

    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    polys = [p for g in polys for p in shapely.get_parts(g)]
    return sum(ring(p.exterior) - sum(ring(h) for h in p.interiors) for p in polys)


def geodesic_length(geom) -> float:
    return GEOD.geometry_length(geom) if geom is not None and not geom.is_empty else 0.0


def gdf(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


def redline() -> gpd.GeoDataFrame:
    """Two overlapping red-line patches (a self-overlapping layer) and one far away."""
    return gdf([box(X0 + 0.005, Y0, X0 + 0.020, Y0 + 0.020),
                box(X0 + 0.002, Y0, X0 + 0.008, Y0 + 0.005),
                box(X0 + 0.100, Y0 + 0.100, X0 + 0.110, Y0 + 0.110)],
               name=["红线A", "红线B", "红线C"])


def row(result, project_no: int, layer: str = "ecological_redline") -> pd.Series:
    ov = result.overlaps
    return ov[(ov["project_no"] == project_no) & (ov["layer"] == layer)].iloc[0]


# ---------------------------------------------------------------------------------------- areas and shares

def test_self_overlapping_layer_counted_once_and_matches_geodesic_union():
    red = redline()
    project = box(X0, Y0, X0 + 0.010, Y0 + 0.010)
    res = check(gdf([project], name=["site"]), {"ecological_redline": red}, "energy", area_method="geodesic")
    r = row(res, 1)
    union = shapely.union_all(red.geometry.values[:2])
    expected = geodesic_area(shapely.intersection(project, union))
    assert r["overlap_m2"] == pytest.approx(expected, rel=1e-9)
    assert r["overlap_ha"] == pytest.approx(expected / 1e4, rel=1e-9)
    assert r["overlap_mu"] == pytest.approx(expected * 15 / 1e4, rel=1e-9)
    assert r["project_pct"] == pytest.approx(100 * expected / geodesic_area(project), rel=1e-9)
    # summed per feature, the shared part would count twice
    twice = sum(geodesic_area(shapely.intersection(project, g)) for g in red.geometry.values[:2])
    assert twice > expected * 1.05
    assert r["features"] == "红线A、红线B" and r["feature_count"] == 2
    assert res.summary.loc[0, "ecological_redline_m2"] == pytest.approx(expected, rel=1e-9)
    assert res.summary.loc[0, "area_m2"] == pytest.approx(geodesic_area(project), rel=1e-9)
    # overlap piece geometry is the intersection with the union
    piece = res.pieces.geometry.iloc[0]
    assert shapely.symmetric_difference(piece, shapely.intersection(project, union)).area < 1e-14


def test_project_with_hole():
    shell = [(X0, Y0), (X0 + 0.012, Y0), (X0 + 0.012, Y0 + 0.012), (X0, Y0 + 0.012)]
    hole = [(X0 + 0.004, Y0 + 0.001), (X0 + 0.009, Y0 + 0.001), (X0 + 0.009, Y0 + 0.004), (X0 + 0.004, Y0 + 0.004)]
    project = Polygon(shell, [hole])
    red = redline()
    res = check(gdf([project], name=["ring"]), {"ecological_redline": red}, "energy", area_method="geodesic")
    r = row(res, 1)
    expected = geodesic_area(shapely.intersection(project, shapely.union_all(red.geometry.values)))
    assert expected < geodesic_area(shapely.intersection(Polygon(shell), shapely.union_all(red.geometry.values)))
    assert r["overlap_m2"] == pytest.approx(expected, rel=1e-9)
    assert res.summary.loc[0, "area_m2"] == pytest.approx(geodesic_area(project), rel=1e-9)
    assert r["project_pct"] == pytest.approx(100 * expected / geodesic_area(project), rel=1e-9)


def test_official_area_is_the_default_and_close_to_geodesic():
    project = box(X0, Y0, X0 + 0.010, Y0 + 0.010)
    official = check(gdf([project]), {"ecological_redline": redline()}, "energy")
    geodesic = check(gdf([project]), {"ecological_redline": redline()}, "energy", area_method="geodesic")
    assert official.settings["area_method"] == "official"
    a, b = row(official, 1)["overlap_m2"], row(geodesic, 1)["overlap_m2"]
    assert a == pytest.approx(b, rel=1e-6) and a != b


def test_project_inside_one_feature_and_projected_input():
    red = redline()
    inner = box(X0 + 0.010, Y0 + 0.010, X0 + 0.012, Y0 + 0.012)
    gk = gdf([inner]).to_crs("EPSG:4549")  # CGCS2000 GK zone 40 without prefix: converted back to 4490
    res = check(gk, {"ecological_redline": red}, "industrial", area_method="geodesic")
    r = row(res, 1)
    assert r["project_pct"] == pytest.approx(100.0, rel=1e-12)
    assert r["overlap_m2"] == pytest.approx(geodesic_area(gk.to_crs(CRS).geometry.iloc[0]), rel=1e-9)
    assert r["verdict"] == "prohibited" and r["rule"] == "RL2"


# ---------------------------------------------------------------------------------------- lines and points

def test_line_project_length_inside_and_corridor_area():
    red = redline()
    line = LineString([(X0 - 0.01, Y0 + 0.003), (X0 + 0.03, Y0 + 0.003), (X0 + 0.03, Y0 + 0.015)])
    projects = gdf([line], name=["road"], project_type=["linear_infrastructure"])
    union = shapely.union_all(red.geometry.values)

    res = check(projects, {"ecological_redline": red}, area_method="geodesic")
    r = row(res, 1)
    inside = geodesic_length(shapely.intersection(line, union))
    assert r["overlap_length_m"] == pytest.approx(inside, rel=1e-9)
    assert r["project_pct"] == pytest.approx(100 * inside / geodesic_length(line), rel=1e-9)
    assert r["overlap_m2"] == 0.0 and np.isnan(res.summary.loc[0, "area_m2"])
    assert res.summary.loc[0, "length_m"] == pytest.approx(geodesic_length(line), rel=1e-9)
    assert r["verdict"] == "needs_approval" and r["rule"] == "RL11"

    width = 20.0
    res = check(projects, {"ecological_redline": red}, line_width_m=width, area_method="geodesic")
    r = row(res, 1)
    # the documented method: flat-ended buffer of width/2 in the project's CGCS2000 GK zone (40 -> EPSG:4549)
    fwd = Transformer.from_crs(CRS, "EPSG:4549", always_xy=True)
    inv = Transformer.from_crs("EPSG:4549", CRS, always_xy=True)
    def tr(t, g):
        return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))

    corridor = tr(inv, shapely.buffer(tr(fwd, line), width / 2, cap_style="flat", join_style="round", quad_segs=16))
    expected = geodesic_area(shapely.intersection(corridor, union))
    assert r["overlap_m2"] == pytest.approx(expected, rel=1e-9)
    assert r["overlap_length_m"] == pytest.approx(inside, rel=1e-9)
    assert res.summary.loc[0, "area_m2"] == pytest.approx(geodesic_area(corridor), rel=1e-9)
    # sanity against a local equidistant projection: the corridor is ~ width × length inside
    assert r["overlap_m2"] == pytest.approx(width * inside, rel=0.02)
    assert set(res.pieces["piece"]) == {"area", "line"}


def test_point_project_uses_a_radius():
    red = redline()
    pt = Point(X0 + 0.005, Y0 + 0.010)  # on the western edge of 红线A: half the circle inside
    res = check(gdf([pt], name=["mast"], project_type=["energy"]), {"ecological_redline": red},
                area_method="geodesic")
    r = row(res, 1)
    circle_area = res.summary.loc[0, "area_m2"]
    assert circle_area == pytest.approx(math.pi * DEFAULT_POINT_RADIUS_M**2, rel=1e-3)
    assert r["project_pct"] == pytest.approx(50.0, abs=0.05)
    res = check(gdf([pt], project_type=["energy"]), {"ecological_redline": red}, point_radius_m=200,
                area_method="geodesic")
    assert res.summary.loc[0, "area_m2"] == pytest.approx(math.pi * 200**2, rel=1e-3)
    assert row(res, 1)["overlap_m2"] == pytest.approx(res.summary.loc[0, "area_m2"] / 2, rel=2e-3)


# ---------------------------------------------------------------------------------------- verdicts

def test_verdicts_from_the_catalogue_and_overall_worst():
    red = redline()
    farm = gdf([box(X0 - 0.01, Y0 - 0.01, X0 + 0.001, Y0 + 0.001)], name=["基本农田1"])
    site = box(X0, Y0, X0 + 0.010, Y0 + 0.010)           # red line and farmland
    far = box(X0 + 0.5, Y0 + 0.5, X0 + 0.51, Y0 + 0.51)    # nothing
    types = ["energy", "linear_infrastructure", "ecological_restoration", "energy"]
    projects = gdf([site, site, site, far], name=["风电", "道路", "修复", "远处"], project_type=types)
    res = check(projects, {"ecological_redline": red, "permanent_farmland": farm})
    v = res.overlaps.set_index(["project_no", "layer"])["verdict"]
    assert v[(1, "ecological_redline")] == "prohibited"
    assert v[(2, "ecological_redline")] == "needs_approval"
    assert v[(3, "ecological_redline")] == "allowed"
    assert v[(4, "ecological_redline")] == "no_conflict"
    assert v[(1, "permanent_farmland")] == "needs_approval"   # LU3 for energy
    assert v[(3, "permanent_farmland")] == "allowed"          # LU10 for restoration
    assert list(res.summary["verdict"]) == ["prohibited", "needs_approval", "allowed", "no_conflict"]
    r = row(res, 1)
    rule = CATALOG.kinds["ecological_redline"].rule_for("energy")
    assert (r["rule"], r["rule_zh"], r["rule_en"]) == (rule.id, rule.rule_zh, rule.rule_en)
    assert "常山县生态文明建设规划" in r["source_title"] and rule.source in r["source_title"]
    assert row(res, 3)["rule"] == "RL12"
    assert row(res, 4)["rule"] == "" and row(res, 4)["features"] == ""
    assert "生态保护红线" in res.summary.loc[0, "conflicts"]
    assert worst_verdict(["allowed", "no_conflict", "needs_approval"]) == "needs_approval"
    assert worst_verdict([]) == "no_conflict"


def test_type_argument_overrides_column_and_names_are_accepted():
    projects = gdf([box(X0, Y0, X0 + 0.01, Y0 + 0.01)], project_type=["energy"])
    res = check(projects, {"ecological_redline": redline()}, "生态修复")
    assert res.summary.loc[0, "project_type"] == "ecological_restoration"
    assert res.summary.loc[0, "verdict"] == "allowed"


def test_unknown_or_missing_type_is_a_clear_error():
    projects = gdf([box(X0, Y0, X0 + 0.01, Y0 + 0.01)] * 2, name=["甲", "风场乙"], project_type=["energy", "windfarm"])
    with pytest.raises(InputError) as err:
        check(projects, {"ecological_redline": redline()})
    msg = str(err.value)
    assert "风场乙" in msg and "#2" in msg and "windfarm" in msg and "energy" in msg and "linear_infrastructure" in msg
    with pytest.raises(InputError, match="project_type"):
        check(gdf([box(X0, Y0, X0 + 0.01, Y0 + 0.01)]), {"ecological_redline": redline()})
    with pytest.raises(InputError, match="no CRS"):
        check(gpd.GeoDataFrame({"project_type": ["energy"]}, geometry=[box(0, 0, 1, 1)]), {"ecological_redline": redline()})


# ---------------------------------------------------------------------------------------- distances

def test_distance_to_nearest_feature_within_near():
    red = redline()
    gap_deg = 0.003  # ~ 292 m east of 红线A
    project = box(X0 + 0.020 + gap_deg, Y0 + 0.002, X0 + 0.030, Y0 + 0.006)
    res = check(gdf([project], name=["east"]), {"ecological_redline": red}, "energy", near_m=1000)
    r = row(res, 1)
    # nearest points: the project's western edge and 红线A's eastern edge, at the poleward end (meridians converge)
    expected = GEOD.inv(X0 + 0.020, Y0 + 0.006, X0 + 0.020 + gap_deg, Y0 + 0.006)[2]
    assert r["verdict"] == "no_conflict" and r["overlap_m2"] == 0
    assert r["distance_m"] == pytest.approx(expected, abs=0.01)
    assert r["nearest_feature"] == "红线A"
    assert np.isnan(row(check(gdf([project]), {"ecological_redline": red}, "energy", near_m=200), 1)["distance_m"])
    assert np.isnan(row(check(gdf([project]), {"ecological_redline": red}, "energy", near_m=0), 1)["distance_m"])
    # touching along an edge is no overlap, at distance 0
    touching = box(X0 + 0.020, Y0 + 0.002, X0 + 0.025, Y0 + 0.006)
    t = row(check(gdf([touching]), {"ecological_redline": red}, "energy"), 1)
    assert t["verdict"] == "no_conflict" and t["distance_m"] == 0 and t["features"] == "红线A"


# ---------------------------------------------------------------------------------------- batch

def test_batch_matches_a_per_project_loop(monkeypatch):
    """Many projects in threaded chunks give the same as one project at a time, done the plain way."""
    monkeypatch.setattr(check_mod, "CHUNK_THREADED", 97)
    rng = np.random.default_rng(7)
    red_geoms = [Point(X0 + dx, Y0 + dy).buffer(r, 24) for dx, dy, r in
                 zip(rng.uniform(0, 0.2, 60), rng.uniform(0, 0.2, 60), rng.uniform(0.003, 0.02, 60))]
    red = gdf(red_geoms, name=[f"R{i}" for i in range(60)])
    cx, cy = rng.uniform(0, 0.2, 600), rng.uniform(0, 0.2, 600)
    sizes = rng.uniform(0.0005, 0.004, 600)
    projects = gdf([box(X0 + x, Y0 + y, X0 + x + s, Y0 + y + s * 0.7) for x, y, s in zip(cx, cy, sizes)],
                   project_type=["industrial"] * 600)
    calls = []
    res = check(projects, {"ecological_redline": red}, area_method="geodesic", near_m=0, workers=2,
                progress=lambda done, total, label: calls.append((done, total)))
    tree = shapely.STRtree(red.geometry.values)
    expected = []
    for g in projects.geometry:
        hits = red.geometry.values[tree.query(g, predicate="intersects")]
        expected.append(geodesic_area(shapely.intersection(g, shapely.union_all(hits))) if len(hits) else 0.0)
    got = res.summary["ecological_redline_m2"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6)
    assert (np.array(expected) > 0).sum() > 100 and (res.summary["verdict"] == "prohibited").sum() > 100
    assert calls and calls[-1][0] == calls[-1][1] and all(b[0] >= a[0] for a, b in zip(calls, calls[1:]))


# ---------------------------------------------------------------------------------------- CLI

def _cli():
    from spatial.cli.main import app

    return app


def test_cli_writes_every_output(tmp_path):
    red = redline()
    red.to_file(tmp_path / "red.gpkg", layer="STBHHX", driver="GPKG")
    projects = gdf([box(X0, Y0, X0 + 0.01, Y0 + 0.01), box(X0 + 0.5, Y0 + 0.5, X0 + 0.51, Y0 + 0.51),
                    LineString([(X0 - 0.01, Y0 + 0.003), (X0 + 0.03, Y0 + 0.003)])],
                   XMMC=["风电场甲", "远处地块", "绿道"], project_type=["energy", "energy", "linear_infrastructure"])
    projects.to_file(tmp_path / "projects.gpkg", layer="projects", driver="GPKG")
    out = tmp_path / "out"
    result = CliRunner().invoke(_cli(), ["check", str(tmp_path / "projects.gpkg"), "--layer",
                                         f"ecological_redline={tmp_path / 'red.gpkg'}", "--area", "geodesic",
                                         "--width", "10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(out / "summary.csv", encoding="utf-8-sig")
    assert list(summary["project"]) == ["风电场甲", "远处地块", "绿道"]
    assert list(summary["verdict"]) == ["prohibited", "no_conflict", "needs_approval"]
    for col in ("project", "project_type", "verdict", "area_m2", "ecological_redline_m2"):
        assert col in summary.columns
    expected = geodesic_area(shapely.intersection(projects.geometry.iloc[0], shapely.union_all(red.geometry.values)))
    assert summary.loc[0, "ecological_redline_m2"] == pytest.approx(expected, rel=1e-9)
    overlaps = pd.read_csv(out / "overlaps.csv", encoding="utf-8-sig")
    for col in ("project", "layer", "layer_zh", "layer_en", "overlap_m2", "overlap_ha", "overlap_mu", "project_pct",
                "features", "distance_m", "verdict", "rule"):
        assert col in overlaps.columns
    assert overlaps.loc[0, "layer_zh"] == "生态保护红线" and overlaps.loc[0, "rule"] == "RL3"
    layers = dict(pyogrio.list_layers(out / "overlaps.gpkg"))
    assert {"projects", "overlap_pieces", "overlap_lines"} <= set(layers)
    back = gpd.read_file(out / "overlaps.gpkg", layer="projects")
    assert back.crs.to_epsg() == 4490 and len(back) == 3 and back.loc[0, "verdict"] == "prohibited"
    pieces = gpd.read_file(out / "overlaps.gpkg", layer="overlap_pieces")
    assert len(pieces) == 2 and set(pieces.geom_type) == {"MultiPolygon"}
    assert geodesic_area(pieces.geometry.iloc[0]) == pytest.approx(expected, rel=1e-9)
    sheets = pd.read_excel(out / "check.xlsx", sheet_name=None)
    assert {"summary", "overlaps"} <= set(sheets) and len(sheets["summary"]) == 3
    assert sheets["overlaps"].loc[0, HEADERS["verdict"]] == "prohibited"   # bilingual headers for people
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "风电场甲" in page and "禁止 Prohibited" in page and 'id="check-map"' in page and "RL3" in page
    assert "常山县生态文明建设规划" in page
    assert 'src="check_map.html"' in page  # the check map, embedded
    check_map = (out / "check_map.html").read_text(encoding="utf-8")
    assert all(name in check_map for name in ("风电场甲", "远处地块", "绿道"))


def test_cli_unusable_input_exits_nonzero_naming_the_file(tmp_path):
    # local coordinates without a .prj: no CRS can be known
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "'crs' was not provided": that is the point
        gpd.GeoDataFrame({"ptype": ["energy"]}, geometry=[box(1000, 1000, 1200, 1200)]).to_file(
            tmp_path / "noprj.shp")
    (tmp_path / "noprj.prj").unlink(missing_ok=True)
    redline().to_file(tmp_path / "red.gpkg", driver="GPKG")
    result = CliRunner().invoke(_cli(), ["check", str(tmp_path / "noprj.shp"), "--layer",
                                         f"ecological_redline={tmp_path / 'red.gpkg'}", "--type", "energy",
                                         "--out", str(tmp_path / "o")])
    assert result.exit_code != 0
    assert "noprj" in result.output
    result = CliRunner().invoke(_cli(), ["check", str(tmp_path / "red.gpkg"), "--layer",
                                         f"no_such_kind={tmp_path / 'red.gpkg'}", "--type", "energy"])
    assert result.exit_code != 0 and "no_such_kind" in result.output


# ---------------------------------------------------------------------------------------- the demo workspace

@pytest.mark.skipif(not (DEMO / "workspace.toml").exists(), reason="demo workspace not built")
def test_demo_projects():
    from spatial.sources.workspace import load_workspace

    ws = load_workspace(DEMO)
    res = check(ws.projects.gdf, ws)
    s = res.summary.set_index("project")
    wind = [p for p in s.index if "风电" in p]
    assert wind and all(s.loc[p, "verdict"] == "prohibited" for p in wind)
    assert any(row(res, int(s.loc[p, "project_no"]))["rule"] == "RL3" for p in wind)
    greenway = int(s.loc["常山港绿道", "project_no"])
    g = row(res, greenway)
    assert g["verdict"] == "needs_approval" and g["rule"] == "RL11" and g["overlap_length_m"] > 0
    assert set(res.layers["layer"]) >= {"ecological_redline", "permanent_farmland", "urban_boundary"}
    assert res.settings["illustrative"] is True
