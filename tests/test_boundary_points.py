"""Boundary-point txt (界址点坐标): parsing, zone handling, area checks and the writer round trip."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from factories import (
    geodesic_area_m2,
    gk_points,
    gk_rect,
    two_parcels,
    write_boundary_point_file,
)
from shapely.geometry import MultiPolygon, box

from spatial.sources.boundary_points import (
    BoundaryPointError,
    load_boundary_points,
    read_boundary_points,
    write_boundary_points,
)
from spatial.sources.files import read_layer


@pytest.fixture
def two_parcel_file(tmp_path):
    return write_boundary_point_file(tmp_path / "报批地块.txt", two_parcels(4527))


def test_two_parcels_one_with_a_hole(two_parcel_file):
    gdf = read_boundary_points(two_parcel_file)
    assert gdf.crs.to_epsg() == 4527
    assert list(gdf["name"]) == ["天马街道风电场升压站", "辉埠镇钙产业基地"]
    assert list(gdf["parcel_no"]) == ["1", "2"]
    assert list(gdf["land_use"]) == ["公用设施用地", "工业用地"]
    assert list(gdf["declared_area_ha"]) == [5.5, 1.8]
    assert list(gdf["point_count"]) == [10, 5]  # closing points included
    assert gdf["remark"].iloc[1] == "061,浙江扩展字段"  # header fields beyond the usual ones kept
    assert gdf.attrs["header"]["带号"] == "39"

    first, second = gdf.geometry
    assert len(first.interiors) == 1 and len(second.interiors) == 0
    # X is the northing, Y the easting with zone prefix: geometry x is the easting
    assert 39_000_000 < first.bounds[0] < 40_000_000 and 3_000_000 < first.bounds[1] < 3_300_000
    # plane area: 300 × 200 − 100 × 50
    assert first.area == pytest.approx(55_000.0, abs=1e-3)


def test_computed_area_against_an_independent_geodesic_area(two_parcel_file):
    gdf = read_boundary_points(two_parcel_file)
    for geom, computed_ha, declared_ha in zip(gdf.geometry, gdf["computed_area_ha"], gdf["declared_area_ha"]):
        # independent: densify the GK ring (edges are straight in the GK plane), inverse-project, pyproj.Geod
        expected_m2 = geodesic_area_m2(geom, "EPSG:4527", step_m=2.0)
        assert computed_ha * 1e4 == pytest.approx(expected_m2, rel=1e-6)
        # the declared (plane) area agrees within the GK scale distortion (~0.05 % here), well inside 1 %
        assert computed_ha == pytest.approx(declared_ha, rel=2e-3)
        assert computed_ha != declared_ha


def test_read_layer_reports_a_declared_area_off_by_more_than_one_percent(tmp_path):
    parcels = two_parcels(4527)
    parcels[1]["fields"][0] = "1.9000"  # 1.8 ha block declared as 1.9 ha (+5.6 %)
    path = write_boundary_point_file(tmp_path / "areas.txt", parcels)
    result = read_layer(path)
    mismatch = [w for w in result.warnings if w.kind == "area_mismatch"]
    assert len(mismatch) == 1
    assert mismatch[0].number == 2 and "辉埠镇钙产业基地" in mismatch[0].feature
    assert str(path) in mismatch[0].message and "1.9000 ha" in mismatch[0].message
    assert mismatch[0].details["declared_area_ha"] == 1.9
    assert mismatch[0].details["computed_area_ha"] == pytest.approx(1.7991, abs=1e-3)
    assert result.driver.startswith("boundary-points")
    assert result.encoding == "gb18030"


def test_zone_comes_from_daihao_not_from_the_longitude(tmp_path):
    # parcels east of 118.5 °E written in zone 39 (as Changshan data often are): stays zone 39
    rect = gk_rect(118.62, 28.95, 100.0, 100.0, 4527)
    path = write_boundary_point_file(tmp_path / "east.txt",
                                     [{"rings": [rect], "fields": ["1", "1", "a", "面", "", "", ""]}])
    gdf = read_boundary_points(path)
    assert gdf.crs.to_epsg() == 4527
    lon = gdf.to_crs(4490).geometry.iloc[0].centroid.x
    assert lon > 118.5  # the longitude would say zone 40


def test_without_zone_prefix_uses_daihao(tmp_path):
    rect = gk_rect(118.62, 28.95, 100.0, 100.0, 4549)  # zone 40, no prefix
    path = write_boundary_point_file(tmp_path / "noprefix.txt", [{"rings": [rect], "fields": ["1", "1", "a", "面"]}],
                                     header={"带号": "40"})
    bp = load_boundary_points(path)
    assert bp.gdf.crs.to_epsg() == 4549
    assert "without zone prefix" in bp.crs_source


def test_no_daihao_and_no_prefix_needs_the_zone(tmp_path):
    rect = gk_rect(118.62, 28.95, 100.0, 100.0, 4549)
    path = write_boundary_point_file(tmp_path / "nozone.txt", [{"rings": [rect], "fields": ["1", "1", "a", "面"]}],
                                     header={"带号": None})
    with pytest.raises(BoundaryPointError) as exc:
        read_boundary_points(path)
    assert str(path) in str(exc.value) and "带号" in str(exc.value) and "--crs" in str(exc.value)
    # a .prj beside the file settles it
    path.with_suffix(".prj").write_text(gpd.GeoSeries(crs=4549).crs.to_wkt())
    assert read_boundary_points(path).crs.to_epsg() == 4549


def test_zone_prefix_alone_proves_the_zone(tmp_path):
    rect = gk_rect(118.62, 28.95, 100.0, 100.0, 4528)
    path = write_boundary_point_file(tmp_path / "prefix.txt", [{"rings": [rect], "fields": ["1", "1", "a", "面"]}],
                                     header={"带号": None})
    bp = load_boundary_points(path)
    assert bp.gdf.crs.to_epsg() == 4528
    assert any(n.kind == "zone_from_prefix" for n in bp.notes)


def test_daihao_contradicting_the_prefix_is_an_error(tmp_path):
    rect = gk_rect(118.62, 28.95, 100.0, 100.0, 4528)  # prefix 40
    path = write_boundary_point_file(tmp_path / "clash.txt", [{"rings": [rect], "fields": ["1", "1", "a", "面"]}],
                                     header={"带号": "39"})
    with pytest.raises(BoundaryPointError, match="带号=39 but the eastings"):
        read_boundary_points(path)


def test_swapped_axes_unclosed_rings_and_wrong_point_count(tmp_path):
    rect = gk_rect(118.40, 28.90, 100.0, 100.0, 4527)
    parcels = [{"rings": [rect], "fields": ["1.0", "1", "地块", "面"], "count": 9}]
    path = write_boundary_point_file(tmp_path / "odd.txt", parcels, swap_xy=True, close_rings=False)
    bp = load_boundary_points(path)
    kinds = {n.kind for n in bp.notes}
    assert {"axes_swapped", "ring_not_closed", "point_count"} <= kinds
    geom = bp.gdf.geometry.iloc[0]
    assert bp.gdf.crs.to_epsg() == 4527
    assert geom.area == pytest.approx(10_000.0, abs=1e-3)
    # read_layer turns the closing into a repair and the rest into warnings
    result = read_layer(path)
    assert [f.kind for f in result.repairs] == ["ring_not_closed"]
    assert {"axes_swapped", "point_count"} <= {f.kind for f in result.warnings}


def test_ring_outside_the_outer_ring_is_a_further_part(tmp_path):
    a = gk_rect(118.40, 28.90, 100.0, 100.0, 4527)
    b = [(e + 500.0, n) for e, n in a]
    path = write_boundary_point_file(tmp_path / "parts.txt", [{"rings": [a, b], "fields": ["2.0", "1", "两块", "面"]}])
    bp = load_boundary_points(path)
    geom = bp.gdf.geometry.iloc[0]
    assert isinstance(geom, MultiPolygon) and len(geom.geoms) == 2
    assert geom.area == pytest.approx(20_000.0, abs=1e-3)
    assert any(n.kind == "separate_part" for n in bp.notes)


def test_xian80_and_six_degree_zones(tmp_path):
    # Xian 1980, 3-degree zone 39 with prefix
    rect = gk_rect(118.40, 28.90, 100.0, 100.0, 2363)
    path = write_boundary_point_file(tmp_path / "xian80.txt", [{"rings": [rect], "fields": ["1", "1", "a", "面"]}],
                                     header={"坐标系": "80西安坐标系"})
    bp = load_boundary_points(path)
    assert bp.gdf.crs.to_epsg() == 2363
    assert any(n.kind == "datum" for n in bp.notes)
    # CGCS2000 6-degree zone 20 (CM 117 °E) with prefix
    rect = gk_rect(118.40, 28.90, 100.0, 100.0, 4498)
    path = write_boundary_point_file(tmp_path / "six.txt", [{"rings": [rect], "fields": ["1", "1", "a", "面"]}],
                                     header={"几度分带": "6", "带号": "20"})
    assert read_boundary_points(path).crs.to_epsg() == 4498


def test_crs_given_overrides_daihao(two_parcel_file):
    bp = load_boundary_points(two_parcel_file, crs="EPSG:2363")  # the same zone in Xian 1980
    assert bp.gdf.crs.to_epsg() == 2363 and "overriding 带号=39" in bp.crs_source
    with pytest.raises(BoundaryPointError, match="not a coordinate reference system"):
        load_boundary_points(two_parcel_file, crs="EPSG:0")


def test_not_a_boundary_point_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n", encoding="utf-8")
    with pytest.raises(BoundaryPointError, match="no \\[地块坐标\\] section"):
        read_boundary_points(path)
    bad = tmp_path / "bad.txt"
    bad.write_text("[属性描述]\n带号=39\n[地块坐标]\n4,1,1,a,面,@\nJ1,1,abc,def\n", encoding="utf-8")
    with pytest.raises(BoundaryPointError, match="line 5"):
        read_boundary_points(bad)


def test_utf8_file_and_forced_encoding(tmp_path):
    path = write_boundary_point_file(tmp_path / "utf8.txt", two_parcels(4527), encoding="utf-8")
    bp = load_boundary_points(path)
    assert bp.encoding == "utf-8" and bp.gdf["name"].iloc[0] == "天马街道风电场升压站"
    gbk = write_boundary_point_file(tmp_path / "gbk.txt", two_parcels(4527))
    assert load_boundary_points(gbk, "gbk").gdf["name"].iloc[1] == "辉埠镇钙产业基地"


def test_writer_round_trip(tmp_path):
    # a parcel with a hole and a two-part parcel, in CGCS2000 lon/lat
    outer = box(118.40, 28.90, 118.41, 28.91)
    parcel1 = outer.difference(box(118.403, 28.903, 118.405, 28.905))
    parcel2 = MultiPolygon([box(118.42, 28.90, 118.425, 28.905), box(118.43, 28.90, 118.435, 28.905)])
    gdf = gpd.GeoDataFrame({"name": ["四省边际生态文化旅游小镇", "常山港绿道驿站"], "land_use": ["商服用地", None]},
                           geometry=[parcel1, parcel2], crs=4490)
    path = write_boundary_points(gdf, tmp_path / "out" / "项目.txt", zone=39)
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert "带号=39" in text and "\r\n" in text and "坐标系=2000国家大地坐标系" in text

    back = read_boundary_points(path)
    assert back.crs.to_epsg() == 4527
    assert list(back["name"]) == list(gdf["name"])
    assert back["land_use"].iloc[0] == "商服用地" and back["land_use"].isna().iloc[1]
    assert len(back.geometry.iloc[0].interiors) == 1
    assert isinstance(back.geometry.iloc[1], MultiPolygon)
    # geometry survives to the millimetre the format keeps
    again = back.to_crs(4490)
    for a, b in zip(gdf.geometry, again.geometry):
        assert shapely.hausdorff_distance(a, b) < 1e-7  # degrees (~1 cm)
    # declared area written = ellipsoidal area; read back it matches the recomputed one
    assert (back["declared_area_ha"] - back["computed_area_ha"]).abs().max() < 1e-4
    for a, ha in zip(gdf.geometry, back["declared_area_ha"]):
        assert ha * 1e4 == pytest.approx(geodesic_area_m2(a, step_m=1.0), rel=1e-5)
    # nothing to report on a clean round trip
    result = read_layer(path)
    assert not result.repairs and not result.set_aside
    assert not [w for w in result.warnings if w.kind == "area_mismatch"]


def test_writer_zone_and_prefix_choices(tmp_path):
    pts = gk_points([(118.60, 28.95)], 4528)
    gdf = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[box(pts[0][0], pts[0][1], pts[0][0] + 100, pts[0][1] + 100)],
                           crs=4528)
    path = write_boundary_points(gdf, tmp_path / "z40.txt", with_prefix=False)
    text = path.read_bytes().decode("gbk")
    assert "带号=40" in text
    back = read_boundary_points(path)
    assert back.crs.to_epsg() == 4549
    assert back["declared_area_ha"].iloc[0] == pytest.approx(1.0, rel=2e-3)
    # declared_area_ha given is written as is
    gdf["declared_area_ha"] = [1.2345]
    back = read_boundary_points(write_boundary_points(gdf, tmp_path / "decl.txt"))
    assert back["declared_area_ha"].iloc[0] == 1.2345


def test_writer_refuses_what_the_format_cannot_hold(tmp_path):
    lines = gpd.GeoDataFrame({"name": ["线"]}, geometry=[shapely.LineString([(118.4, 28.9), (118.5, 28.9)])], crs=4490)
    with pytest.raises(ValueError, match="LineString"):
        write_boundary_points(lines, tmp_path / "x.txt")
    nocrs = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(0, 0, 1, 1)])
    with pytest.raises(ValueError, match="no CRS"):
        write_boundary_points(nocrs, tmp_path / "y.txt")
