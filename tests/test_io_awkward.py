"""Awkward geometry and awkward files (issue 12): right answers, findings with numbers, clear InputErrors."""

from __future__ import annotations

import json
import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.polygon import orient

from spatial.sources.files import InputError, read_layer

from factories import NAMES, demo_layer, lonlat_square, write_gpkg, write_shapefile

pytestmark = pytest.mark.filterwarnings("ignore:'crs' was not provided", "ignore::RuntimeWarning")

GRS80 = Geod(ellps="GRS80")


def geod_m2(geom) -> float:
    """Geodesic area on GRS80 straight from pyproj (edges as geodesics, as spatial.geo.area's geodesic method)."""
    return sum(abs(GRS80.geometry_area_perimeter(orient(p, 1.0))[0]) for p in shapely.get_parts(geom))


# --- 1. overlapping parts ---------------------------------------------------------------------------------

def test_overlapping_multipolygon_parts_become_their_union(tmp_path):
    a = box(118.40, 28.90, 118.41, 28.91)
    b = box(118.405, 28.905, 118.415, 28.915)        # a quarter of each square is shared
    multi = MultiPolygon([a, b])
    assert not multi.is_valid
    gdf = gpd.GeoDataFrame({"name": ["单块", "重叠两块"]}, geometry=[lonlat_square(118.45, 28.95), multi], crs=4490)
    result = read_layer(write_gpkg(tmp_path / "overlap.gpkg", {"parcels": gdf}))

    (rep,) = result.repairs
    assert rep.kind == "overlapping_parts" and rep.number == 2 and rep.feature == "#2 重叠两块"
    assert "overlap" in rep.message and "union" in rep.message and "overlap.gpkg" in rep.message
    union = shapely.union(a, b)
    assert rep.area_before_m2 == pytest.approx(geod_m2(a) + geod_m2(b), rel=1e-6)   # sum of the parts
    assert rep.area_after_m2 == pytest.approx(geod_m2(union), rel=1e-6)
    got = result.gdf.geometry.iloc[1]
    assert got.is_valid and got.geom_type == "Polygon" and not got.interiors       # no hole cut in the overlap
    from spatial.geo.area import area_m2
    assert area_m2(result.gdf, "geodesic")[1] == pytest.approx(geod_m2(union), rel=1e-6)
    # the overlap is a quarter of a square: the union is 7/8 of the sum, not 6/8 as make_valid's default gives
    assert rep.area_after_m2 / rep.area_before_m2 == pytest.approx(0.875, rel=1e-3)


# --- 2. NaN / Inf coordinates -----------------------------------------------------------------------------

def test_nan_and_inf_coordinates_are_set_aside_by_name(tmp_path):
    good = lonlat_square(118.40, 28.90)
    with np.errstate(invalid="ignore"):
        nan = Polygon([(118.42, 28.90), (118.43, np.nan), (118.43, 28.91), (118.42, 28.90)])
        inf = Polygon([(118.44, 28.90), (np.inf, 28.90), (118.45, 28.91), (118.44, 28.90)])
    gdf = gpd.GeoDataFrame({"name": ["好地块", "坏NaN地块", "坏Inf地块"]}, geometry=[good, nan, inf], crs=4490)
    path = write_gpkg(tmp_path / "nan.gpkg", {"parcels": gdf})
    result = read_layer(path)
    assert list(result.gdf["name"]) == ["好地块"]
    nan_f, inf_f = result.set_aside
    assert (nan_f.kind, nan_f.number, nan_f.feature) == ("non_finite_coordinates", 2, "#2 坏NaN地块")
    assert (inf_f.kind, inf_f.number, inf_f.feature) == ("non_finite_coordinates", 3, "#3 坏Inf地块")
    assert nan_f.details["count"] == 1 and str(path) in nan_f.message and "NaN" in nan_f.message
    assert list(result.set_aside_features["name"]) == ["坏NaN地块", "坏Inf地块"]
    assert result.gdf.crs.to_epsg() == 4490


def test_only_nan_features_is_an_input_error(tmp_path):
    with np.errstate(invalid="ignore"):
        nan = Polygon([(118.42, 28.90), (118.43, np.nan), (118.43, 28.91), (118.42, 28.90)])
    path = write_gpkg(tmp_path / "allnan.gpkg", {"p": gpd.GeoDataFrame({"name": ["甲"]}, geometry=[nan], crs=4490)})
    with pytest.raises(InputError, match="allnan.gpkg.*NaN"):
        read_layer(path)


