"""Ellipsoidal areas on the CGCS2000 (GRS80) ellipsoid.

Provisional: geodesic method only. The official land-survey method is being added.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
from pyproj import Geod

AreaMethod = Literal["official", "geodesic"]
CGCS2000_GEOD = Geod(ellps="GRS80")


def geodesic_area_m2(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> np.ndarray:
    """Area of each geometry with geodesic edges on GRS80, as QGIS measures with an ellipsoid."""
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    if series.crs is None:
        raise ValueError("cannot measure areas of geometries without a CRS")
    geographic = series.to_crs(4490)
    return np.array(
        [abs(CGCS2000_GEOD.geometry_area_perimeter(g)[0]) if g is not None and not g.is_empty else 0.0 for g in geographic],
        dtype=float,
    )


def area_m2(geoms: gpd.GeoSeries | gpd.GeoDataFrame, method: AreaMethod = "official") -> np.ndarray:
    return geodesic_area_m2(geoms)
