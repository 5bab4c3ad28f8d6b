"""CGCS2000 and Gauss–Krüger helpers: EPSG codes of the zones, zone detection from coordinates, working CRS.

Official Chinese data come in CGCS2000 geographic coordinates (EPSG:4490) or in Gauss–Krüger (GK)
zones.  A 3-degree zone ``n`` has its central meridian at 3·n °E; with the *zone prefix* the easting
carries the zone number in front (zone 39: x = 39 500 000 at the central meridian, EPSG:4527), without
it the false easting is 500 000 m (EPSG:4548).  6-degree zones (central meridian 6·n − 3 °E) use
prefixes 13–23, which do not collide with the 3-degree prefixes 25–45.

Reading data, the zone is taken only from what the data say: the CRS file, the ``带号`` of a
boundary-point file or the zone prefix of the eastings (:func:`detect_gk_crs`).  Never from the
longitude: Changshan straddles 118.5 °E, the border between zones 39 and 40, and its data exist in
both.  :func:`gk_zone_for_lon` / :func:`projected_crs_for` pick a zone by longitude only to choose a
*working* projection for overlay or buffering.
"""

from __future__ import annotations

import math
from typing import Sequence

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

CGCS2000 = "EPSG:4490"

# 3-degree zones covering China (central meridians 75 °E … 135 °E)
GK3_ZONES = range(25, 46)
# 6-degree zones covering China (central meridians 75 °E … 135 °E)
GK6_ZONES = range(13, 24)

# EPSG code of zone 25 (3-degree) / zone 13 (6-degree), with and without the zone prefix, per datum
_GK_BASE = {
    # datum: {width: (first zone, with prefix, without prefix)}
    "cgcs2000": {3: (25, 4513, 4534), 6: (13, 4491, 4502)},
    "xian1980": {3: (25, 2349, 2370), 6: (13, 2327, 2338)},
    "beijing1954": {3: (25, 2401, 2422), 6: (13, 21413, 21453)},
}

# Plausible GK coordinates in China: northing from the South China Sea (~3 °N) to Mohe (~54 °N);
# eastings within ~±300 km of the central meridian for 3-degree zones (a zone is ±1.5° wide, but
# county data are often kept in the neighbouring zone; 118.5 °E is the zone 39/40 border).
_MAX_NORTHING = 6_100_000.0
_MIN_NORTHING = 200_000.0
_HALF_WIDTH_M = {3: 300_000.0, 6: 450_000.0}


def gk_zone_for_lon(lon: float, width: int = 3) -> int:
    """Gauss–Krüger zone number whose central meridian is nearest ``lon`` (°E).

    3-degree zones (default): n = round(lon / 3), e.g. 117.0–118.4999 °E -> 39, 118.5 °E -> 40.
    6-degree zones: n = floor(lon / 6) + 1.
    Only for choosing a working projection: never infer the zone of *data* from the longitude.
    """
    lon = float(lon)
    if not math.isfinite(lon):
        raise ValueError(f"longitude must be a finite number, not {lon!r}")
    if width == 3:
        return int(math.floor((lon + 1.5) / 3.0))
    if width == 6:
        return int(math.floor(lon / 6.0)) + 1
    raise ValueError(f"zone width must be 3 or 6 degrees, not {width!r}")


def central_meridian(zone: int, width: int = 3) -> float:
    """Central meridian (°E) of a GK zone."""
    if width == 3:
        return 3.0 * zone
    if width == 6:
        return 6.0 * zone - 3.0
    raise ValueError(f"zone width must be 3 or 6 degrees, not {width!r}")


