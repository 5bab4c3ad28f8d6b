"""Reading layers: formats, encodings, validation findings, CRS handling, names, input errors."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from factories import (
    NAMES,
    bowtie,
    demo_layer,
    geodesic_area_m2,
    lonlat_square,
    two_parcels,
    write_boundary_point_file,
    write_gpkg,
    write_shapefile,
)
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from spatial.errors import InputError
from spatial.geo.area import area_m2
from spatial.sources.files import Finding, ReadResult, read_layer
from spatial.sources.names import feature_names

pytestmark = pytest.mark.filterwarnings("ignore:'crs' was not provided")


def _by_name(result: ReadResult) -> dict[str, float]:
    """Geodesic area (m²) per feature name."""
    names = feature_names(result.gdf)
    return dict(zip(names, area_m2(result.gdf, "geodesic")))


def _expected() -> dict[str, float]:
    src = demo_layer()
    return {n: geodesic_area_m2(g) for n, g in zip(src["name"], src.geometry)}


def _assert_round_trip(result: ReadResult, rel: float = 1e-9) -> None:
    got, want = _by_name(result), _expected()
    assert set(got) == set(want) == set(NAMES)
    for name in want:
        assert got[name] == pytest.approx(want[name], rel=rel)
    assert not result.repairs and not result.set_aside


# --- formats ----------------------------------------------------------------------------------------------

def test_geopackage_with_two_layers(tmp_path):
    path = write_gpkg(tmp_path / "changshan.gpkg", {"ecological_redline": demo_layer(),
                                                     "permanent_farmland": demo_layer(4527, n=2)})
    with pytest.raises(InputError) as exc:
        read_layer(path)
    msg = str(exc.value)
    assert str(path) in msg and "ecological_redline" in msg and "permanent_farmland" in msg and "--layer" in msg
    assert "3 features" in msg and "2 features" in msg

    red = read_layer(path, "ecological_redline")
    assert red.layer == "ecological_redline" and red.driver == "GPKG"
    assert red.layers == ["ecological_redline", "permanent_farmland"]
    assert red.gdf.crs.to_epsg() == 4490 and red.crs_source == "file"
    _assert_round_trip(red)

    farm = read_layer(path, "permanent_farmland")
    assert farm.gdf.crs.to_epsg() == 4527  # kept in the file's CRS: callers convert
    assert list(feature_names(farm.gdf)) == NAMES[:2]
    assert farm.to_cgcs2000().crs.to_epsg() == 4490
    # squares drawn in lon/lat and stored in GK: edges now straight in the plane, area within 1e-6
    for name, a in _by_name(farm).items():
        assert a == pytest.approx(_expected()[name], rel=1e-6)

    with pytest.raises(InputError, match="has no layer 'nope'.*ecological_redline"):
        read_layer(path, "nope")


def test_geopackage_ignores_attribute_tables_when_choosing(tmp_path):
    path = write_gpkg(tmp_path / "one.gpkg", {"red": demo_layer()})
    pyogrio.write_dataframe(pd.DataFrame({"styleName": ["x"]}), path, layer="layer_styles", driver="GPKG")
    result = read_layer(path)
    assert result.layer == "red"


def test_geojson(tmp_path):
    path = tmp_path / "red.geojson"
    pyogrio.write_dataframe(demo_layer(), path, driver="GeoJSON")
    result = read_layer(path)
    assert result.driver == "GeoJSON" and result.gdf.crs.to_epsg() == 4490
    _assert_round_trip(result)
    # without a crs member GeoJSON is WGS84 by RFC 7946, and we say so
    plain = tmp_path / "plain.geojson"
    doc = json.loads(demo_layer().to_json())
    doc.pop("crs", None)
    plain.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = read_layer(plain)
    assert r.gdf.crs.to_epsg() == 4326 and "RFC 7946" in r.crs_source


@pytest.mark.parametrize("driver", ["KML", "LIBKML"])
def test_kml(tmp_path, driver):
    path = tmp_path / "red.kml"
    pyogrio.write_dataframe(demo_layer(), path, driver=driver)
    result = read_layer(path)
    # KML is WGS84 by definition; the name lands in KML's <name>, read back as "Name"
    assert result.gdf.crs.to_epsg() == 4326 and "WGS84" in result.crs_source
    assert "Name" in result.gdf.columns
    assert list(feature_names(result.gdf)) == NAMES
    # LIBKML bookkeeping fields that hold only defaults are dropped; the data fields stay
    assert {"tessellate", "extrude", "visibility", "drawOrder", "timestamp"}.isdisjoint(result.gdf.columns)
    assert list(result.gdf["code"]) == ["C1", "C2", "C3"]
    got = _by_name(result)
    for name, want in _expected().items():
        assert got[name] == pytest.approx(want, rel=1e-9)
    z = [w for w in result.warnings if w.kind == "z_dropped"]
    if driver == "LIBKML":  # LIBKML writes altitude 0 on every vertex
        assert len(z) == 1
    assert not result.gdf.has_z.any()


def test_flatgeobuf(tmp_path):
    path = tmp_path / "red.fgb"
    pyogrio.write_dataframe(demo_layer(), path, driver="FlatGeobuf")
    result = read_layer(path)
    assert result.driver == "FlatGeobuf" and result.gdf.crs.to_epsg() == 4490
    _assert_round_trip(result)  # (the spatial index may reorder features: compared by name)


def test_shapefile_utf8_with_cpg(tmp_path):
    path = write_shapefile(tmp_path / "红线.shp", demo_layer(), encoding="UTF-8")
    result = read_layer(path)
    assert result.driver == "ESRI Shapefile"
    assert result.encoding == "UTF-8" and ".cpg" in result.encoding_source
    assert result.crs_source == "file (.prj)"
    assert list(result.gdf["name"]) == NAMES
    _assert_round_trip(result)
    assert not [w for w in result.warnings if w.kind == "encoding"]
    # the .dbf path leads to the same layer
    assert list(read_layer(path.with_suffix(".dbf")).gdf["name"]) == NAMES


def test_zipped_and_folder_shapefiles(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    write_shapefile(folder / "红线.shp", demo_layer(), encoding="GBK", cpg=False)
    write_shapefile(folder / "农田.shp", demo_layer(n=2), encoding="UTF-8")
    with pytest.raises(InputError, match="holds 2 layers"):
        read_layer(folder)
    assert list(read_layer(folder, "红线").gdf["name"]) == NAMES  # encoding detected inside the folder too
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            if f.stem == "红线":
                zf.write(f, f"成果/{f.name}")
    result = read_layer(archive)
    assert result.layer == "红线" and result.encoding == "GB18030"
    assert list(result.gdf["name"]) == NAMES


# --- encodings --------------------------------------------------------------------------------------------

def _gbk_layer() -> gpd.GeoDataFrame:
    gdf = demo_layer()
    gdf["名称"] = gdf["name"]  # a Chinese field name too
    return gdf


def test_gbk_shapefile_without_cpg(tmp_path):
    path = write_shapefile(tmp_path / "gbk.shp", _gbk_layer(), encoding="GBK", cpg=False)
    assert not path.with_suffix(".cpg").exists()
    raw = path.with_suffix(".dbf").read_bytes()
    assert "常山港".encode("gbk") in raw and raw[29] == 0  # no language-driver byte either
    # GDAL alone would read it as ISO-8859-1 (mojibake)
    assert pyogrio.read_dataframe(path)["name"].iloc[0] != NAMES[0]

    result = read_layer(path)
    assert result.encoding == "GB18030" and "no .cpg" in result.encoding_source
    assert list(result.gdf["name"]) == NAMES
    assert list(result.gdf["名称"]) == NAMES
    enc = [w for w in result.warnings if w.kind == "encoding"]
    assert len(enc) == 1 and str(path) in enc[0].message and "--encoding" in enc[0].message


def test_language_driver_byte_is_used_when_not_utf8(tmp_path):
    path = write_shapefile(tmp_path / "ldid.shp", demo_layer(), encoding="GBK", cpg=False, ldid=0x4D)
    result = read_layer(path)
    assert result.encoding == "GB18030" and "0x4D" in result.encoding_source
    assert list(result.gdf["name"]) == NAMES
    # 0x57 ("system ANSI") says nothing: GB18030 assumed
    path = write_shapefile(tmp_path / "ansi.shp", demo_layer(), encoding="GBK", cpg=False, ldid=0x57)
    result = read_layer(path)
    assert result.encoding == "GB18030" and "assumed" in result.encoding_source
    assert list(result.gdf["name"]) == NAMES


def test_utf8_shapefile_without_cpg_is_detected(tmp_path):
    path = write_shapefile(tmp_path / "u.shp", demo_layer(), encoding="UTF-8", cpg=False)
    result = read_layer(path)
    assert result.encoding == "UTF-8" and "strictly as UTF-8" in result.encoding_source
    assert list(result.gdf["name"]) == NAMES


def test_forced_encoding_and_a_lying_cpg(tmp_path):
    path = write_shapefile(tmp_path / "gbk.shp", demo_layer(), encoding="GBK", cpg=False)
    forced = read_layer(path, encoding="gbk")
    assert forced.encoding == "gbk" and forced.encoding_source.startswith("given")
    assert list(forced.gdf["name"]) == NAMES
    # a .cpg that says UTF-8 over GBK bytes: the bytes win, and we say so
    path.with_suffix(".cpg").write_text("UTF-8")
    result = read_layer(path)
    assert list(result.gdf["name"]) == NAMES
    assert any(w.kind == "encoding" and "the .cpg says UTF-8" in w.message for w in result.warnings)
    with pytest.raises(InputError, match="unknown"):
        read_layer(path, encoding="no-such-codec")


# --- validation -------------------------------------------------------------------------------------------

def test_bowtie_is_repaired_with_its_area_reported(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["良好地块", "蝴蝶结地块"]}, geometry=[lonlat_square(118.40, 28.90), bowtie()],
                           crs=4490)
    path = write_gpkg(tmp_path / "bowtie.gpkg", {"parcels": gdf})
    result = read_layer(path)
    assert len(result.gdf) == 2
    fixed = result.gdf.geometry.iloc[1]
    assert isinstance(fixed, MultiPolygon) and len(fixed.geoms) == 2 and fixed.is_valid
    (rep,) = result.repairs
    assert rep.kind == "repaired" and rep.number == 2 and rep.feature == "#2 蝴蝶结地块"
    assert "Self-intersection" in rep.reason
    assert str(path) in rep.message and "蝴蝶结地块" in rep.message
    # the naive area of the crossing ring: its two lobes cancel
    assert rep.area_before_m2 == pytest.approx(0.0, abs=1.0)
    # after: the two triangles, measured independently
    lon, lat, d = 118.45, 28.95, 0.01
    t1 = Polygon([(lon, lat), (lon + d / 2, lat + d / 2), (lon, lat + d)])
    t2 = Polygon([(lon + d, lat), (lon + d, lat + d), (lon + d / 2, lat + d / 2)])
    want = geodesic_area_m2(t1) + geodesic_area_m2(t2)
    assert rep.area_after_m2 == pytest.approx(want, rel=1e-9)
    assert area_m2(result.gdf, "geodesic")[1] == pytest.approx(want, rel=1e-9)
    assert isinstance(rep, Finding) and json.dumps(rep.__dict__, ensure_ascii=False)


def test_empty_geometries_are_set_aside_and_listed(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙", "丙", "丁"]},
                           geometry=[lonlat_square(118.40, 28.90), None, Polygon(), lonlat_square(118.42, 28.90)],
                           crs=4490)
    path = write_gpkg(tmp_path / "empty.gpkg", {"parcels": gdf})
    result = read_layer(path)
    assert list(result.gdf["name"]) == ["甲", "丁"]
    assert list(result.gdf.index) == [0, 3]  # positions in the file are kept
    assert list(feature_names(result.gdf.assign(name=None))) == ["1", "4"]
    assert [(f.kind, f.number, f.feature) for f in result.set_aside] == [
        ("empty_geometry", 2, "#2 乙"), ("empty_geometry", 3, "#3 丙")]
    assert all(str(path) in f.message for f in result.set_aside)
    assert list(result.set_aside_features["name"]) == ["乙", "丙"]


def test_all_empty_is_an_input_error(tmp_path):
    gdf = gpd.GeoDataFrame({"name": ["甲"]}, geometry=[None], crs=4490)
    path = write_gpkg(tmp_path / "none.gpkg", {"parcels": gdf})
    with pytest.raises(InputError, match="no usable geometry"):
        read_layer(path)


def test_unusable_and_mixed_geometry_types(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"name": ["面1", "面2", "点", "集合", "混合集合"]},
        geometry=[lonlat_square(118.40, 28.90), lonlat_square(118.42, 28.90), Point(118.5, 28.9),
                  GeometryCollection([lonlat_square(118.44, 28.90)]),
                  GeometryCollection([lonlat_square(118.46, 28.90), LineString([(118.4, 28.9), (118.5, 29.0)])])],
        crs=4490)
    path = tmp_path / "mixed.geojson"
    pyogrio.write_dataframe(gdf, path, driver="GeoJSON")
    result = read_layer(path)
    assert len(result.gdf) == 5
    kinds = [w.kind for w in result.warnings]
    assert "mixed_geometry_types" in kinds
    mixed = next(w for w in result.warnings if w.kind == "mixed_geometry_types")
    assert mixed.details == {"polygon": 4, "point": 1} and "#3 点" in mixed.message
    unpacked = [r for r in result.repairs if r.kind == "collection_unpacked"]
    assert [r.number for r in unpacked] == [4, 5] and "LineString part(s) dropped" in unpacked[1].message
    assert result.gdf.geometry.iloc[3].geom_type == "Polygon"


def test_exact_duplicates_are_kept_and_reported(tmp_path):
    sq = lonlat_square(118.40, 28.90)
    # same vertices, other start point and orientation
    again = Polygon(list(sq.exterior.coords)[::-1][1:] + [list(sq.exterior.coords)[::-1][1]])
    gdf = gpd.GeoDataFrame({"name": ["甲", "乙", "丙"]}, geometry=[sq, lonlat_square(118.5, 28.9), again], crs=4490)
    path = write_gpkg(tmp_path / "dup.gpkg", {"parcels": gdf})
    result = read_layer(path)
    assert len(result.gdf) == 3
    (dup,) = [w for w in result.warnings if w.kind == "duplicate_geometry"]
    assert dup.details["features"] == [1, 3] and "#1 甲" in dup.message and "#3 丙" in dup.message


def test_z_is_dropped_and_reported_once(tmp_path):
    gdf = demo_layer()
    gdf = gdf.set_geometry(shapely.force_3d(gdf.geometry.values, 120.0))
    path = write_gpkg(tmp_path / "z.gpkg", {"red": gdf})
    result = read_layer(path)
    assert not result.gdf.has_z.any()
    z = [w for w in result.warnings if w.kind == "z_dropped"]
    assert len(z) == 1 and z[0].details["count"] == 3
    _assert_round_trip(result)


# --- CRS --------------------------------------------------------------------------------------------------

def test_layer_without_crs_is_rejected_with_the_fix(tmp_path):
    path = write_shapefile(tmp_path / "nocrs.shp", demo_layer(), prj=False)
    with pytest.raises(InputError) as exc:
        read_layer(path)
    msg = str(exc.value)
    assert str(path) in msg and "--crs EPSG:4490" in msg and "EPSG:4527" in msg and ".prj" in msg
    assert "longitude/latitude" in msg
    # the fix works
    result = read_layer(path, crs="EPSG:4490")
    assert result.gdf.crs.to_epsg() == 4490 and result.crs_source == "given (crs=EPSG:4490)"
    _assert_round_trip(result)


def test_gk_without_prefix_and_without_crs_needs_the_zone(tmp_path):
    path = write_shapefile(tmp_path / "noprefix.shp", demo_layer(4548), prj=False)
    with pytest.raises(InputError, match="without the zone prefix.*EPSG:4548"):
        read_layer(path)


@pytest.mark.parametrize("epsg", [4527, 4528])
def test_zone_prefix_proves_the_crs(tmp_path, epsg):
    # Changshan data in zone 39 or zone 40 (the county straddles 118.5 °E): the prefix decides, not the longitude
    path = write_shapefile(tmp_path / f"gk{epsg}.shp", demo_layer(epsg), prj=False)
    result = read_layer(path)
    assert result.gdf.crs.to_epsg() == epsg
    assert f"EPSG:{epsg}" in result.crs_source and "prefix" in result.crs_source
    (w,) = [w for w in result.warnings if w.kind == "crs_detected"]
    assert str(path) in w.message
    for name, a in _by_name(result).items():
        assert a == pytest.approx(_expected()[name], rel=1e-6)


def test_swapped_gk_axes_are_explained(tmp_path):
    gk = demo_layer(4527)
    swapped = gk.set_geometry(shapely.transform(gk.geometry.values, lambda xy: xy[:, ::-1])).set_crs(None,
                                                                                                   allow_override=True)
    path = write_gpkg(tmp_path / "swapped.gpkg", {"red": swapped})
    with pytest.raises(InputError, match="exchanged.*EPSG:4527"):
        read_layer(path)


def test_crs_override_wins_and_says_so(tmp_path):
    path = write_gpkg(tmp_path / "wgs.gpkg", {"red": demo_layer().set_crs(4326, allow_override=True)})
    result = read_layer(path, crs="EPSG:4490")
    assert result.gdf.crs.to_epsg() == 4490
    assert "overriding the file's EPSG:4326" in result.crs_source
    assert any(w.kind == "crs_override" for w in result.warnings)
    with pytest.raises(InputError, match="not a coordinate reference system"):
        read_layer(path, crs="EPSG:99999999")
    gk = write_gpkg(tmp_path / "gk.gpkg", {"red": demo_layer(4527).set_crs(None, allow_override=True)})
    with pytest.raises(InputError, match="not degrees.*EPSG:4527"):
        read_layer(gk, crs="EPSG:4490")


def test_projected_crs_over_degrees_is_refused(tmp_path):
    path = write_shapefile(tmp_path / "wrongprj.shp", demo_layer().set_crs(4527, allow_override=True))
    with pytest.raises(InputError, match="look like longitude/latitude.*--crs EPSG:4490"):
        read_layer(path)
    assert read_layer(path, crs="EPSG:4490").gdf.crs.to_epsg() == 4490
    with pytest.raises(InputError, match="crs=EPSG:4528 is a projected CRS"):
        read_layer(path, crs="EPSG:4528")


def test_encoding_does_not_apply_to_utf8_formats(tmp_path):
    path = write_gpkg(tmp_path / "u.gpkg", {"red": demo_layer()})
    result = read_layer(path, encoding="gbk")
    assert list(result.gdf["name"]) == NAMES
    assert any(w.kind == "encoding" and "ignored" in w.message for w in result.warnings)


def test_prj_of_the_other_zone_loses_to_the_prefix(tmp_path):
    # zone-40 coordinates with a zone-39 .prj (118.5 °E: both zones are in use)
    path = write_shapefile(tmp_path / "z40.shp", demo_layer(4528).set_crs(4527, allow_override=True))
    result = read_layer(path)
    assert result.gdf.crs.to_epsg() == 4528
    assert any(w.kind == "crs_detected" and "EPSG:4528" in w.message for w in result.warnings)
    with pytest.raises(InputError, match="different Gauss-Krüger zone.*EPSG:4528"):
        read_layer(path, crs="EPSG:4527")
    # a Xian 1980 zone-40 .prj agrees with the prefix: kept
    xian = write_shapefile(tmp_path / "x40.shp", demo_layer(4528).set_crs(2364, allow_override=True))
    assert read_layer(xian).gdf.crs.to_epsg() == 2364


def test_geographic_prj_over_gk_coordinates(tmp_path):
    gdf = demo_layer(4527).set_crs(4490, allow_override=True)  # a wrong .prj copied from another layer
    path = write_shapefile(tmp_path / "wrongprj.shp", gdf)
    result = read_layer(path)
    assert result.gdf.crs.to_epsg() == 4527
    assert any(w.kind == "crs_detected" and "not degrees" in w.message for w in result.warnings)


# --- input errors -----------------------------------------------------------------------------------------

def test_input_errors_name_the_file(tmp_path):
    missing = tmp_path / "nowhere.shp"
    with pytest.raises(InputError, match=f"{missing}: no such file"):
        read_layer(missing)
    junk = tmp_path / "junk.geojson"
    junk.write_text("this is not geojson")
    with pytest.raises(InputError, match=f"{junk}: cannot be read as a vector data file"):
        read_layer(junk)
    empty = tmp_path / "empty.gpkg"
    pyogrio.write_dataframe(demo_layer().iloc[:0], empty, layer="red", driver="GPKG")
    with pytest.raises(InputError, match="holds no features"):
        read_layer(empty)
    shp = write_shapefile(tmp_path / "noshx.shp", demo_layer())
    shp.with_suffix(".shx").unlink()
    with pytest.raises(InputError, match="the .shx index"):
        read_layer(shp)


def test_boundary_point_txt_through_read_layer(tmp_path):
    path = write_boundary_point_file(tmp_path / "地块.txt", two_parcels(4527))
    result = read_layer(path)
    assert result.gdf.crs.to_epsg() == 4527 and "带号=39" in result.crs_source
    assert list(feature_names(result.gdf)) == ["天马街道风电场升压站", "辉埠镇钙产业基地"]
    assert result.gdf.attrs["header"]["坐标系"] == "2000国家大地坐标系"
    assert not result.repairs and not result.set_aside and not result.warnings
    not_bp = tmp_path / "readme.txt"
    not_bp.write_text("hello")
    with pytest.raises(InputError, match="readme.txt: no \\[地块坐标\\] section"):
        read_layer(not_bp)


# --- names ------------------------------------------------------------------------------------------------

def test_feature_names():
    df = gpd.GeoDataFrame({"XMMC": ["项目甲", None, " ", np.nan], "MC": [None, "名称乙", None, None],
                           "code": [1, 2, 3, 4]}, geometry=[box(0, 0, 1, 1)] * 4)
    assert list(feature_names(df)) == ["项目甲", "名称乙", "3", "4"]
    assert list(feature_names(df, "code")) == ["1", "2", "3", "4"]
    with pytest.raises(InputError, match="'名字' is not a column"):
        feature_names(df, "名字")
    kml_like = pd.DataFrame({"Name": ["a", "b"]})
    assert list(feature_names(kml_like)) == ["a", "b"]
    order = pd.DataFrame({"name": ["英文"], "项目名称": ["中文项目"]})
    assert list(feature_names(order)) == ["中文项目"]  # 项目名称 comes before name
    assert list(feature_names(pd.DataFrame({"x": [1, 2]}, index=["a", "b"]))) == ["1", "2"]