# --- 3. repeated vertices ---------------------------------------------------------------------------------

def test_repeated_consecutive_vertices_are_removed_and_counted(tmp_path):
    x, y, d = 118.40, 28.90, 0.01
    ring = [(x, y), (x + d, y), (x + d, y), (x + d, y + d), (x, y + d), (x, y + d), (x, y + d), (x, y)]
    line = shapely.LineString([(x, y), (x, y), (x + d, y + d)])
    gdf = gpd.GeoDataFrame({"name": ["重复点地块", "干净地块"]}, geometry=[Polygon(ring), lonlat_square(118.5, 28.9)],
                           crs=4490)
    result = read_layer(write_gpkg(tmp_path / "dups.gpkg", {"parcels": gdf}))
    (rep,) = result.repairs
    assert rep.kind == "duplicate_vertices" and rep.feature == "#1 重复点地块" and rep.details["removed"] == 3
    assert "3 vertex(es)" in rep.message
    want = geod_m2(box(x, y, x + d, y + d))
    assert rep.area_before_m2 == pytest.approx(want, rel=1e-9) and rep.area_after_m2 == pytest.approx(want, rel=1e-9)
    assert shapely.get_num_coordinates(result.gdf.geometry.iloc[0]) == 5

    lines = read_layer(write_gpkg(tmp_path / "line.gpkg",
                                  {"l": gpd.GeoDataFrame({"name": ["线"]}, geometry=[line], crs=4490)}))
    assert lines.repairs[0].details["removed"] == 1 and math.isclose(lines.repairs[0].area_after_m2, 0.0)


# --- 6. truncated shapefile -------------------------------------------------------------------------------

@pytest.mark.parametrize("part", [".shp", ".shx", ".dbf"])
def test_truncated_shapefile_part_is_named_with_the_fix(tmp_path, part):
    shp = write_shapefile(tmp_path / "红线.shp", demo_layer(n=3))
    target = shp.with_suffix(part)
    data = target.read_bytes()
    target.write_bytes(data[:len(data) // 2])
    with pytest.raises(InputError) as exc:
        read_layer(shp)
    msg = str(exc.value)
    assert msg.startswith(str(target)) and "incomplete" in msg and f"holds only {len(data) // 2:,d}" in msg
    announced = len(data) - (part == ".dbf")  # the .dbf's closing 0x1A marker is not announced
    assert f"announces {announced:,d} bytes" in msg
    assert "copy it again" in msg and "re-export" in msg and "NULL" not in msg


# --- 7. latitude/longitude written the wrong way round ----------------------------------------------------

def _swapped_geojson(path, coords):
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "常山地块"},
                                                     "geometry": {"type": "Polygon", "coordinates": [coords]}}]}
    path.write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
    return path


def test_lat_lon_swapped_geojson_is_explained_with_the_fix(tmp_path):
    ring = [[28.90, 118.50], [28.90, 118.51], [28.91, 118.51], [28.91, 118.50], [28.90, 118.50]]  # [lat, lon]
    path = _swapped_geojson(tmp_path / "swapped.geojson", ring)
    with pytest.raises(InputError) as exc:
        read_layer(path)
    msg = str(exc.value)
    assert msg.startswith(str(path)) and "latitude, longitude" in msg and "[lat, lon]" in msg
    assert "swap the axes" in msg and "longitude 118.5000 … 118.5100 °E" in msg
    assert "--crs EPSG:4527" not in msg                     # not the circular 'pass a CRS' advice
    with pytest.raises(InputError, match="crs=EPSG:4490 is longitude/latitude, but .*swap the axes"):
        read_layer(path, crs="EPSG:4490")
    # the same coordinates the right way round read fine
    fixed = _swapped_geojson(tmp_path / "fixed.geojson", [[lon, lat] for lat, lon in ring])
    assert read_layer(fixed).gdf.total_bounds[0] == pytest.approx(118.50)


