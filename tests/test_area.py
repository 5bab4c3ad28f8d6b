"""Ellipsoidal areas: the land-survey (official) method and the geodesic method.

Expectations are computed independently of spatial.geo.area: the closed-form zone area of the ellipsoid from the
authalic-latitude function q(φ), and GeographicLib (pyproj.Geod) on coordinates densified by the test itself.
"""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)
from shapely.geometry.polygon import orient

from spatial.geo import area as area_mod
from spatial.geo.area import (
    area_m2,
    geodesic_area_m2,
    length_m,
    official_area_m2,
    union_area_m2,
)

GRS80_A = 6378137.0
GRS80_F = 1 / 298.257222101
GEOD = Geod(ellps="GRS80")


def zone_area(lon1, lon2, lat1, lat2):
    """Area of the ellipsoidal quadrangle between two meridians and two parallels (closed form)."""
    e2 = GRS80_F * (2 - GRS80_F)
    e = np.sqrt(e2)

    def q(lat):  # authalic-latitude function: area from the equator = a²/2·Δλ·q(φ)
        s = np.sin(np.radians(lat))
        return (1 - e2) * (s / (1 - e2 * s * s) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))

    return GRS80_A**2 / 2 * np.radians(lon2 - lon1) * (q(lat2) - q(lat1))


def geod_area_of_plane_polygon(poly: Polygon, epsg: int, step: float = 1.0) -> float:
    """GeographicLib area of a polygon whose edges are straight in the plane of ``epsg`` (densified there)."""
    dense = shapely.segmentize(poly, step)
    to_geo = Transformer.from_crs(epsg, 4490, always_xy=True)
    x, y = np.asarray(dense.exterior.coords).T
    lon, lat = to_geo.transform(x, y)
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def geod_reference(geom) -> float:
    """pyproj's own area for a lon/lat geometry, with rings oriented as pyproj requires."""
    if isinstance(geom, MultiPolygon):
        return sum(geod_reference(p) for p in geom.geoms)
    return abs(GEOD.geometry_area_perimeter(orient(geom, 1.0))[0])


# A pentagon of about 1770 km² in GK zone 39, 130-150 km east of the central meridian (≈118.4°E, 29°N),
# with edges up to 36 km long: long enough that GK-straight and (L, B)-straight edges differ visibly.
GK_PENTAGON = Polygon([(420000, 3190000), (455000, 3185000), (470000, 3215000), (440000, 3232000), (415000, 3220000)])
ZONE39_PREFIX = 39_000_000


