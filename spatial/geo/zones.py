"""Metric work on geographic geometries in each geometry's own CGCS2000 3-degree Gauss–Krüger zone.

Buffers (a point project's circle, a line project's corridor) are done in the plane of the zone holding each
geometry's bounding-box centre, then brought back to EPSG:4490. Nearest-point searches, which only choose the
two nearest points (their distance is then measured on the ellipsoid), use the cheaper :func:`local_plane`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from spatial.geo.area import CGCS2000_GEOD
from spatial.geo.crs import CGCS2000, gk_epsg, gk_zone_for_lon

__all__ = ["zone_crs", "reproject", "zones_of", "buffer_m", "local_plane", "plane_origins"]


def zone_crs(zone: int) -> str:
    """CGCS2000 3-degree GK zone without prefix (EPSG:4534–4554 for zones 25–45, China); elsewhere
    the same transverse Mercator on the zone's central meridian."""
    if 25 <= zone <= 45:
        return f"EPSG:{gk_epsg(zone, False)}"
    return f"+proj=tmerc +lat_0=0 +lon_0={3 * zone} +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs"


@lru_cache(maxsize=64)
def _transformer(zone: int, inverse: bool) -> Transformer:
    src, dst = (zone_crs(zone), CGCS2000) if inverse else (CGCS2000, zone_crs(zone))
    return Transformer.from_crs(src, dst, always_xy=True)


def reproject(geoms: np.ndarray, zone: int, inverse: bool = False) -> np.ndarray:
    """Geographic geometries into GK ``zone`` (``inverse``: back to EPSG:4490)."""
    tr = _transformer(zone, inverse)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def zones_of(geoms: np.ndarray) -> np.ndarray:
    """3-degree GK zone of each geometry's bounding-box centre."""
    b = shapely.bounds(geoms)
    lon = (b[:, 0] + b[:, 2]) / 2
    lon = np.where(np.isfinite(lon), lon, 117.0)
    uniq, inv = np.unique(np.floor(lon * 1000) / 1000, return_inverse=True)
    return np.array([gk_zone_for_lon(float(v)) for v in uniq], dtype=int)[inv]


def buffer_m(geoms: np.ndarray, distance: np.ndarray, **kw: Any) -> np.ndarray:
    """Buffer geographic geometries by metres, in each geometry's own GK zone."""
    out = np.empty(len(geoms), dtype=object)
    zones = zones_of(geoms)
    for z in np.unique(zones):
        sel = np.flatnonzero(zones == z)
        gk = reproject(geoms[sel], int(z))
        out[sel] = reproject(shapely.buffer(gk, distance[sel], **kw), int(z), inverse=True)
    return out


def plane_origins(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lon0, lat0): the bounding-box centre of each geometry, the origin of its :func:`local_plane`."""
    b = shapely.bounds(geoms)
    return (b[:, 0] + b[:, 2]) / 2.0, (b[:, 1] + b[:, 3]) / 2.0


def local_plane(geoms: np.ndarray, lon0: np.ndarray, lat0: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Geographic geometries in metres on the plane tangent to GRS80 at each one's own origin (``inverse``: back).

    East is scaled by the parallel's radius N·cos φ0 and north by the meridian's radius M at φ0: within a few
    kilometres of the origin lengths are off by about 1e-4, far less than GK's projection step costs. Only used
    to choose nearest points, whose distance is then measured geodesically; numpy does it, where pyproj's GK
    transform took most of a 100 000-project nearest search.

    Parameters
    ----------
    geoms : array of shapely geometries (EPSG:4490, or plane metres with ``inverse``)
    lon0, lat0 : arrays of float, one origin (degrees) per geometry
    inverse : bool
        From the plane back to EPSG:4490.

    Returns
    -------
    array of shapely geometries
    """
    if len(geoms) == 0:
        return np.asarray(geoms, dtype=object)
    e2 = CGCS2000_GEOD.es
    sin = np.sin(np.radians(lat0))
    w = np.sqrt(1.0 - e2 * sin * sin)
    east = np.radians(1.0) * CGCS2000_GEOD.a / w * np.cos(np.radians(lat0))      # m per degree of longitude
    north = np.radians(1.0) * CGCS2000_GEOD.a * (1.0 - e2) / w ** 3              # m per degree of latitude
    per = np.repeat(np.arange(len(geoms)), shapely.get_num_coordinates(geoms))    # the geometry of each vertex
    ex, no, x0, y0 = east[per], north[per], np.asarray(lon0, float)[per], np.asarray(lat0, float)[per]

    def fn(xy: np.ndarray) -> np.ndarray:
        if inverse:
            return np.column_stack([xy[:, 0] / ex + x0, xy[:, 1] / no + y0])
        return np.column_stack([(xy[:, 0] - x0) * ex, (xy[:, 1] - y0) * no])

    return shapely.transform(geoms, fn)
