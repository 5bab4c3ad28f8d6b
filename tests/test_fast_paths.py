"""The shortcuts taken for speed at province scale give what the long way gives."""

import json
import subprocess
import sys

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Polygon, box

from spatial.geo.zones import local_plane, plane_origins
from spatial.sources.validation import _MAX_M_PER_DEGREE, _scan_vertices

GRS80 = Geod(ellps="GRS80")


def test_local_plane_round_trip_and_lengths_near_the_origin():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(73, 135, 200), rng.uniform(3, 53, 200)
    # segments of 10 m to 3 km in every direction around China
    az, dist = rng.uniform(0, 360, 200), rng.uniform(10, 3000, 200)
    lon2, lat2, _ = GRS80.fwd(lon, lat, az, dist)
    lines = shapely.linestrings(np.stack([np.column_stack([lon, lat]), np.column_stack([lon2, lat2])], axis=1))
    x0, y0 = plane_origins(lines)
    flat = local_plane(lines, x0, y0)
    np.testing.assert_allclose(shapely.length(flat), dist, rtol=2e-4)     # the plane's error near its origin
    back = local_plane(flat, x0, y0, inverse=True)
    np.testing.assert_allclose(shapely.get_coordinates(back), shapely.get_coordinates(lines), atol=1e-11)


def test_nearest_distance_is_geodesic_between_the_nearest_points():
    from spatial.analysis.check import check
    import geopandas as gpd
    red = gpd.GeoDataFrame({"name": ["红线"]}, geometry=[box(120.00, 30.00, 120.05, 30.05)], crs=4490)
    # a project 0.005° east of the red line's east edge, and one 0.003° north-east of its corner
    east = box(120.055, 30.02, 120.06, 30.025)
    corner = box(120.053, 30.053, 120.056, 30.056)
    projects = gpd.GeoDataFrame({"project_type": ["industrial"] * 2}, geometry=[east, corner], crs=4490)
    got = check(projects, {"ecological_redline": red}, near_m=2000).overlaps["distance_m"].to_numpy()
    d_east = min(GRS80.inv(120.05, y, 120.055, y)[2] for y in (30.02, 30.025))   # to the nearer end of the edge
    d_corner = GRS80.inv(120.05, 30.05, 120.053, 30.053)[2]
    np.testing.assert_allclose(got, [d_east, d_corner], atol=0.01)


def test_perimeter_bound_is_above_every_geodesic():
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-180, 180, 5000), rng.uniform(-89.9, 89.9, 5000)
    lon2, lat2 = lon + rng.normal(0, 0.05, 5000), np.clip(lat + rng.normal(0, 0.05, 5000), -89.99, 89.99)
    geodesic = GRS80.inv(lon, lat, lon2, lat2)[2]
    chord_deg = np.hypot(lon2 - lon, lat2 - lat)
    assert (geodesic <= chord_deg * _MAX_M_PER_DEGREE).all()
    # and near the equator and the poles (the largest radius of curvature), tight within a part per thousand
    ratio = geodesic / (chord_deg * _MAX_M_PER_DEGREE)
    assert ratio.max() > 0.999


def test_vertex_scan_finds_repeats_and_non_finite_values():
    ok = box(0, 0, 1, 1)
    repeat = Polygon([(0, 0), (1, 0), (1, 0), (1, 1), (0, 0)])
    nan = LineString([(0, 0), (np.nan, 1), (2, 2)])
    inf = LineString([(0, 0), (1, np.inf)])
    line_repeat = LineString([(0, 0), (0, 0), (1, 1)])
    holes = Polygon(box(0, 0, 10, 10).exterior.coords, [box(1, 1, 2, 2).exterior.coords])
    huge = LineString([(1e308, 1e308), (1.5e308, 1e308)])     # finite, though x + y overflows
    bad, rep = _scan_vertices(np.array([ok, repeat, nan, inf, line_repeat, holes, huge], dtype=object), piece=3)
    assert bad.tolist() == [0, 0, 1, 1, 0, 0, 0]
    assert rep.tolist() == [False, True, False, False, True, False, False]


def test_the_check_command_starts_without_the_pattern_and_the_maps():
    code = ("import sys, spatial.cli.main; "
            "print(__import__('json').dumps(sorted(m for m in ('folium', 'networkx', 'scipy.ndimage', 'rasterio', "
            "'spatial.analysis.pattern') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
    # and the package still hands every public name over on first use
    code = "import spatial; print(spatial.pattern.__module__, spatial.InputError.__name__, 'pattern' in dir(spatial))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["spatial.analysis.security_pattern", "InputError", "True"]
    with pytest.raises(AttributeError):
        import spatial
        spatial.no_such_name  # noqa: B018


def test_formula_cells_in_object_columns_of_any_content():
    import pandas as pd
    from spatial.outputs.tables import neutralise_frame
    col = pd.Series(["=1+1", -5, None, np.nan, "+86", "ok", b"=bytes", "\tx", "", "-", 3.5, "@a"], dtype=object)
    got = neutralise_frame(pd.DataFrame({"c": col}))["c"].tolist()
    assert got[:2] == ["'=1+1", -5] and got[2] is None and np.isnan(got[3])
    assert got[4:] == ["'+86", "ok", b"=bytes", "'\tx", "", "'-", 3.5, "'@a"]


def test_a_read_result_is_not_validated_twice_and_checks_the_same(tmp_path):
    import geopandas as gpd
    from spatial.analysis.check import check
    from spatial.sources.files import read_layer
    bowtie = Polygon([(120.00, 30.00), (120.01, 30.01), (120.01, 30.00), (120.00, 30.01)])   # self-crossing
    fine = box(120.02, 30.00, 120.03, 30.01)
    red = gpd.GeoDataFrame({"name": ["红线"]}, geometry=[box(120.005, 30.0, 120.025, 30.01)], crs=4490)
    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"XMMC": ["蝴蝶", "正常"]}, geometry=[bowtie, fine], crs=4490).to_file(path)
    read = read_layer(path)
    assert [f.kind for f in read.repairs] == ["repaired"]
    a = check(read, {"ecological_redline": red}, "industrial").summary
    b = check(read.gdf, {"ecological_redline": red}, "industrial").summary
    pd_testing = __import__("pandas").testing
    pd_testing.assert_frame_equal(a, b)
    assert a["ecological_redline_m2"].gt(0).all()
    # projected (GK) files are converted, and so validated again: the same areas as from EPSG:4490
    gk = tmp_path / "gk.gpkg"
    read.gdf.to_crs(4549).to_file(gk)
    c = check(read_layer(gk), {"ecological_redline": red}, "industrial").summary
    np.testing.assert_allclose(c["ecological_redline_m2"], a["ecological_redline_m2"], rtol=1e-4)  # GK edges