def test_lat_lon_swap_detection():
    from spatial.geo.crs import looks_swapped_lonlat
    assert looks_swapped_lonlat((28.90, 118.40, 29.10, 118.70))      # Changshan as [lat, lon]
    assert not looks_swapped_lonlat((118.40, 28.90, 118.70, 29.10))  # as it should be
    assert looks_swapped_lonlat((40.0, 80.0, 41.0, 81.0))            # Xinjiang: as given a point in the Arctic
    assert not looks_swapped_lonlat((39_500_000, 3_200_000, 39_510_000, 3_210_000))


# --- 9. .cpg naming no encoding ---------------------------------------------------------------------------

@pytest.mark.parametrize("cpg", ["ANSI", "OEM", "SYSTEM", "", "ansi\r\n"])
def test_legacy_cpg_means_detect_the_local_code_page(tmp_path, cpg):
    shp = tmp_path / "县界.shp"
    demo_layer(n=3).to_file(shp, encoding="gbk")
    shp.with_suffix(".cpg").write_bytes(cpg.encode("ascii"))
    assert shp.with_suffix(".dbf").read_bytes().find(NAMES[0].encode("gbk")) > 0   # really GBK bytes
    result = read_layer(shp)
    assert list(result.gdf["name"]) == NAMES
    assert result.encoding == "GB18030" and "names no encoding" in result.encoding_source
    (w,) = [f for f in result.warnings if f.kind == "encoding"]
    assert "legacy local code page" in w.message and "GB18030" in w.message and str(shp) in w.message
    assert repr(cpg.strip()) in w.message or (not cpg and "nothing (empty)" in w.message)


# --- 8. workspace.toml ------------------------------------------------------------------------------------

def _workspace(folder, layer_path="red.gpkg", extra_settings=""):
    folder.mkdir(parents=True, exist_ok=True)
    write_gpkg(folder / "red.gpkg", {"ecological_redline": demo_layer()})
    (folder / "workspace.toml").write_text(
        f'[workspace]\nname_zh = "测试"\n{extra_settings}\n[layers.ecological_redline]\npath = "{layer_path}"\n'
        f'layer = "ecological_redline"\n', encoding="utf-8")
    return folder


def test_workspace_toml_syntax_error_names_file_and_line(tmp_path):
    from spatial.sources.workspace import load_workspace
    ws = _workspace(tmp_path / "ws")
    toml = ws / "workspace.toml"
    toml.write_text('[workspace]\nname_zh = "测试"\nterrain_class = mountain\n', encoding="utf-8")
    with pytest.raises(InputError) as exc:
        load_workspace(ws)
    msg = str(exc.value)
    assert msg.startswith(str(toml)) and "not valid TOML" in msg and "line 3" in msg


def test_workspace_missing_layer_file_names_path_and_fix(tmp_path):
    from spatial.sources.workspace import load_workspace
    ws = _workspace(tmp_path / "ws", layer_path="STBHHX.shp")
    with pytest.raises(InputError) as exc:
        load_workspace(ws)
    msg = str(exc.value)
    assert "[layers.ecological_redline]" in msg and str(ws / "STBHHX.shp") in msg and "does not exist" in msg
    assert "correct the path in workspace.toml" in msg


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_layer_outside_the_workspace_only_when_allowed(tmp_path, how):
    from spatial.sources.workspace import load_workspace
    write_gpkg(tmp_path / "shared.gpkg", {"ecological_redline": demo_layer()})
    ref = "../shared.gpkg" if how == "relative" else str(tmp_path / "shared.gpkg")
    ws = _workspace(tmp_path / "ws", layer_path=ref)
    with pytest.raises(InputError, match="lies outside the workspace folder.*allow_outside = true"):
        load_workspace(ws)
    for loaded in (load_workspace(ws, allow_outside=True),
                   load_workspace(_workspace(tmp_path / "ws2", ref, "allow_outside = true"))):
        (w,) = [f for f in loaded.layer("ecological_redline").read.warnings if f.kind == "outside_workspace"]
        assert "outside the workspace folder" in w.message and "shared.gpkg" in w.message
        assert ("ecological_redline", w) in loaded.findings()      # listed for the audit record
        assert len(loaded.layer("ecological_redline").gdf) == 3
    inside = load_workspace(_workspace(tmp_path / "ws3"))
    assert not [f for _, f in inside.findings() if f.kind == "outside_workspace"]