def gk_epsg_for(zone: int, with_prefix: bool, *, width: int = 3, datum: str = "cgcs2000") -> int:
    """EPSG code of a GK zone for a datum (``cgcs2000``, ``xian1980`` or ``beijing1954``) and zone width."""
    try:
        first, prefixed, plain = _GK_BASE[datum][width]
    except KeyError:
        raise ValueError(f"no Gauss-Krüger EPSG codes for datum {datum!r} and width {width!r}; "
                         f"datums: {', '.join(_GK_BASE)}; widths: 3, 6") from None
    zones = GK3_ZONES if width == 3 else GK6_ZONES
    zone = int(zone)
    if zone not in zones:
        raise ValueError(f"{width}-degree Gauss-Krüger zone {zone} is outside China's zones "
                         f"{zones.start}–{zones.stop - 1} (EPSG codes exist only for those)")
    return (prefixed if with_prefix else plain) + zone - first


def gk_epsg(zone: int, with_prefix: bool) -> int:
    """EPSG code of a CGCS2000 3-degree GK zone (25–45).

    With the zone prefix 4488 + zone (39 -> 4527), without it 4509 + zone (39 -> 4548).
    """
    return gk_epsg_for(zone, with_prefix, width=3, datum="cgcs2000")


def gk_zone_of_epsg(epsg: int | None) -> tuple[str, int, int, bool] | None:
    """(datum, width, zone, with_prefix) of a GK EPSG code from the tables above, else None."""
    if epsg is None:
        return None
    for datum, widths in _GK_BASE.items():
        for width, (first, prefixed, plain) in widths.items():
            n = len(GK3_ZONES if width == 3 else GK6_ZONES)
            if prefixed <= epsg < prefixed + n:
                return datum, width, first + epsg - prefixed, True
            if plain <= epsg < plain + n:
                return datum, width, first + epsg - plain, False
    return None