def county_polygon(n: int = 200, seed: int = 7) -> Polygon:
    """An irregular county-sized polygon (≈1000 km²) around Changshan, in lon/lat."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 0.17 * (1 + 0.25 * np.sin(3 * t) + 0.1 * rng.uniform(-1, 1, n))
    return Polygon(np.c_[118.5 + r * np.cos(t), 28.9 + 0.9 * r * np.sin(t)])


# --- official method ----------------------------------------------------------------------------------

def test_meridian_parallel_rectangle_equals_closed_form_zone_area():
    expected = zone_area(118.2, 118.7, 28.8, 29.2)
    rect = gpd.GeoSeries([box(118.2, 28.8, 118.7, 29.2)], crs=4490)
    assert official_area_m2(rect)[0] == pytest.approx(expected, rel=1e-9)
    # edges straight in (L, B) follow the parallels, so extra vertices on them change nothing
    dense = gpd.GeoSeries([shapely.segmentize(box(118.2, 28.8, 118.7, 29.2), 0.013)], crs=4490)
    assert official_area_m2(dense)[0] == pytest.approx(expected, rel=1e-9)
    # a large cell far north, where the series' terms in e⁶ and e⁸ matter more
    big = gpd.GeoSeries([box(120.0, 50.0, 126.0, 53.0)], crs=4490)
    assert official_area_m2(big)[0] == pytest.approx(zone_area(120.0, 126.0, 50.0, 53.0), rel=1e-9)


@pytest.mark.parametrize("epsg, offset", [(4527, ZONE39_PREFIX), (4548, 0)])
def test_gauss_kruger_polygon_matches_geodesic_area_of_the_gk_densified_polygon(epsg, offset):
    poly = shapely.affinity.translate(GK_PENTAGON, xoff=offset)
    expected = geod_area_of_plane_polygon(poly, epsg, step=1.0)
    got = official_area_m2(gpd.GeoSeries([poly], crs=epsg))[0]
    assert got == pytest.approx(expected, rel=1e-9)  # measured ≈ 2e-12
    # the projected plane area is off by the GK scale (~1e-4 this far from the central meridian)
    assert abs(poly.area / got - 1) > 5e-5


def test_zone_prefix_does_not_change_the_area():
    with_prefix = official_area_m2(gpd.GeoSeries([shapely.affinity.translate(GK_PENTAGON, ZONE39_PREFIX)], crs=4527))
    without = official_area_m2(gpd.GeoSeries([GK_PENTAGON], crs=4548))
    assert with_prefix[0] == pytest.approx(without[0], rel=1e-12)


@pytest.mark.parametrize("fraction", [0.5, 0.3])
def test_inserting_a_vertex_on_an_edge_does_not_change_the_official_area(fraction):
    def insert_on_every_edge(poly: Polygon) -> Polygon:
        c = np.asarray(poly.exterior.coords)
        extra = c[:-1] + fraction * (c[1:] - c[:-1])
        return Polygon(np.column_stack([c[:-1], extra]).reshape(-1, 2))

    small = Polygon([(650000, 3200000), (650180, 3200040), (650210, 3200260), (650020, 3200190)])
    for poly, epsg in [(GK_PENTAGON, 4548), (small, 4548), (county_polygon(12), 4490)]:
        before = official_area_m2(gpd.GeoSeries([poly], crs=epsg))[0]
        after = official_area_m2(gpd.GeoSeries([insert_on_every_edge(poly)], crs=epsg))[0]
        assert abs(after / before - 1) < 1e-9


def test_edge_definition_follows_the_source_plane():
    # the same vertices mean different regions: GK-straight edges versus (L, B)-straight edges
    gk = gpd.GeoSeries([GK_PENTAGON], crs=4548)
    as_lonlat = gk.to_crs(4490)
    gk_area = official_area_m2(gk)[0]
    lonlat_area = official_area_m2(as_lonlat)[0]
    densified_first = official_area_m2(gpd.GeoSeries([shapely.segmentize(GK_PENTAGON, 10.0)], crs=4548).to_crs(4490))[0]
    assert abs(lonlat_area / gk_area - 1) > 1e-6
    assert densified_first == pytest.approx(gk_area, rel=1e-9)


def test_orientation_holes_multipolygons_and_collections():
    outer = box(118.40, 28.90, 118.50, 29.00)
    hole = box(118.42, 28.92, 118.45, 28.95)
    other = box(118.60, 28.90, 118.62, 28.93)
    with_hole = Polygon(outer.exterior.coords, [hole.exterior.coords])
    clockwise = orient(outer, -1.0)
    geoms = gpd.GeoSeries(
        [
            outer, with_hole, clockwise, MultiPolygon([outer, other]),
            GeometryCollection([outer, LineString([(118, 28), (119, 29)]), Point(118, 28)]),
            LineString([(118, 28), (119, 29), (118, 29)]), Point(118, 29), None, Polygon(),
        ],
        crs=4490,
    )
    for method in ("official", "geodesic"):
        a = area_m2(geoms, method)
        single = area_m2(gpd.GeoSeries([outer, hole, other], crs=4490), method)
        assert a[0] == pytest.approx(single[0], rel=1e-12)
        assert a[1] == pytest.approx(single[0] - single[1], rel=1e-12)
        assert a[2] == pytest.approx(single[0], rel=1e-12)
        assert a[3] == pytest.approx(single[0] + single[2], rel=1e-12)
        assert a[4] == pytest.approx(single[0], rel=1e-12)
        assert list(a[5:]) == [0.0, 0.0, 0.0, 0.0]
    # the quadrangle itself, against the closed form
    assert area_m2(geoms)[0] == pytest.approx(zone_area(118.40, 118.50, 28.90, 29.00), rel=1e-9)


def test_wgs84_and_cgcs2000_coordinates_give_the_same_area():
    poly = county_polygon()
    for method in ("official", "geodesic"):
        a4326 = area_m2(gpd.GeoSeries([poly], crs=4326), method)[0]
        a4490 = area_m2(gpd.GeoSeries([poly], crs=4490), method)[0]
        assert a4326 == pytest.approx(a4490, rel=1e-9)


def test_official_and_geodesic_agree_for_a_county_sized_polygon():
    poly = county_polygon()
    for geoms in (gpd.GeoSeries([poly], crs=4490), gpd.GeoSeries([poly], crs=4490).to_crs(4527)):
        official = official_area_m2(geoms)[0]
        geodesic = geodesic_area_m2(geoms)[0]
        assert 5e8 < official < 2e9
        assert abs(official / geodesic - 1) < 1e-4


def test_vectorised_layer_equals_polygon_by_polygon(monkeypatch):
    # a smoke test of the vectorised path (many rings, several chunks, short and long edges); no timing
    rng = np.random.default_rng(3)
    n, m = 300, 60
    cx, cy = rng.uniform(420e3, 680e3, n), rng.uniform(3.15e6, 3.25e6, n)
    ang = np.sort(rng.uniform(0, 2 * np.pi, (n, m)), axis=1)
    r = rng.uniform(30, 2500, (n, m))
    ring = np.stack([cx[:, None] + r * np.cos(ang), cy[:, None] + r * np.sin(ang)], axis=-1)
    polys = shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))
    layer = gpd.GeoSeries(polys, crs=4548)
    monkeypatch.setattr(area_mod, "_CHUNK_VERTICES", 2000)
    together = official_area_m2(layer)
    one_by_one = np.array([official_area_m2(gpd.GeoSeries([p], crs=4548))[0] for p in polys])
    np.testing.assert_allclose(together, one_by_one, rtol=1e-12)
    expected = np.array([geod_area_of_plane_polygon(p, 4548, step=5.0) for p in polys[:20]])
    np.testing.assert_allclose(together[:20], expected, rtol=1e-9)
    geodesic = geodesic_area_m2(layer)
    assert np.all(np.abs(together / geodesic - 1) < 1e-5)


# --- geodesic method ----------------------------------------------------------------------------------

def test_geodesic_equals_pyproj_geometry_area_perimeter():
    outer = county_polygon()
    hole = shapely.affinity.scale(outer, 0.3, 0.3)
    geoms = [
        outer,
        orient(outer, -1.0),
        Polygon(outer.exterior.coords, [hole.exterior.coords]),  # hole with the exterior's orientation
        MultiPolygon([box(118.0, 28.5, 118.1, 28.6), orient(box(118.3, 28.5, 118.5, 28.7), -1.0)]),
    ]
    got = geodesic_area_m2(gpd.GeoSeries(geoms, crs=4490))
    expected = [geod_reference(g) for g in geoms]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_geodesic_of_projected_input_measures_its_vertices_on_the_ellipsoid():
    gk = gpd.GeoSeries([shapely.affinity.translate(GK_PENTAGON, ZONE39_PREFIX)], crs=4527)
    expected = geod_reference(gk.to_crs(4490).iloc[0])
    assert geodesic_area_m2(gk)[0] == pytest.approx(expected, rel=1e-12)


# --- union, lengths, errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["official", "geodesic"])
def test_union_counts_overlaps_once(method):
    a = box(440000, 3200000, 446000, 3206000)
    b = box(443000, 3203000, 450000, 3209000)
    layer = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[a, b], crs=4548)
    parts = area_m2(gpd.GeoSeries([a, b, a.intersection(b)], crs=4548), method)
    # Official edges are straight in the GK plane, where the union is cut, so the identity is exact.  Geodesic
    # edges are redrawn between the new vertices (the crossing points lie on GK lines, not on the geodesics
    # between the old corners): 1 m² in 69 km² here.
    rel = 1e-9 if method == "official" else 1e-7
    assert union_area_m2(layer, method) == pytest.approx(parts[0] + parts[1] - parts[2], rel=rel)
    assert union_area_m2(layer, method) < area_m2(layer, method).sum()
    assert union_area_m2(gpd.GeoSeries([LineString([(0, 0), (1, 1)])], crs=4548), method) == 0.0


def test_length_is_geodesic_and_counts_every_ring():
    line = LineString([(118.2, 28.8), (118.5, 28.95), (118.7, 29.2)])
    outer = box(118.40, 28.90, 118.50, 29.00)
    hole = box(118.42, 28.92, 118.45, 28.95)
    geoms = gpd.GeoSeries(
        [line, Polygon(outer.exterior.coords, [hole.exterior.coords]), Point(118, 29), None,
         shapely.MultiLineString([line, LineString([(118, 28), (118, 28.5)])])],
        crs=4490,
    )
    got = length_m(geoms)
    assert got[0] == pytest.approx(GEOD.geometry_length(line), rel=1e-12)
    assert got[1] == pytest.approx(GEOD.geometry_length(outer) + GEOD.geometry_length(hole), rel=1e-12)
    assert list(got[2:4]) == [0.0, 0.0]
    assert got[4] == pytest.approx(GEOD.geometry_length(line) + GEOD.line_length([118, 118], [28, 28.5]), rel=1e-12)
    # same line given in GK coordinates
    assert length_m(geoms.iloc[:1].to_crs(4527))[0] == pytest.approx(got[0], rel=1e-9)


def test_missing_crs_and_unknown_method_are_refused():
    with pytest.raises(ValueError, match="set the CRS"):
        area_m2(gpd.GeoSeries([box(0, 0, 1, 1)]))
    with pytest.raises(ValueError, match="set the CRS"):
        length_m(gpd.GeoSeries([LineString([(0, 0), (1, 1)])]))
    with pytest.raises(ValueError, match="unknown area method"):
        area_m2(gpd.GeoSeries([box(0, 0, 1, 1)], crs=4490), "planar")