# --- 10. project type from attributes ---------------------------------------------------------------------

def test_catalog_resolves_ids_names_and_short_labels():
    from spatial.rules.catalog import load_catalog
    cat = load_catalog()
    for text, tid in [("energy", "energy"), ("能源", "energy"), ("能源（风电、光伏等）", "energy"), ("光伏", "energy"),
                      (" Energy ", "energy"), ("Energy (wind, solar)", "energy"), ("道路", "linear_infrastructure"),
                      ("linear infrastructure", "linear_infrastructure"), ("工业项目", "industrial"), ("水利", "water_works")]:
        assert cat.project_type_id(text) == tid, text
    assert cat.project_type_id("火箭发射") is None and cat.project_type_id(None) is None
    assert cat.project_type_column(["XMMC", "xmlx", "geometry"]) == "xmlx"
    assert cat.project_type_column(["project_ty"]) == "project_ty"
    assert "能源" in cat.project_type_choices()


def _red_and_projects(tmp_path, column, values):
    red = gpd.GeoDataFrame({"name": ["红线"]}, geometry=[box(118.40, 28.90, 118.50, 29.00)], crs=4490)
    sites = [box(118.41 + 0.02 * i, 28.91, 118.415 + 0.02 * i, 28.915) for i in range(len(values))]
    projects = gpd.GeoDataFrame({"XMMC": [f"项目{i + 1}" for i in range(len(values))], column: values},
                                geometry=sites, crs=4490)
    return red, projects


@pytest.mark.parametrize("column", ["project_type", "XMLX", "项目类型", "XMLB"])
def test_project_type_column_aliases_and_chinese_values(tmp_path, column):
    from spatial.analysis.check import check
    red, projects = _red_and_projects(tmp_path, column, ["能源", "道路", "industrial"])
    shp = tmp_path / "projects.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # project_type is cut to project_ty by the shapefile
        projects.to_file(shp, encoding="gbk")          # GBK, as Chinese GIS software writes (项目类型 fits 10 bytes)
    read = read_layer(shp)
    if column == "project_type":
        assert "project_ty" in read.gdf.columns
    result = check(read.gdf, {"ecological_redline": red})
    assert list(result.summary["project_type"]) == ["energy", "linear_infrastructure", "industrial"]
    assert list(result.summary["verdict"]) == ["prohibited", "needs_approval", "prohibited"]


def test_unknown_project_type_lists_the_accepted_ones(tmp_path):
    from spatial.analysis.check import check
    red, projects = _red_and_projects(tmp_path, "XMLX", ["能源", "火箭发射"])
    with pytest.raises(InputError) as exc:
        check(projects, {"ecological_redline": red})
    msg = str(exc.value)
    assert "#2" in msg and "项目2" in msg and "XMLX is '火箭发射'" in msg and "energy (" in msg and "能源" in msg
    with pytest.raises(InputError, match="no project type column .*XMLX"):
        check(projects.drop(columns=["XMLX"]), {"ecological_redline": red})


