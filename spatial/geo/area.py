"""Ellipsoidal areas and lengths on the CGCS2000 ellipsoid (GRS80: a = 6378137 m, 1/f = 298.257222101).

Two area methods (see ``docs/area-method.md`` for the formulas, sources and measured accuracy):

``official``
    The land-survey ellipsoidal area (图斑椭球面积) of 国土调查办发〔2008〕32号 / TD/T 1055: vertices are
    inverse-projected to geodetic (L, B) and the polygon is summed as ellipsoidal trapezoids between its
    boundary and a reference parallel, using the notice's series with constants A–E.  An edge is straight
    in the plane of the source CRS (the Gauss–Krüger plane for GK data, (L, B) for geographic data), and
    the result does not depend on extra vertices inserted on an edge.
``geodesic``
    Edges are geodesics on GRS80 (pyproj.Geod / GeographicLib), as QGIS measures with an ellipsoid.

``official`` is vectorised over whole layers (no Python loop per polygon; the inverse projection runs in
threads); ``geodesic`` loops over rings around GeographicLib's C polygon routine.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Geod, Transformer

AreaMethod = Literal["official", "geodesic"]

CGCS2000_GEOD = Geod(ellps="GRS80")

# --- the ellipsoid and the trapezoid series of 国土调查办发〔2008〕32号 ----------------------------------
_A_AXIS = 6378137.0
_FLATTENING = 1.0 / 298.257222101
_B_AXIS = _A_AXIS * (1.0 - _FLATTENING)
_E2 = (_A_AXIS**2 - _B_AXIS**2) / _A_AXIS**2
_E4, _E6, _E8 = _E2**2, _E2**3, _E2**4
SERIES_A = 1 + (3 / 6) * _E2 + (30 / 80) * _E4 + (35 / 112) * _E6 + (630 / 2304) * _E8
SERIES_B = (1 / 6) * _E2 + (15 / 80) * _E4 + (21 / 112) * _E6 + (420 / 2304) * _E8
SERIES_C = (3 / 80) * _E4 + (7 / 112) * _E6 + (180 / 2304) * _E8
SERIES_D = (1 / 112) * _E6 + (45 / 2304) * _E8
SERIES_E = (5 / 2304) * _E8
# The notice's trapezoid S = 2b²ΔL[A sin(ΔB/2)cos Bm − B sin(3ΔB/2)cos 3Bm + …] is ΔL·(F(B2) − F(B1)) with
# F(B) = b²[A sin B − B sin 3B + C sin 5B − D sin 7B + E sin 9B]
# (2 sin(kΔB/2) cos(kBm) = sin kB2 − sin kB1): the area from the equator to B per radian of longitude.
_HARMONICS = (1, 3, 5, 7, 9)
_COEFFS = (SERIES_A, -SERIES_B, SERIES_C, -SERIES_D, SERIES_E)
# The same F/b² as an odd polynomial in sin B (sin kB = (−1)^((k−1)/2)·T_k(sin B) for odd k), so that F costs
# one sine per point: coefficients of sin B, sin³B, …, sin⁹B.
_SIN_POLY = tuple(
    sum(
        c * (-1) ** ((k - 1) // 2) * np.pad(np.polynomial.chebyshev.cheb2poly([0] * k + [1]), (0, 9 - k))
        for k, c in zip(_HARMONICS, _COEFFS)
    )[1::2]
)

# Coarse step (metres) between inverse-projected points on an edge of a projected layer; each coarse piece is
# also split at its midpoint for Richardson extrapolation.  Measured: the result moves < 1e-12 relative when
# the step is halved (docs/area-method.md), so edges shorter than this cost only one extra point.
OFFICIAL_STEP_M = 1000.0

# Rings are processed in chunks of about this many source vertices to bound memory on province-scale layers.
_CHUNK_VERTICES = 1_000_000

_GEOGRAPHIC = CRS.from_epsg(4490)


# --- input handling -------------------------------------------------------------------------------------

def _series(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> gpd.GeoSeries:
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    if not isinstance(series, gpd.GeoSeries):
        raise TypeError(f"expected a GeoSeries or GeoDataFrame, got {type(geoms).__name__}")
    if series.crs is None:
        raise ValueError(
            "cannot measure areas or lengths of geometries without a CRS: set the CRS first, "
            "e.g. gdf.set_crs('EPSG:4490') for CGCS2000 longitude/latitude or gdf.set_crs('EPSG:4527') "
            "for CGCS2000 3-degree Gauss-Krüger zone 39 with the zone prefix"
        )
    if not (series.crs.is_geographic or series.crs.is_projected):
        raise ValueError(f"cannot measure in CRS {series.crs.name!r}: use a geographic or projected CRS")
    return series


_THREAD_STATE = threading.local()
# Below this many points one thread is as fast as several (thread start-up and Transformer creation).
_PARALLEL_POINTS = 500_000


def _to_cgcs2000(crs: CRS, key: str) -> Transformer:
    # pyproj Transformers must not be shared between threads: keep one per thread and CRS
    cache = getattr(_THREAD_STATE, "transformers", None)
    if cache is None:
        cache = _THREAD_STATE.transformers = {}
    transformer = cache.get(key)
    if transformer is None:
        transformer = cache[key] = Transformer.from_crs(crs, _GEOGRAPHIC, always_xy=True)
    return transformer


def _lonlat_deg(xy: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """CGCS2000 longitude and latitude (degrees) of points given in ``crs``."""
    # copies: the transform below works in place
    x = np.array(xy[:, 0], dtype=float)
    y = np.array(xy[:, 1], dtype=float)
    if x.size == 0 or crs.equals(_GEOGRAPHIC):
        return x, y
    key = crs.to_wkt()

    def run(part: slice) -> None:
        _to_cgcs2000(crs, key).transform(x[part], y[part], inplace=True)

    workers = min(os.cpu_count() or 1, 8, x.size // _PARALLEL_POINTS + 1)
    if workers <= 1:
        run(slice(None))
    else:
        # PROJ releases the GIL, so threads transform in parallel (the dominant cost for projected layers)
        cuts = np.linspace(0, x.size, workers + 1).astype(int)
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]))
    return x, y


def _flat_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single-part geometries and the index of the input geometry each came from (collections flattened)."""
    present = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    given = geoms[present]
    single = shapely.get_type_id(given) < 4
    if single.all():
        # nothing to split (get_parts would return copies of the same geometries, in the same order)
        return given, present
    # the parts in get_parts(given)'s order, single-part geometries as they are
    sub, pos = shapely.get_parts(given[~single], return_index=True)
    counts = np.ones(len(given), dtype=np.int64)
    counts[~single] = np.bincount(pos, minlength=int((~single).sum()))
    start = np.cumsum(counts) - counts
    parts = np.empty(int(counts.sum()), dtype=object)
    parts[start[single]] = given[single]
    multi_start = start[~single]
    rank = np.arange(len(sub)) - (np.cumsum(counts[~single]) - counts[~single])[pos]
    parts[multi_start[pos] + rank] = sub
    owner = np.repeat(present, counts)
    while True:
        # GeometryCollections may nest multi-geometries and other collections
        multi = shapely.get_type_id(parts) >= 4
        if not multi.any():
            break
        sub, pos = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][pos]])
    keep = ~shapely.is_empty(parts)
    return parts[keep], owner[keep]


