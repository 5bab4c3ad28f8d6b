"""Result of the pattern derivation and its files.

:meth:`PatternResult.write` writes

* ``pattern.gpkg`` with layers ``sources``, ``corridors``, ``corridor_zones``, ``pinch_points``,
  ``nodes``, all EPSG:4490, each feature with ``computed = 1`` so maps can tell derived features
  from drawn ones;
* ``resistance.tif`` (float32, Gauss–Krüger CRS, nodata = impassable), ``cost_distance.tif``
  (the corridor mosaic: minimum NLCC over corridors, nodata outside every corridor zone),
  ``current.tif`` (current density, maximum over corridors);
* ``summary.csv``: bilingual headers, Chinese first (UTF-8 with BOM so spreadsheet programs
  read the Chinese).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio.features
from shapely.geometry import LineString, Point, shape
from shapely.ops import unary_union

from spatial.analysis.pattern.grid import Grid
from spatial.geo.crs import CGCS2000

NODATA = -9999.0
LAYERS = ("sources", "corridors", "corridor_zones", "pinch_points", "nodes")


@dataclass
class PatternResult:
    """Everything :func:`derive_pattern` computes.

    Attributes
    ----------
    grid : Grid
    resistance : numpy.ndarray
        NaN = impassable.
    sources, corridors, corridor_zones, pinch_points, nodes : GeoDataFrame
        EPSG:4490, ``computed = 1``.
    cwd : numpy.ndarray
        Corridor mosaic (minimum NLCC, resistance × m), NaN outside corridor zones.
    current : numpy.ndarray
        Current density (A), maximum over corridors.
    summary : pandas.DataFrame
        指标 metric / 数值 value / 单位 unit.
    timings : dict of str to float
        Seconds per step.
    """

    grid: Grid
    resistance: np.ndarray
    sources: gpd.GeoDataFrame
    corridors: gpd.GeoDataFrame
    corridor_zones: gpd.GeoDataFrame
    pinch_points: gpd.GeoDataFrame
    nodes: gpd.GeoDataFrame
    cwd: np.ndarray
    current: np.ndarray
    summary: pd.DataFrame
    timings: dict = field(default_factory=dict)


# ---------------------------------------------------------------- raster → vector
def polygons_from_labels(labels: np.ndarray, grid: Grid) -> gpd.GeoDataFrame:
    """One (multi)polygon per positive label, EPSG:4490, column ``label``."""
    labels = labels.astype("int32")
    parts: dict[int, list] = {}
    for geom, value in rasterio.features.shapes(labels, mask=labels > 0, transform=grid.transform, connectivity=8):
        parts.setdefault(int(value), []).append(shape(geom))
    keys = sorted(parts)
    gdf = gpd.GeoDataFrame({"label": keys}, geometry=[unary_union(parts[k]) for k in keys], crs=grid.crs)
    return gdf.to_crs(CGCS2000)


def zone_polygon(flat_cells: np.ndarray, grid: Grid):
    """Polygon (grid CRS) of a set of cells given by flat indices, cropped to their bounding box."""
    rr, cc = np.divmod(flat_cells, grid.shape[1])
    r0, c0 = rr.min(), cc.min()
    sub = np.zeros((rr.max() - r0 + 1, cc.max() - c0 + 1), dtype="uint8")
    sub[rr - r0, cc - c0] = 1
    t = grid.transform @ grid.transform.translation(c0, r0)
    polys = [shape(g) for g, v in rasterio.features.shapes(sub, mask=sub > 0, transform=t, connectivity=8)]
    return unary_union(polys)


def path_line(path: np.ndarray, grid: Grid) -> LineString:
    """Line through the centres of path cells (grid CRS)."""
    x, y = grid.centres(path[:, 0], path[:, 1])
    if len(x) == 1:
        x, y = np.r_[x, x], np.r_[y, y]
    return LineString(np.column_stack([x, y]))


def cell_points(rows, cols, grid: Grid) -> list[Point]:
    """Points at cell centres (grid CRS)."""
    x, y = grid.centres(rows, cols)
    return [Point(a, b) for a, b in zip(np.atleast_1d(x), np.atleast_1d(y))]


def to_output(df: pd.DataFrame, geoms, grid: Grid) -> gpd.GeoDataFrame:
    """GeoDataFrame in EPSG:4490 from attributes and grid-CRS geometries, with ``computed = 1``."""
    gdf = gpd.GeoDataFrame(df.reset_index(drop=True).copy(), geometry=list(geoms), crs=grid.crs)
    gdf["computed"] = 1
    return gdf.to_crs(CGCS2000)