def test_cli_type_accepts_a_chinese_label(tmp_path):
    from typer.testing import CliRunner
    from spatial.cli.main import app
    red, projects = _red_and_projects(tmp_path, "note", ["甲", "乙"])
    red.to_file(tmp_path / "red.gpkg", driver="GPKG")
    projects.to_file(tmp_path / "p.gpkg", driver="GPKG")
    out = tmp_path / "out"
    args = ["check", str(tmp_path / "p.gpkg"), "--layer", f"ecological_redline={tmp_path / 'red.gpkg'}",
            "--no-map", "--no-xlsx", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--type", "能源"])
    assert result.exit_code == 0, result.output
    import pandas as pd
    assert set(pd.read_csv(out / "summary.csv", encoding="utf-8-sig")["project_type"]) == {"energy"}
    bad = CliRunner().invoke(app, [*args, "--type", "火箭"])
    assert bad.exit_code != 0 and "火箭" in bad.output and "能源" in bad.output


# --- 4. degenerate projects -------------------------------------------------------------------------------

def test_validation_thresholds_come_from_the_catalogue():
    from spatial.rules.catalog import load_catalog
    v = load_catalog().validation
    assert v["min_project_area_m2"] == 1.0 and v["min_project_width_m"] == 0.5


def test_needles_and_specks_are_named_never_silently_no_conflict():
    from spatial.analysis.check import check
    from spatial.sources.files import degenerate_polygons
    red = gpd.GeoDataFrame({"name": ["红线"]}, geometry=[box(118.45, 28.85, 118.50, 28.95)], crs=4490)
    x0, y = 118.40, 28.90
    x1 = x0 + 14_000 / 97_500                                   # ~14 km east, across the red line
    zero = Polygon([(x0, y), (x1, y), (x0, y)])                  # out and back: no area at all
    thin = Polygon([(x0, y), (x1, y), (x1, y + 2e-7), (x0, y + 2e-7)])   # ~2 cm wide
    speck = box(118.46, 28.90, 118.46 + 5e-6, 28.90 + 5e-6)     # ~0.27 m²
    fine = box(118.46, 28.91, 118.47, 28.92)
    projects = gpd.GeoDataFrame({"XMMC": ["零面积针", "细针", "微小地块", "正常地块"], "project_type": ["energy"] * 4},
                                geometry=[zero, thin, speck, fine], crs=4490)
    result = check(projects, {"ecological_redline": red})
    assert list(result.summary["verdict"]) == ["prohibited"] * 4
    length = GRS80.line_length([x0, x1], [y, y])
    (z,) = [n for n in result.notes if "零面积针" in n]
    assert "zero area" in z and "checked as the line" in z and f"{length:,.1f} m" in z
    (t,) = [n for n in result.notes if "细针" in n]
    assert "#2" in t and "mean width" in t and "below 0.5 m" in t
    (s,) = [n for n in result.notes if "微小地块" in n]
    assert "#3" in s and "below 1 m²" in s
    assert not [n for n in result.notes if "正常地块" in n]
    # the measure itself: mean width 2A/P of the strip against pyproj.Geod
    bad = degenerate_polygons(projects.iloc[1:])
    assert list(bad.index) == [1, 2]
    a, p = abs(GRS80.geometry_area_perimeter(orient(thin, 1.0))[0]), GRS80.geometry_area_perimeter(thin)[1]
    assert bad.loc[1, "width_m"] == pytest.approx(2 * a / p, rel=1e-4)   # official vs geodesic area: 1e-4
    assert bad.loc[1, "length_m"] == pytest.approx(length, rel=1e-4)


# --- 5. Gauss-Krüger zone (带号) plausibility and the territory -------------------------------------------

def _bp_file(tmp_path, name, lon, zone=39, declare=None):
    from spatial.sources.boundary_points import write_boundary_points
    parcel = gpd.GeoDataFrame({"name": [name]}, geometry=[box(lon, 28.90, lon + 0.003, 28.903)], crs=4490)
    path = write_boundary_points(parcel, tmp_path / f"{name}.txt", zone=zone, with_prefix=False)
    if declare is not None:
        text = path.read_bytes().decode("gbk").replace(f"带号={zone}", f"带号={declare}")
        path.write_bytes(text.encode("gbk"))
    return path


def test_wrong_zone_number_lands_outside_the_territory_and_the_zone_is_suggested(tmp_path):
    from spatial.geo.crs import outside_territory
    from spatial.sources.workspace import load_workspace
    county = gpd.GeoDataFrame({"name": ["常山县"], "code": ["330822"]}, geometry=[box(118.30, 28.80, 118.70, 29.10)],
                              crs=4490)
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    write_gpkg(ws_dir / "base.gpkg", {"county": county, "red": demo_layer()})
    wrong = _bp_file(ws_dir, "升压站地块", 118.50, zone=39, declare=40)   # eastings of zone 39, 带号 says 40
    (ws_dir / "workspace.toml").write_text(
        '[workspace]\nname_zh = "常山"\nterritory_kind = "admin_county"\nterritory_code = "330822"\n\n'
        '[layers.admin_county]\npath = "base.gpkg"\nlayer = "county"\n\n'
        '[layers.ecological_redline]\npath = "base.gpkg"\nlayer = "red"\n\n'
        f'[projects]\npath = "{wrong.name}"\n', encoding="utf-8")
    ws = load_workspace(ws_dir)
    read = ws.projects
    assert read.gdf.crs.to_epsg() == 4549                                  # as declared: zone 40, no prefix
    lon = read.gdf.to_crs(4490).total_bounds[0]
    assert lon == pytest.approx(121.5, abs=0.05)                           # 3° east of where it belongs
    assert outside_territory(read.gdf, ws.territory()).tolist() == [True]
    (w,) = [f for f in read.warnings if f.kind == "outside_territory"]
    assert "#1 升压站地块" in w.message and "check 带号 / the CRS" in w.message and "带号 is probably 39" in w.message
    assert 250 < w.details["distance_km"] < 300 and w.details["zone"] == 39
    right = read_layer(_bp_file(tmp_path, "正确地块", 118.50, zone=39))
    assert outside_territory(right.gdf, ws.territory()).tolist() == [False]


def test_eastings_far_beyond_the_declared_zone(tmp_path):
    far = read_layer(_bp_file(tmp_path, "远地块", 120.30, zone=39))         # 3.3° east of zone 39's meridian
    (w,) = [f for f in far.warnings if f.kind == "outside_zone"]
    assert "带号=39" in w.message and "beyond the edge of zone 39" in w.message and "check 带号" in w.message
    with pytest.raises(InputError, match="带号=39, but .*no zone is used that far out; check 带号"):
        read_layer(_bp_file(tmp_path, "太远地块", 121.90, zone=39))         # 4.9°: cannot be right
    near = read_layer(_bp_file(tmp_path, "跨带地块", 118.80, zone=39))      # 0.3° beyond the edge: usual
    assert not [f for f in near.warnings if f.kind == "outside_zone"]


# --- 11. every reader, bad input: an InputError naming the file, nothing else ----------------------------

GARBAGE = bytes(range(256)) * 8


def _good_bytes(tmp_path, ext):
    """The bytes of a real, valid file of this format."""
    src = tmp_path / f"good{ext}"
    if ext == ".txt":
        _bp_file(tmp_path, "good", 118.5).rename(src)
    elif ext == ".kml":
        demo_layer().to_file(src, driver="KML")
    elif ext == ".geojson":
        demo_layer().to_file(src, driver="GeoJSON")
    else:
        demo_layer().to_file(src, driver="GPKG")
    return src.read_bytes()


@pytest.mark.parametrize("ext", [".shp", ".gpkg", ".geojson", ".kml", ".txt"])
@pytest.mark.parametrize("how", ["empty", "garbage", "truncated", "wrong_extension"])
def test_every_reader_turns_bad_input_into_an_input_error(tmp_path, ext, how):
    path = tmp_path / f"坏文件{ext}"
    if ext == ".shp":
        shp = write_shapefile(path, demo_layer())
        data = {"empty": b"", "garbage": GARBAGE, "truncated": shp.read_bytes()[:150],
                "wrong_extension": _good_bytes(tmp_path, ".gpkg")}[how]
        path.write_bytes(data)
    else:
        good = _good_bytes(tmp_path, ext)
        other = _good_bytes(tmp_path, ".gpkg" if ext != ".gpkg" else ".geojson")
        path.write_bytes({"empty": b"", "garbage": GARBAGE, "truncated": good[:len(good) // 2],
                          "wrong_extension": other}[how])
    try:
        result = read_layer(path)
    except InputError as exc:
        assert str(exc).startswith(str(path))
    else:  # GDAL knows formats by content: a real GeoJSON named .gpkg is read, and its name is questioned
        assert how == "wrong_extension", f"{how} {ext} was read without an InputError"
        (w,) = [f for f in result.warnings if f.kind == "wrong_extension"]
        assert str(path) in w.message and "rename it" in w.message


@pytest.mark.parametrize("how", ["empty", "garbage", "truncated", "wrong_extension"])
def test_bad_workspace_toml_is_an_input_error(tmp_path, how):
    from spatial.sources.workspace import load_workspace
    ws = _workspace(tmp_path / "ws")
    toml = ws / "workspace.toml"
    good = toml.read_bytes()
    toml.write_bytes({"empty": b"", "garbage": GARBAGE, "truncated": good[:len(good) - 25],
                      "wrong_extension": (ws / "red.gpkg").read_bytes()}[how])
    with pytest.raises(InputError) as exc:
        load_workspace(ws)
    assert str(toml) in str(exc.value)