def _polygon_ring_coords(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rings of the polygonal parts, as coordinates: (xy, ring of each coordinate, owner geometry index
    of each ring, +1 for exteriors / −1 for holes).  Each polygon's exterior comes first, then its holes
    (the order of ``shapely.get_rings``); no ring geometries are built."""
    parts, owner = _flat_parts(geoms)
    polys = shapely.get_type_id(parts) == 3
    parts, owner = parts[polys], owner[polys]
    xy = shapely.get_coordinates(parts)
    n_rings = 1 + shapely.get_num_interior_rings(parts)
    sizes = shapely.get_num_coordinates(parts)
    holed = np.flatnonzero(n_rings > 1)
    if len(holed):
        # ring sizes of the polygons with holes (exterior first, as get_coordinates lists them)
        rings, _ = shapely.get_rings(parts[holed], return_index=True)
        ring_sizes = np.repeat(sizes, n_rings)
        ring_start = np.cumsum(n_rings) - n_rings
        k = n_rings[holed]
        at = np.repeat(ring_start[holed], k) + np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
        ring_sizes[at] = shapely.get_num_coordinates(rings)
    else:
        ring_sizes = sizes
    total = int(n_rings.sum())
    first = np.zeros(total, dtype=bool)
    first[np.cumsum(n_rings) - n_rings] = True
    ring = np.repeat(np.arange(total), ring_sizes)
    return xy, ring, np.repeat(owner, n_rings), np.where(first, 1.0, -1.0)


def _chunks(ring: np.ndarray, n_rings: int) -> list[tuple[slice, slice]]:
    """(rings, coordinates) of consecutive chunks of about _CHUNK_VERTICES coordinates, whole rings each."""
    if n_rings == 0:
        return []
    sizes = np.bincount(ring, minlength=n_rings)
    ends = np.cumsum(sizes)
    chunk = (ends - 1) // _CHUNK_VERTICES
    cuts = np.r_[0, np.flatnonzero(chunk[1:] != chunk[:-1]) + 1, n_rings]
    coord_cuts = np.r_[0, ends][cuts]
    return [(slice(a, b), slice(c, d)) for a, b, c, d in zip(cuts[:-1], cuts[1:], coord_cuts[:-1], coord_cuts[1:])]


# --- official method ------------------------------------------------------------------------------------

def _zone_integral(lat_rad: np.ndarray | float) -> np.ndarray | float:
    """F(B): ellipsoidal area (m²) between the equator and latitude B, per radian of longitude (series of 32号)."""
    return _B_AXIS**2 * sum(c * np.sin(k * np.asarray(lat_rad)) for k, c in zip(_HARMONICS, _COEFFS))


def _sin_odd_multiples(s1: np.ndarray, cos2: np.ndarray) -> list[np.ndarray]:
    # sin((k+2)x) = 2 cos(2x) sin(kx) − sin((k−2)x): one transcendental call instead of five
    out = [s1, s1 * (2.0 * cos2 + 1.0)]
    for _ in range(3):
        out.append(2.0 * cos2 * out[-1] - out[-2])
    return out


def _segment_sums(lon: np.ndarray, lat: np.ndarray, nxt: np.ndarray, ring: np.ndarray,
                  ref_f: np.ndarray, n_rings: int) -> np.ndarray:
    """Σ over each ring's segments of ΔL·(F̄ − F(B0)), F̄ the mean of F along a segment straight in (L, B).

    Straight in (L, B), B varies linearly with L, so the mean of sin kB over the segment is
    sin(kBm)·sin(kΔB/2)/(kΔB/2): the sum is exact for such edges, i.e. equal to the limit of the notice's
    narrow trapezoids.  Subtracting F at a reference latitude of the ring (ΣΔL = 0 around a ring) keeps the
    terms of the size of the area rather than of b², so no digits are lost to cancellation.
    """
    lam = np.radians(lon)
    phi = np.radians(lat)
    d_lam = lam[nxt] - lam
    d_lam = (d_lam + np.pi) % (2.0 * np.pi) - np.pi  # a segment never spans more than half the globe
    mid = 0.5 * (phi + phi[nxt])
    half = 0.5 * (phi[nxt] - phi)
    sin_mid = np.sin(mid)
    sin_k_mid = _sin_odd_multiples(sin_mid, 1.0 - 2.0 * sin_mid * sin_mid)
    sin_half = np.sin(half)
    sin_k_half = _sin_odd_multiples(sin_half, 1.0 - 2.0 * sin_half * sin_half)
    nonzero = half != 0.0
    mean = np.zeros_like(mid)
    for k, c, s_mid, s_half in zip(_HARMONICS, _COEFFS, sin_k_mid, sin_k_half):
        sinc = np.ones_like(half)
        np.divide(s_half, k * half, out=sinc, where=nonzero)
        mean += c * s_mid * sinc
    terms = d_lam * (mean - ref_f[ring])
    return -_B_AXIS**2 * np.bincount(ring, weights=terms, minlength=n_rings)


def _next_in_ring(ring: np.ndarray) -> np.ndarray:
    n = len(ring)
    nxt = np.arange(1, n + 1)
    if n == 0:
        return nxt
    last = np.flatnonzero(np.r_[ring[1:] != ring[:-1], True])
    first = np.r_[0, last[:-1] + 1]
    nxt[last] = first
    return nxt


def _ring_reference(lat: np.ndarray, ring: np.ndarray, n_rings: int) -> np.ndarray:
    """F(B0)/b² per ring, B0 the latitude of the ring's first point (rings are contiguous in ``ring``)."""
    first = np.r_[0, np.flatnonzero(ring[1:] != ring[:-1]) + 1]
    ref = np.zeros(n_rings)
    ref[ring[first]] = _zone_integral(np.radians(lat[first])) / _B_AXIS**2
    return ref


def _official_ring_areas(xy: np.ndarray, ring: np.ndarray, n_rings: int, crs: CRS) -> np.ndarray:
    """Signed ellipsoidal area of each ring (positive counter-clockwise), edges straight in the CRS's plane;
    ``xy`` the rings' coordinates, ``ring`` the ring (0 … n_rings − 1) of each."""
    if xy.shape[0] == 0:
        return np.zeros(n_rings)
    # drop each ring's closing vertex: segments wrap around with _next_in_ring
    closing = np.r_[ring[1:] != ring[:-1], True]
    xy, ring = xy[~closing], ring[~closing]

    if not crs.is_projected:
        # Geographic data: edges straight in (L, B) are summed exactly, so no vertices need adding.
        lon, lat = _lonlat_deg(xy, crs)
        return _segment_sums(lon, lat, _next_in_ring(ring), ring, _ring_reference(lat, ring, n_rings), n_rings)

    # Projected data: an edge is straight in the projection plane, hence curved in (L, B).  Split it into
    # pieces of at most OFFICIAL_STEP_M, split each piece again at its midpoint, and combine the sums over the
    # pieces (coarse) and half-pieces (fine) by Richardson extrapolation: (4·fine − coarse)/3 cancels the
    # O(h²) chord error, leaving O(h⁴).
    unit = crs.axis_info[0].unit_conversion_factor or 1.0
    nxt = _next_in_ring(ring)
    vec = xy[nxt] - xy
    length_m = np.hypot(vec[:, 0], vec[:, 1]) * unit
    pieces = np.ones(len(xy), dtype=np.int64)
    long_edge = np.isfinite(length_m) & (length_m > OFFICIAL_STEP_M)
    pieces[long_edge] = np.ceil(length_m[long_edge] / OFFICIAL_STEP_M)
    if (pieces == 1).all():
        # the usual case (parcel edges shorter than the step): interleave vertices and midpoints
        pts = np.empty((2 * len(xy), 2))
        pts[0::2] = xy
        pts[1::2] = xy + 0.5 * vec
        pts_ring = np.repeat(ring, 2)
        j = np.tile(np.array([0, 1]), len(xy))
    else:
        n_sub = 2 * pieces
        edge = np.repeat(np.arange(len(xy)), n_sub)
        start = np.cumsum(n_sub) - n_sub
        j = np.arange(edge.size) - start[edge]
        pts = xy[edge] + (j / n_sub[edge])[:, None] * vec[edge]
        pts_ring = ring[edge]

    lon, lat = _lonlat_deg(pts, crs)
    # F per point (the notice's series as an odd polynomial in sin B) and the trapezoid rule per sub-segment:
    # its O(h²) error is smooth along the edge too, so the same extrapolation removes it.
    lam = np.radians(lon)
    sin_phi = np.sin(np.radians(lat))
    f_rel = _series_from_sin(sin_phi)
    f_rel -= _ring_reference(lat, pts_ring, n_rings)[pts_ring]
    fine = _trapezoid_sums(lam, f_rel, pts_ring, n_rings)
    even = (j % 2) == 0
    coarse = _trapezoid_sums(lam[even], f_rel[even], pts_ring[even], n_rings)
    return (4.0 * fine - coarse) / 3.0


def _series_from_sin(s: np.ndarray) -> np.ndarray:
    s2 = s * s
    acc = np.full_like(s, _SIN_POLY[-1])
    for c in _SIN_POLY[-2::-1]:
        acc *= s2
        acc += c
    return acc * s


def _trapezoid_sums(lam: np.ndarray, f_rel: np.ndarray, ring: np.ndarray, n_rings: int) -> np.ndarray:
    nxt = _next_in_ring(ring)
    d_lam = lam[nxt] - lam
    d_lam = (d_lam + np.pi) % (2.0 * np.pi) - np.pi
    return -0.5 * _B_AXIS**2 * np.bincount(ring, weights=d_lam * (f_rel + f_rel[nxt]), minlength=n_rings)


def official_area_m2(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Land-survey ellipsoidal area (图斑椭球面积, m²) of each geometry on CGCS2000.

    Holes subtract, multi-parts add, only polygonal parts of collections count; lines, points, None and
    empty geometries measure 0.  Edges are straight in the plane of the input CRS.
    """
    series = _series(geoms)
    geo = np.asarray(series.values, dtype=object)
    out = np.zeros(len(geo))
    xy, ring, owner, sign = _polygon_ring_coords(geo)
    for rings, coords in _chunks(ring, len(owner)):
        ring_area = np.abs(_official_ring_areas(xy[coords], ring[coords] - rings.start, rings.stop - rings.start,
                                                series.crs))
        out += np.bincount(owner[rings], weights=sign[rings] * ring_area, minlength=len(geo))
    return out


# --- geodesic method ------------------------------------------------------------------------------------

def geodesic_area_m2(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Area (m²) of each geometry with geodesic edges on GRS80, as QGIS measures with an ellipsoid.

    Same conventions as :func:`official_area_m2`.  Ring orientation does not matter (pyproj's
    ``geometry_area_perimeter`` relies on it; here exteriors add and holes subtract whatever their order).
    """
    series = _series(geoms)
    geo = np.asarray(series.values, dtype=object)
    out = np.zeros(len(geo))
    xy, ring, owner, sign = _polygon_ring_coords(geo)
    if len(owner) == 0:
        return out
    lon, lat = _lonlat_deg(xy, series.crs)
    bounds = np.r_[0, np.flatnonzero(ring[1:] != ring[:-1]) + 1, len(ring)]
    ring_area = np.zeros(len(owner))
    # pyproj's polygon_area_perimeter copies its arguments to buffers first; lon and lat are already
    # contiguous float64 (and not written to with radians=False), so hand their slices to the same
    # GeographicLib routine directly: same numbers, no per-ring copies
    area_of = getattr(CGCS2000_GEOD, "_polygon_area_perimeter", None)
    if area_of is None or lon.dtype != np.float64 or not (lon.flags.c_contiguous and lat.flags.c_contiguous):
        area_of = CGCS2000_GEOD.polygon_area_perimeter  # pragma: no cover - other pyproj versions
    for r, s, e in zip(ring[bounds[:-1]].tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
        ring_area[r] = abs(area_of(lon[s:e], lat[s:e])[0])
    return np.bincount(owner, weights=sign * ring_area, minlength=len(geo))


# --- public entry points --------------------------------------------------------------------------------

def area_m2(geoms: gpd.GeoSeries | gpd.GeoDataFrame, method: AreaMethod = "official") -> np.ndarray:
    """Ellipsoidal area (m²) of each geometry, in any CRS: ``official`` (图斑椭球面积) or ``geodesic``."""
    if method == "official":
        return official_area_m2(geoms)
    if method == "geodesic":
        return geodesic_area_m2(geoms)
    raise ValueError(f"unknown area method {method!r}; use 'official' or 'geodesic'")


def union_area_m2(geoms: gpd.GeoSeries | gpd.GeoDataFrame, method: AreaMethod = "official") -> float:
    """Area (m²) covered by the geometries, overlaps counted once.

    The union is taken in the input CRS, the plane in which the edges are straight, at full precision
    (no grid snapping, so no area is invented or lost); invalid input is repaired only if GEOS refuses it.
    """
    series = _series(geoms)
    parts, _ = _flat_parts(np.asarray(series.values, dtype=object))
    polys = parts[shapely.get_type_id(parts) == 3]
    if len(polys) == 0:
        return 0.0
    try:
        merged = shapely.union_all(polys)
    except shapely.errors.GEOSException:
        merged = shapely.union_all(shapely.make_valid(polys))
    return float(area_m2(gpd.GeoSeries([merged], crs=series.crs), method)[0])


def length_m(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Geodesic length (m) on GRS80 of each geometry: lines summed over parts, polygons over all rings.

    Unlike pyproj's ``geometry_length`` a polygon's holes count towards its perimeter, as in shapely and
    QGIS.  Points, None and empty geometries measure 0.
    """
    series = _series(geoms)
    geo = np.asarray(series.values, dtype=object)
    out = np.zeros(len(geo))
    parts, owner = _flat_parts(geo)
    kind = shapely.get_type_id(parts)
    lines, line_owner = parts[(kind == 1) | (kind == 2)], owner[(kind == 1) | (kind == 2)]
    rings, ring_poly = shapely.get_rings(parts[kind == 3], return_index=True)
    paths = np.concatenate([lines, rings])
    path_owner = np.concatenate([line_owner, owner[kind == 3][ring_poly]])
    if len(paths) == 0:
        return out
    xy, path = shapely.get_coordinates(paths, return_index=True)
    if xy.shape[0] < 2:
        return out
    lon, lat = _lonlat_deg(xy, series.crs)
    same = path[1:] == path[:-1]
    _, _, dist = CGCS2000_GEOD.inv(lon[:-1][same], lat[:-1][same], lon[1:][same], lat[1:][same])
    return np.bincount(path_owner[path[:-1][same]], weights=dist, minlength=len(geo))
