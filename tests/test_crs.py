"""CGCS2000 Gauss–Krüger helpers: zone numbers, EPSG codes, zone detection, working projection."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from factories import demo_layer, gk_points
from pyproj import CRS
from shapely.geometry import box

from spatial.geo.crs import (
    CGCS2000,
    detect_gk_crs,
    gk_epsg,
    gk_epsg_for,
    gk_zone_for_lon,
    gk_zone_of_epsg,
    looks_swapped_gk,
    projected_crs_for,
    to_cgcs2000,
)


def _param(crs: CRS, name: str) -> float:
    """A projection parameter by name ("Longitude of natural origin", "False easting")."""
    return next(p.value for p in crs.coordinate_operation.params if p.name == name)


def _lon0(crs: CRS) -> float:
    return _param(crs, "Longitude of natural origin")


def test_zone_for_longitude():
    assert gk_zone_for_lon(117.0) == 39
    assert gk_zone_for_lon(118.4999) == 39
    assert gk_zone_for_lon(118.5) == 40  # the Changshan border belongs to the eastern zone
    assert gk_zone_for_lon(120.0) == 40
    assert gk_zone_for_lon(75.0) == 25 and gk_zone_for_lon(135.0) == 45
    assert gk_zone_for_lon(117.0, width=6) == 20
    with pytest.raises(ValueError):
        gk_zone_for_lon(float("nan"))


@pytest.mark.parametrize("zone", range(25, 46))
def test_epsg_codes_match_pyproj(zone):
    with_prefix, without = CRS.from_epsg(gk_epsg(zone, True)), CRS.from_epsg(gk_epsg(zone, False))
    assert _lon0(with_prefix) == _lon0(without) == 3 * zone
    assert _param(with_prefix, "False easting") == zone * 1_000_000 + 500_000
    assert _param(without, "False easting") == 500_000
    assert "CGCS2000" in with_prefix.name and "CGCS2000" in without.name
    assert gk_zone_of_epsg(gk_epsg(zone, True)) == ("cgcs2000", 3, zone, True)
    assert gk_zone_of_epsg(gk_epsg(zone, False)) == ("cgcs2000", 3, zone, False)


def test_epsg_code_table():
    assert (gk_epsg(25, True), gk_epsg(45, True), gk_epsg(25, False), gk_epsg(45, False)) == (4513, 4533, 4534, 4554)
    assert gk_epsg(39, True) == 4527 and gk_epsg(39, False) == 4548
    assert gk_epsg(40, True) == 4528 and gk_epsg(40, False) == 4549
    assert gk_epsg_for(20, True, width=6) == 4498
    assert gk_epsg_for(39, True, datum="xian1980") == 2363
    assert gk_epsg_for(39, True, datum="beijing1954") == 2415
    assert _lon0(CRS.from_epsg(gk_epsg_for(20, False, width=6))) == 117
    for bad in (24, 46):
        with pytest.raises(ValueError, match="outside China"):
            gk_epsg(bad, True)
    assert gk_zone_of_epsg(4490) is None and gk_zone_of_epsg(None) is None


def _bounds(points):
    xs, ys = zip(*points)
    return min(xs), min(ys), max(xs), max(ys)


def test_detect_zone_from_prefixed_eastings():
    # Changshan lies on both sides of 118.5 °E: data in zone 39 and in zone 40 are both common
    lonlat = [(118.25, 28.85), (118.62, 29.05)]
    assert detect_gk_crs(_bounds(gk_points(lonlat, 4527))) == 4527
    assert detect_gk_crs(_bounds(gk_points(lonlat, 4528))) == 4528
    # 6-degree zones carry prefixes 13–23
    assert detect_gk_crs(_bounds(gk_points(lonlat, 4498))) == 4498
    # a GeoSeries works too
    gs = gpd.GeoSeries([box(*_bounds(gk_points(lonlat, 4527)))], crs=None)
    assert detect_gk_crs(gs) == 4527


def test_detect_refuses_what_is_not_proved():
    lonlat = [(118.25, 28.85), (118.62, 29.05)]
    assert detect_gk_crs(_bounds(gk_points(lonlat, 4548))) is None  # no prefix: zone unknown
    assert detect_gk_crs((118.25, 28.85, 118.62, 29.05)) is None  # longitude/latitude
    x39 = gk_points([(118.25, 28.85)], 4527)[0]
    x40 = gk_points([(118.62, 29.05)], 4528)[0]
    assert detect_gk_crs((x39[0], x39[1], x40[0], x40[1])) is None  # two zones in one layer
    assert detect_gk_crs((39_500_000, 100.0, 39_500_100, 200.0)) is None  # northing not in China
    assert detect_gk_crs((39_950_000, 3_200_000, 39_960_000, 3_210_000)) is None  # 450 km from the meridian
    assert detect_gk_crs((50_500_000, 3_200_000, 50_500_100, 3_200_100)) is None  # no such zone
    assert detect_gk_crs((float("nan"),) * 4) is None


def test_swapped_axes_are_recognised():
    e, n = gk_points([(118.3, 28.9)], 4527)[0]
    assert detect_gk_crs((n, e, n + 100, e + 100)) is None
    assert looks_swapped_gk((n, e, n + 100, e + 100)) == 4527


def test_projected_crs_by_centre_longitude():
    west = gpd.GeoSeries([box(118.30, 28.9, 118.40, 29.0)], crs=4490)
    east = gpd.GeoSeries([box(118.55, 28.9, 118.65, 29.0)], crs=4490)
    assert projected_crs_for(west).to_epsg() == 4548
    assert projected_crs_for(east).to_epsg() == 4549
    assert projected_crs_for(west.to_crs(4528)).to_epsg() == 4548  # any input CRS
    assert projected_crs_for(demo_layer()).to_epsg() == 4548
    assert projected_crs_for((118.55, 28.9, 118.65, 29.0)).to_epsg() == 4549
    far = projected_crs_for(gpd.GeoSeries([box(10.0, 50.0, 10.1, 50.1)], crs=4490))
    assert far.is_projected and _lon0(far) == 9
    with pytest.raises(ValueError, match="without a CRS"):
        projected_crs_for(gpd.GeoSeries([box(0, 0, 1, 1)]))


def test_to_cgcs2000():
    gk = demo_layer(4527)
    out = to_cgcs2000(gk)
    assert out.crs.equals(CRS.from_user_input(CGCS2000))
    dense = to_cgcs2000(gk, densify_m=10.0)
    assert shapely.get_num_coordinates(dense.geometry.values).sum() > 10 * shapely.get_num_coordinates(
        out.geometry.values).sum()
    assert shapely.hausdorff_distance(out.geometry.iloc[0], dense.geometry.iloc[0]) < 1e-6
    with pytest.raises(ValueError, match="without a CRS"):
        to_cgcs2000(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]))
