"""GCJ-02 <-> WGS84: published test pairs, round trips, the zero offset abroad, geometries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from spatial.geo.gcj02 import (
    gcj02_to_wgs84,
    out_of_china,
    transform_geometries,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="GRS80")

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat)
# googollee/eviltransform python/test.py (Shanghai, Shenzhen, Beijing)
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]
# wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915)
COORDTRANSFORM = [(116.404, 39.915, 116.41024449916938, 39.91640428150164)]


@pytest.mark.parametrize("wlon, wlat, glon, glat", EVILTRANSFORM + COORDTRANSFORM)
def test_forward_matches_published_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize("wlon, wlat, glon, glat", EVILTRANSFORM + COORDTRANSFORM)
def test_inverse_recovers_published_wgs84(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    _, _, dist = GEOD.inv(lon, lat, wlon, wlat)
    assert dist < 1e-3  # metres; eviltransform's exact inverse promises 0.5 m


def test_one_iteration_is_the_usual_approximation():
    # coordtransform's gcj02towgs84(116.404, 39.915) is the one-step inverse
    lon, lat = gcj02_to_wgs84(116.404, 39.915, iterations=1)
    assert lon == pytest.approx(116.39775550083061, abs=1e-9)
    assert lat == pytest.approx(39.91359571849836, abs=1e-9)
    exact = gcj02_to_wgs84(116.404, 39.915)
    _, _, dist = GEOD.inv(lon, lat, *exact)
    assert 0.01 < dist < 5.0  # the approximation is off by about a metre


def test_round_trip_vectorised():
    rng = np.random.default_rng(7)
    lon = rng.uniform(75, 135, 5000)
    lat = rng.uniform(18, 53, 5000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert glon.shape == lon.shape
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert np.max(np.abs(back_lon - lon)) < 1e-6
    assert np.max(np.abs(back_lat - lat)) < 1e-6
    assert np.max(np.abs(back_lon - lon)) < 1e-10  # in fact it converges far below that


def test_offset_near_changshan_is_about_half_a_kilometre():
    lon, lat = 118.51, 28.90  # the county seat
    glon, glat = wgs84_to_gcj02(lon, lat)
    _, _, dist = GEOD.inv(lon, lat, glon, glat)
    assert 500 < dist < 600
    assert glon > lon  # shifted east (and slightly south) there
    assert glat < lat


@pytest.mark.parametrize("lon, lat", [(-0.1276, 51.5072), (-74.006, 40.7128), (151.2093, -33.8688), (140.0, 35.0)])
def test_no_offset_outside_china(lon, lat):
    assert bool(out_of_china(lon, lat))
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_nan_passes_through():
    lon, lat = wgs84_to_gcj02(np.array([118.5, np.nan]), np.array([28.9, np.nan]))
    assert np.isnan(lon[1]) and np.isnan(lat[1])
    assert np.isfinite(lon[0])
    lon, lat = gcj02_to_wgs84(np.array([118.5, np.nan]), np.array([28.9, np.nan]))
    assert np.isnan(lon[1]) and np.isfinite(lon[0])


def test_transform_geometries_round_trip_keeps_index_and_crs():
    geoms = gpd.GeoSeries(
        [
            Polygon([(118.4, 28.8), (118.6, 28.8), (118.6, 29.0), (118.4, 29.0)]),
            LineString([(118.3, 28.9), (118.7, 28.95)]),
            Point(118.51, 28.90),
            None,
        ],
        index=[10, 11, 12, 13],
        crs="EPSG:4490",
    )
    gcj = transform_geometries(geoms, "to_gcj02")
    assert list(gcj.index) == [10, 11, 12, 13]
    assert gcj.crs == geoms.crs
    assert gcj.iloc[3] is None
    assert gcj.iloc[2].x == pytest.approx(float(wgs84_to_gcj02(118.51, 28.90)[0]))
    shift = shapely.hausdorff_distance(gcj.iloc[0], geoms.iloc[0])
    assert 0.003 < shift < 0.008  # degrees: a few hundred metres
    back = transform_geometries(gcj, "to_wgs84")
    for a, b in zip(back.iloc[:3], geoms.iloc[:3]):
        assert shapely.hausdorff_distance(a, b) < 1e-9


def test_transform_geometries_accepts_frames_and_plain_geometries():
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(118.5, 28.9)], crs="EPSG:4326")
    out = transform_geometries(frame, "to_gcj02")
    assert isinstance(out, gpd.GeoSeries)
    single = transform_geometries(Point(118.5, 28.9), "to_gcj02")
    assert single.equals_exact(out.iloc[0], 1e-12)


def test_transform_geometries_keeps_z():
    p = transform_geometries(Point(118.5, 28.9, 123.0), "to_gcj02")
    assert p.has_z and p.z == 123.0


def test_transform_geometries_refuses_projected_and_bad_direction():
    projected = gpd.GeoSeries([Point(500000, 3200000)], crs="EPSG:4527")
    with pytest.raises(ValueError, match="projected"):
        transform_geometries(projected, "to_wgs84")
    with pytest.raises(ValueError, match="direction"):
        transform_geometries(gpd.GeoSeries([Point(118.5, 28.9)], crs=4490), "to_bd09")
