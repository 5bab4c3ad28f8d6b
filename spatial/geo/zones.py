"""Metric work on geographic geometries in each geometry's own CGCS2000 3-degree Gauss–Krüger zone.

Buffers (a point project's circle, a line project's corridor) and nearest-point searches are done in the
plane of the zone holding each geometry's bounding-box centre, then brought back to EPSG:4490.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from spatial.geo.crs import CGCS2000, gk_epsg, gk_zone_for_lon

__all__ = ["zone_crs", "reproject", "zones_of", "buffer_m"]


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
