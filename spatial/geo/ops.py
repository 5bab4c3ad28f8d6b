"""Shared geometry operations on arrays of CGCS2000 geographic geometries (EPSG:4490).

Every overlay of the analyses goes through these: the polygonal part of a result, dissolve (union, overlaps
merged), clip, difference, area with :mod:`spatial.geo.area`, and the explosion of a result into measured
pieces with slivers told apart. Overlays run at full double precision; only when GEOS refuses an input (a
TopologyException) is it repaired with ``make_valid`` and the operation rerun on a 1e-9° (≈ 0.1 mm) grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import shapely
from shapely.errors import GEOSException

from spatial.geo.area import AreaMethod, area_m2, length_m
from spatial.geo.crs import CGCS2000, to_workspace_crs

__all__ = ["GRID_DEG", "polygonal", "explode", "dissolve", "clip", "difference", "measure", "measure_length", "layer_geoms",
           "Pieces", "pieces_of", "UnitSplit", "split_by_units", "keep_dim"]

GRID_DEG = 1e-9            # fallback precision grid (degrees, ≈ 0.1 mm) when GEOS refuses an overlay


def polygonal(geoms: Any) -> np.ndarray:
    """The polygonal part of each geometry (lines and points dropped; None -> empty polygon)."""
    arr = np.asarray(geoms, dtype=object).ravel()
    out = arr.copy()
    if len(arr) == 0:
        return out
    missing = shapely.is_missing(arr)
    out[missing] = shapely.Polygon()
    types = shapely.get_type_id(np.where(missing, shapely.Polygon(), arr))
    odd = np.flatnonzero(~np.isin(types, (3, 6)) & ~missing)
    if len(odd) == 0:
        return out
    out[odd] = shapely.Polygon()
    parts, owner = shapely.get_parts(arr[odd], return_index=True)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():  # nested multi-parts and collections
        multi = shapely.get_type_id(parts) >= 4
        sub, pos = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][pos]])
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts) if len(parts) else np.zeros(0, bool)
    if keep.any():
        parts, owner = parts[keep], owner[keep]
        groups, idx = np.unique(owner, return_inverse=True)
        out[odd[groups]] = shapely.multipolygons(parts, indices=idx)
    return out

def _flat(geoms: np.ndarray) -> np.ndarray:
    """All single parts of the geometries (nested collections flattened)."""
    parts = shapely.get_parts(geoms)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        multi = shapely.get_type_id(parts) >= 4
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])
    return parts[~shapely.is_empty(parts)] if len(parts) else parts

def explode(geom: Any) -> np.ndarray:
    """The polygons of one geometry (empty array for an empty or non-polygonal one)."""
    if geom is None:
        return np.zeros(0, dtype=object)
    parts = _flat(np.asarray([geom], dtype=object))
    return parts[shapely.get_type_id(parts) == 3] if len(parts) else parts

def _union_all(geoms: np.ndarray) -> Any:
    try:
        return shapely.union_all(geoms)
    except GEOSException:
        return shapely.union_all(shapely.make_valid(geoms), grid_size=GRID_DEG)

def dissolve(geoms: Any) -> Any:
    """One polygonal geometry covering all the polygonal parts of ``geoms`` (overlaps merged)."""
    arr = polygonal(np.asarray(geoms, dtype=object).ravel()) if not isinstance(geoms, shapely.Geometry) \
        else polygonal(np.asarray([geoms], dtype=object))
    arr = arr[~shapely.is_empty(arr)] if len(arr) else arr
    if len(arr) == 0:
        return shapely.MultiPolygon()
    if len(arr) == 1 and shapely.is_valid(arr[0]):
        return arr[0]
    return polygonal(np.asarray([_union_all(arr)], dtype=object))[0]

def _binary(fn: Callable[..., Any], a: Any, b: Any) -> Any:
    try:
        return fn(a, b)
    except GEOSException:
        return fn(shapely.make_valid(a), shapely.make_valid(b), grid_size=GRID_DEG)

def clip(geoms: Any, mask: Any) -> np.ndarray:
    """Polygonal intersection of each geometry with ``mask`` (a geometry or an array of the same length)."""
    arr = np.asarray(geoms, dtype=object).ravel()
    if len(arr) == 0:
        return arr
    return polygonal(_binary(shapely.intersection, arr, mask))

def difference(a: Any, b: Any) -> Any:
    """Polygonal a − b (elementwise for arrays)."""
    out = _binary(shapely.difference, a, b)
    if isinstance(out, np.ndarray):
        return polygonal(out)
    return polygonal(np.asarray([out], dtype=object))[0]

def measure(geoms: Any, method: AreaMethod) -> np.ndarray:
    """Area (m²) of each geometry with spatial.geo.area (geometries in EPSG:4490); empty or missing -> 0."""
    return area_m2(gpd.GeoSeries(np.asarray(geoms, dtype=object).ravel(), crs=CGCS2000), method)


def measure_length(geoms: Any) -> np.ndarray:
    """Geodesic (GRS80) length (m) of each geometry in EPSG:4490 (a polygon's perimeter); empty -> 0."""
    arr = np.asarray(geoms, dtype=object).ravel()
    if len(arr) == 0:
        return np.zeros(0)
    return np.asarray(length_m(gpd.GeoSeries(arr, crs=CGCS2000)), dtype=float)


def layer_geoms(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The polygonal geometries of a layer in EPSG:4490, invalid ones repaired, empty ones dropped."""
    if gdf.crs is None:
        raise ValueError("a layer without a CRS cannot be measured: set its CRS first (e.g. EPSG:4490)")
    if not gdf.crs.equals(CGCS2000):
        gdf = to_workspace_crs(gdf)
    arr = polygonal(np.asarray(gdf.geometry.values, dtype=object))
    if len(arr) == 0:
        return arr
    bad = ~shapely.is_valid(arr)
    if bad.any():
        arr = arr.copy()
        arr[bad] = polygonal(shapely.make_valid(arr[bad]))
    return arr[~shapely.is_empty(arr)]


# ---------------------------------------------------------------------------- pieces and slivers

MIN_TOUCH_M2 = 1e-6    # a piece meeting a unit by less than 1 mm² is not counted in it

@dataclass
class Pieces:
    """The polygons of a result geometry, measured, with slivers told apart from real pieces."""

    geoms: np.ndarray
    area_m2: np.ndarray
    perimeter_m: np.ndarray
    mean_width_m: np.ndarray
    sliver: np.ndarray

    def __len__(self) -> int:
        return len(self.geoms)


def pieces_of(geom: Any, method: AreaMethod, sliver_m2: float, sliver_width_m: float) -> Pieces:
    """Explode ``geom`` into polygons; a piece is a sliver when its area < ``sliver_m2`` or its mean width
    2·area/perimeter (the width of a long thin strip) < ``sliver_width_m``."""
    geoms = explode(geom)
    areas = measure(geoms, method)
    if len(geoms) and (areas <= 0).any():  # degenerate rings left by an overlay: no area, not a piece
        geoms, areas = geoms[areas > 0], areas[areas > 0]
    if len(geoms):
        perim = measure_length(geoms)
    else:
        perim = np.zeros(0)
    width = np.divide(2.0 * areas, perim, out=np.zeros(len(geoms)), where=perim > 0)
    sliver = (areas < (sliver_m2 or 0.0)) | (width < (sliver_width_m or 0.0))
    return Pieces(geoms, areas, perim, width, sliver)

@dataclass
class UnitSplit:
    """Per unit: real and sliver area (m²) and piece counts; per piece: the unit holding most of it."""

    real_m2: np.ndarray
    real_n: np.ndarray
    sliver_m2: np.ndarray
    sliver_n: np.ndarray
    owner: np.ndarray

def split_by_units(pieces: Pieces, unit_geoms: np.ndarray, method: AreaMethod) -> UnitSplit:
    """Clip each piece to each unit it meets (pieces are disjoint, so the sums are areas of unions)."""
    n_u = len(unit_geoms)
    out = UnitSplit(np.zeros(n_u), np.zeros(n_u, int), np.zeros(n_u), np.zeros(n_u, int),
                    np.full(len(pieces), -1))
    if len(pieces) == 0 or n_u == 0:
        return out
    tree = shapely.STRtree(unit_geoms)
    p, u = tree.query(pieces.geoms, predicate="intersects")
    if len(p) == 0:
        return out
    inside = measure(clip(pieces.geoms[p], unit_geoms[u]), method)
    # a piece meeting a unit by less than 1 mm² (a touch, or rounding along a shared boundary) is not in it,
    # unless most of the (tiny) piece lies there
    keep = (inside >= MIN_TOUCH_M2) | ((inside > 0) & (inside >= 0.5 * pieces.area_m2[p]))
    p, u, inside = p[keep], u[keep], inside[keep]
    if len(p) == 0:
        return out
    sl = pieces.sliver[p]
    np.add.at(out.real_m2, u[~sl], inside[~sl])
    np.add.at(out.sliver_m2, u[sl], inside[sl])
    np.add.at(out.real_n, u[~sl], 1)
    np.add.at(out.sliver_n, u[sl], 1)
    order = np.lexsort((-inside, p))
    first = np.r_[True, p[order][1:] != p[order][:-1]]
    out.owner[p[order][first]] = u[order][first]
    return out
_POLY_TYPES = {3, 6}

_LINE_TYPES = {1, 2, 5}

_POINT_TYPES = {0, 4}



def keep_dim(geoms: np.ndarray, dim: int) -> np.ndarray:
    """Keep only the parts of dimension ``dim`` (2 polygons, 1 lines) of each geometry."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    if len(geoms) == 0:
        return out
    types = shapely.get_type_id(geoms)
    wanted = _POLY_TYPES if dim == 2 else _LINE_TYPES
    mixed = np.flatnonzero(~np.isin(types, list(wanted)) & ~shapely.is_missing(geoms))
    if len(mixed) == 0:
        return out
    parts, idx = shapely.get_parts(geoms[mixed], return_index=True)
    keep = np.isin(shapely.get_type_id(parts), list(wanted)) & ~shapely.is_empty(parts)
    empty = shapely.from_wkt("MULTIPOLYGON EMPTY" if dim == 2 else "MULTILINESTRING EMPTY")
    rebuilt = np.full(len(mixed), empty, dtype=object)
    if keep.any():
        parts, idx = parts[keep], idx[keep]
        # flatten multi-parts (a collection can hold MultiPolygons)
        sub, sidx = shapely.get_parts(parts, return_index=True)
        owner = idx[sidx]
        make = shapely.multipolygons if dim == 2 else shapely.multilinestrings
        groups = np.unique(owner)
        rebuilt[groups] = make(sub, indices=np.searchsorted(groups, owner))
    out[mixed] = rebuilt
    return out
