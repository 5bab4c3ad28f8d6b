"""Resistance surface (阻力面构建).

Each cell gets the resistance of the first class in the table that covers it, times a slope
factor. The table is the ``[pattern]`` section of ``layers/catalog.toml`` parsed to a dict:

* ``[[pattern.resistance]]`` classes, **in priority order**: each names a layer ``kind`` and a
  ``value`` (or ``barrier = true`` for impassable cells). Line kinds (rivers) and points are
  buffered by ``buffer_m`` metres on either side before rasterising (cells whose centre falls in
  the buffer); without a buffer, and for barriers, every cell a geometry touches is burnt. An entry ``kind =
  "land_cover"`` without a value marks where the land-survey classes below rank; without it they
  rank after every listed kind.
* ``[[pattern.land_cover]]`` classes: DLBM code prefixes (GB/T 21010, field
  ``pattern.land_cover_field``) → value, tried in order (first matching class wins per parcel).
* ``default_resistance`` for territory cells no class covers.
* ``[[pattern.slope]]`` classes ``max_deg`` ascending → ``factor``, applied when a DEM is given.

**Priority rule.** The first class in table order that covers a cell wins; later classes never
overwrite it. Put barriers and protected land first so that, e.g., a red-line patch inside an
urban-space polygon keeps the red-line value. Cells outside the territory, and cells of a
``barrier`` class, are NaN: impassable for the cost distance and absent from the circuit.

Only the *relative ordering* of resistance values matters much for where corridors run; absolute
values set corridor widths through the cost cutoff (陈春娣等, 生态学报 2015; Linkage Mapper's user
guide says the same of resistance models, McRae & Kavanagh 2011).

Slope is computed on the analysis grid *after* reprojecting the DEM onto it (bilinear), so the
horizontal spacing is the GK cell size in metres, not degrees: slope = atan(|∇z|), with ∇z from
central differences (numpy.gradient) at ``grid.cell_m`` spacing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.warp import Resampling, reproject

from spatial.analysis.pattern.grid import Grid, rasterize


@dataclass
class ResistanceSurface:
    """A resistance surface and how it was made.

    Attributes
    ----------
    values : numpy.ndarray
        float64 resistance per cell, NaN = impassable (outside territory or barrier).
    class_raster : numpy.ndarray
        int16 index into `class_names` of the class that set each cell (-1 outside territory).
    class_names : list of str
        ``"default"`` is always the last entry.
    slope_deg : numpy.ndarray or None
        Slope in degrees on the grid, when a DEM was given.
    """

    values: np.ndarray
    class_raster: np.ndarray
    class_names: list[str] = field(default_factory=list)
    slope_deg: np.ndarray | None = None


def build_resistance(
    table: dict,
    layers: dict[str, gpd.GeoDataFrame],
    grid: Grid,
    territory: gpd.GeoDataFrame,
    *,
    dem=None,
) -> ResistanceSurface:
    """Resistance surface from the pattern table and the planning layers.

    Parameters
    ----------
    table : dict
        The ``[pattern]`` table (see module docstring).
    layers : dict of str to GeoDataFrame
        Layers by catalogue kind id (EPSG:4490 or any CRS).
    grid : Grid
    territory : GeoDataFrame
        Territory polygon(s); cells outside are impassable.
    dem : str or Path, optional
        DEM raster in any CRS; enables the slope factor.

    Returns
    -------
    ResistanceSurface
    """
    inside = rasterize(territory, grid).astype(bool)
    classes = _classes(table, layers, grid)
    values, class_raster, names = _paint_first_wins(classes, grid, inside, float(table.get("default_resistance", 50)))
    slope = None
    if dem is not None and table.get("slope"):
        slope = slope_degrees(reproject_to_grid(dem, grid, Resampling.bilinear), grid.cell_m)
        values = values * slope_factor(slope, table["slope"])
    values[~inside] = np.nan
    return ResistanceSurface(values, class_raster, names, slope)


def _classes(table: dict, layers: dict, grid: Grid) -> list[tuple[str, float | None, np.ndarray]]:
    """(name, value or None for barrier, mask) in priority order."""
    out = []
    entries = list(table.get("resistance", []))
    if not any(e.get("kind") == "land_cover" and "value" not in e for e in entries):
        entries.append({"kind": "land_cover"})
    for e in entries:
        kind = e["kind"]
        gdf = layers.get(kind)
        if gdf is None or len(gdf) == 0:
            continue
        if kind == "land_cover" and "value" not in e and not e.get("barrier"):
            out.extend(_land_cover_classes(table, gdf, grid))
            continue
        polygon = gdf.geom_type.iloc[0].endswith("Polygon")
        buffer_m = float(e.get("buffer_m", 0.0))
        # Unbuffered lines and points burn every cell they touch. So do barriers: a barrier burnt by
        # cell centres can leave diagonal gaps that an 8-neighbour path slips through.
        touched = bool(e.get("barrier")) or (not polygon and buffer_m <= 0)
        mask = rasterize(gdf, grid, buffer_m=buffer_m, all_touched=touched).astype(bool)
        out.append((kind, None if e.get("barrier") else float(e["value"]), mask))
    return out


def _land_cover_classes(table: dict, gdf: gpd.GeoDataFrame, grid: Grid):
    field_name = table.get("land_cover_field", "DLBM")
    if field_name not in gdf.columns:
        return []
    codes = gdf[field_name].astype(str).str.strip()
    taken = np.zeros(len(gdf), dtype=bool)
    out = []
    for c in table.get("land_cover", []):
        prefixes = tuple(str(p) for p in c["prefix"])
        hit = codes.str.startswith(prefixes).to_numpy() & ~taken
        taken |= hit
        if hit.any():
            name = "land_cover:" + c.get("name_en", "/".join(prefixes))
            value = None if c.get("barrier") else float(c["value"])
            out.append((name, value, rasterize(gdf[hit], grid).astype(bool)))
    return out


def _paint_first_wins(classes, grid: Grid, inside: np.ndarray, default: float):
    values = np.full(grid.shape, np.nan)
    class_raster = np.full(grid.shape, -1, dtype="int16")
    assigned = ~inside
    names = []
    for i, (name, value, mask) in enumerate(classes):
        names.append(name)
        new = mask & ~assigned
        values[new] = np.nan if value is None else value
        class_raster[new] = i
        assigned |= new
    names.append("default")
    rest = ~assigned
    values[rest] = default
    class_raster[rest] = len(names) - 1
    return values, class_raster, names


def reproject_to_grid(path, grid: Grid, resampling: Resampling = Resampling.bilinear) -> np.ndarray:
    """Reproject band 1 of a raster onto `grid`; source nodata and uncovered cells become NaN.

    Parameters
    ----------
    path : str or Path
        Raster in any CRS (e.g. a 30″ DEM in EPSG:4490).
    grid : Grid
    resampling : rasterio.warp.Resampling
        Bilinear for continuous fields (DEM), nearest for class or user resistance rasters.

    Returns
    -------
    numpy.ndarray (float64)
    """
    with rasterio.open(path) as src:
        src_arr = src.read(1).astype("float64")
        if src.nodata is not None:
            src_arr[src_arr == src.nodata] = np.nan
        dst = np.full(grid.shape, np.nan)
        reproject(
            src_arr, dst, src_transform=src.transform, src_crs=src.crs, src_nodata=np.nan,
            dst_transform=grid.transform, dst_crs=grid.crs.to_wkt(), dst_nodata=np.nan,
            resampling=resampling,
        )
    return dst


def slope_degrees(dem: np.ndarray, cell_m: float) -> np.ndarray:
    """Slope in degrees from a DEM on a metric grid.

    Parameters
    ----------
    dem : numpy.ndarray
        Elevations in metres on the analysis grid (NaN = no data).
    cell_m : float
        Horizontal spacing in metres (the same in x and y).

    Returns
    -------
    numpy.ndarray
        atan(sqrt((dz/dx)² + (dz/dy)²)) in degrees; NaN where the DEM is NaN. Cells next to
        no-data use the one-sided difference numpy.gradient gives at array edges only, so a
        NaN neighbour makes them NaN too (then the slope factor falls back to 1).

    Examples
    --------
    >>> z = np.add.outer(np.zeros(3), np.arange(3) * 100.0)  # rises 100 m per 100 m cell
    >>> round(float(slope_degrees(z, 100.0)[1, 1]), 6)
    45.0
    """
    dzdy, dzdx = np.gradient(dem, cell_m)
    return np.degrees(np.arctan(np.hypot(dzdx, dzdy)))


def slope_factor(slope_deg: np.ndarray, classes: list[dict]) -> np.ndarray:
    """Multiplicative factor from slope classes ``[{max_deg, factor}, ...]`` (ascending max_deg).

    A cell takes the factor of the first class with ``slope <= max_deg``; steeper than the last
    class takes the last factor; unknown slope (NaN) takes 1.
    """
    edges = np.array([float(c["max_deg"]) for c in classes])
    factors = np.array([float(c["factor"]) for c in classes])
    idx = np.minimum(np.searchsorted(edges, np.nan_to_num(slope_deg, nan=0.0), side="left"), len(edges) - 1)
    out = factors[idx]
    out[np.isnan(slope_deg)] = 1.0
    return out


def load_resistance(path, grid: Grid, *, resampling: Resampling = Resampling.nearest) -> np.ndarray:
    """A user resistance GeoTIFF on the analysis grid.

    Parameters
    ----------
    path : str or Path
        Raster in any CRS. Its nodata cells, cells it does not cover, and non-positive values
        are impassable (NaN).
    grid : Grid
    resampling : rasterio.warp.Resampling
        Nearest by default so class values are not blended; use ``Resampling.average`` to
        aggregate a finer surface.

    Returns
    -------
    numpy.ndarray (float64, NaN = impassable)
    """
    arr = reproject_to_grid(path, grid, resampling)
    arr[~(arr > 0)] = np.nan
    return arr