def _bounds_tuple(bounds: Sequence[float] | gpd.GeoSeries | gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    if isinstance(bounds, (gpd.GeoSeries, gpd.GeoDataFrame)):
        bounds = bounds.total_bounds
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return minx, miny, maxx, maxy


def detect_gk_crs(bounds: Sequence[float] | gpd.GeoSeries | gpd.GeoDataFrame) -> int | None:
    """EPSG code of the CGCS2000 GK zone proved by eastings that carry a zone prefix, else None.

    ``bounds`` is (minx, miny, maxx, maxy) with x the easting (as GIS files store it) — or a
    GeoSeries/GeoDataFrame.  An easting such as 39 512 345.68 carries zone 39 in front: the zone is
    proved when both the minimum and the maximum easting have the same prefix 25–45 (3-degree zones,
    EPSG:4513–4533) or 13–23 (6-degree zones, EPSG:4491–4501), the rest of the easting lies within a
    few hundred kilometres of the 500 000 m false easting, and the northings are plausible for China.
    The datum cannot be seen in the coordinates: CGCS2000 is assumed (Xian 1980 and Beijing 1954
    zones use the same numbers; pass their EPSG code explicitly for such data).
    """
    minx, miny, maxx, maxy = _bounds_tuple(bounds)
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        return None
    if not (_MIN_NORTHING <= miny <= maxy <= _MAX_NORTHING):
        return None
    zone = int(minx // 1_000_000)
    if zone != int(maxx // 1_000_000):
        return None
    if zone in GK3_ZONES:
        width = 3
    elif zone in GK6_ZONES:
        width = 6
    else:
        return None
    half = _HALF_WIDTH_M[width]
    for x in (minx, maxx):
        offset = x - zone * 1_000_000 - 500_000.0
        if abs(offset) > half:
            return None
    epsg = gk_epsg_for(zone, True, width=width)
    # the inverse projection must land in the zone's neighbourhood at a Chinese latitude
    lon, lat = Transformer.from_crs(epsg, 4490, always_xy=True).transform(
        [minx, maxx, minx, maxx], [miny, miny, maxy, maxy])
    cm = central_meridian(zone, width)
    if not all(math.isfinite(v) for v in (*lon, *lat)):
        return None
    if max(abs(v - cm) for v in lon) > width + 0.5 or not all(0.0 < v < 56.0 for v in lat):
        return None
    return epsg


def looks_swapped_gk(bounds: Sequence[float] | gpd.GeoSeries | gpd.GeoDataFrame) -> int | None:
    """EPSG the coordinates would prove if x and y were exchanged (x = northing, y = easting), else None.

    Surveyors write X for the northing and Y for the easting; a file written that way into GIS x/y has
    its axes swapped.
    """
    minx, miny, maxx, maxy = _bounds_tuple(bounds)
    return detect_gk_crs((miny, minx, maxy, maxx))


def zone_excess_deg(epsg: int | None, bounds: Sequence[float]) -> float | None:
    """How far (degrees of longitude) coordinates in a GK EPSG lie beyond the edge of their zone.

    0 inside the zone (central meridian ± half the zone width); None when ``epsg`` is not a GK zone of the
    tables here or the coordinates do not project back.  Data are sometimes kept a little beyond the edge
    (a county straddling two zones); far beyond it the declared zone (带号) is usually wrong.
    """
    known = gk_zone_of_epsg(epsg)
    if known is None:
        return None
    _, width, zone, _ = known
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    lon, _ = Transformer.from_crs(epsg, 4490, always_xy=True).transform([minx, maxx, minx, maxx],
                                                                        [miny, miny, maxy, maxy])
    if not all(math.isfinite(v) for v in lon):
        return None
    return max(0.0, max(abs(v - central_meridian(zone, width)) for v in lon) - width / 2.0)


def outside_territory(gdf: gpd.GeoDataFrame | gpd.GeoSeries, territory_gdf: gpd.GeoDataFrame | gpd.GeoSeries):
    """Mask of the features of ``gdf`` that do not touch the territory at all.

    Parameters
    ----------
    gdf : features with a CRS (any).
    territory_gdf : the territory's unit(s) with a CRS, e.g. ``Workspace.territory()``.

    Returns
    -------
    pandas.Series of bool, indexed like ``gdf``: True where a feature lies wholly outside (a sign of a
    wrong 带号 or CRS when the data are meant for the territory).  Missing or empty geometries are False.
    """
    import pandas as pd

    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    land = shapely.union_all(territory_gdf.to_crs(CGCS2000).geometry.values)
    shapely.prepare(land)
    values = geoms.to_crs(CGCS2000).values
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    hit = np.zeros(len(values), dtype=bool)
    hit[present] = shapely.intersects(land, values[present])
    return pd.Series(present & ~hit, index=geoms.index)


def other_zone_inside(gdf: gpd.GeoDataFrame, territory_gdf: gpd.GeoDataFrame) -> int | None:
    """The neighbouring GK zone in which ``gdf``'s coordinates (a GK zone without prefix) would fall inside
    the territory, e.g. 39 for parcels declared 带号=40 that land ~290 km east; else None."""
    known = gk_zone_of_epsg(gdf.crs.to_epsg() if gdf.crs is not None else None)
    if known is None or known[3]:  # with the prefix the eastings name their zone themselves
        return None
    datum, width, zone, _ = known
    for other in (zone - 1, zone + 1):
        try:
            epsg = gk_epsg_for(other, False, width=width, datum=datum)
        except ValueError:
            continue
        moved = gdf.set_crs(epsg, allow_override=True)
        if not outside_territory(moved, territory_gdf).all():
            return other
    return None


# longitude / latitude box holding China (with its seas), for telling swapped axes apart
CHINA_LONLAT = (70.0, 0.0, 140.0, 56.0)


def looks_swapped_lonlat(bounds: Sequence[float] | gpd.GeoSeries | gpd.GeoDataFrame) -> bool:
    """Whether degree coordinates are (latitude, longitude) instead of (longitude, latitude) in China.

    True when the bounds with x and y exchanged lie in China's box and as given they do not: e.g.
    [28.9, 118.5] for Changshan, which some tools write into GeoJSON (RFC 7946 says longitude first).
    """
    minx, miny, maxx, maxy = _bounds_tuple(bounds)
    lon0, lat0, lon1, lat1 = CHINA_LONLAT

    def in_china(x0: float, y0: float, x1: float, y1: float) -> bool:
        return lon0 <= x0 <= x1 <= lon1 and lat0 <= y0 <= y1 <= lat1

    return in_china(miny, minx, maxy, maxx) and not in_china(minx, miny, maxx, maxy)


def _centre_lon(geoms: gpd.GeoSeries | gpd.GeoDataFrame | Sequence[float]) -> float:
    if isinstance(geoms, (gpd.GeoSeries, gpd.GeoDataFrame)):
        if geoms.crs is None:
            raise ValueError("cannot choose a projection for geometries without a CRS: set the CRS first, "
                             "e.g. gdf.set_crs('EPSG:4490')")
        minx, miny, maxx, maxy = geoms.total_bounds
        if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
            raise ValueError("cannot choose a projection for empty geometries")
        crs = CRS.from_user_input(geoms.crs)
        if not crs.equals(CRS.from_epsg(4490)):
            minx, miny, maxx, maxy = Transformer.from_crs(crs, 4490, always_xy=True).transform_bounds(
                minx, miny, maxx, maxy)
        return (minx + maxx) / 2.0
    minx, _, maxx, _ = (float(v) for v in geoms)  # (lon_min, lat_min, lon_max, lat_max) in degrees
    return (minx + maxx) / 2.0


def projected_crs_for(geoms: gpd.GeoSeries | gpd.GeoDataFrame | Sequence[float]) -> CRS:
    """A working projected CRS: the CGCS2000 3-degree GK zone without prefix whose central meridian is
    nearest the centre longitude of ``geoms`` (a GeoSeries/GeoDataFrame with a CRS, or lon/lat bounds).

    Outside China's zones 25–45 a CGCS2000 transverse Mercator on the nearest 3-degree meridian is
    returned instead.  For overlay and buffering only: areas are measured with :mod:`spatial.geo.area`.
    """
    lon = _centre_lon(geoms)
    zone = gk_zone_for_lon(lon)
    if zone in GK3_ZONES:
        return CRS.from_epsg(gk_epsg(zone, False))
    return CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={3 * zone} +k=1 +x_0=500000 +y_0=0 "
                          "+ellps=GRS80 +units=m +no_defs +type=crs")


# Gauss-Krüger data are drawn with edges straight in the plane; held in EPSG:4490 an edge becomes straight in
# (L, B) instead, which moves the official area by 1e-7..1e-6 for 100-300 m edges. Points every 10 m keep the
# plane edge to ~1e-9 (see docs/area-method.md).
PLANE_EDGE_STEP_M = 10.0


def to_workspace_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The one route to EPSG:4490 for layers and projects: unchanged when already CGCS2000 geographic,
    else converted with projected sources densified every :data:`PLANE_EDGE_STEP_M` so their plane edges
    survive."""
    if gdf.crs is not None and gdf.crs.equals(CGCS2000):
        return gdf
    return to_cgcs2000(gdf, densify_m=PLANE_EDGE_STEP_M)


def to_cgcs2000(gdf: gpd.GeoDataFrame | gpd.GeoSeries, densify_m: float | None = None):
    """``gdf`` in CGCS2000 longitude/latitude (EPSG:4490).

    ``densify_m``: for a projected source, insert points every so many metres first, so that edges
    straight in the projection plane (as GK parcels are drawn) stay where they were; the workspace
    uses 10 m.
    """
    if gdf.crs is None:
        raise ValueError("cannot convert geometries without a CRS to CGCS2000: set the CRS first, e.g. "
                         "gdf.set_crs('EPSG:4527') for GK zone 39 with the zone prefix")
    if densify_m and gdf.crs.is_projected and len(gdf):
        geoms = shapely.segmentize(gdf.geometry.values if isinstance(gdf, gpd.GeoDataFrame) else gdf.values,
                                   densify_m)
        if isinstance(gdf, gpd.GeoDataFrame):
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
        else:
            gdf = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return gdf.to_crs(CGCS2000)
