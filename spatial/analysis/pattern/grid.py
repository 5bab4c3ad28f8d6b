"""Analysis grid of the ecological security pattern.

Every raster of the pattern lives on one :class:`Grid`: a north-up grid of square cells in the
CGCS2000 3-degree Gauss–Krüger projection *without* zone prefix in the easting (EPSG = 4509 + zone,
zone = round(λ / 3) of the territory centre, so the central meridian is 3 × zone degrees). A
projected, conformal grid keeps cell sizes in metres and cell areas honest (scale error < 0.03 %
within a zone's 1.5° half-width), which a cost distance in "resistance × metres" needs.

The grid is snapped to whole cells: its origin is a multiple of the cell size in GK metres, so two
runs over neighbouring territories with the same cell size share cell edges.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import rasterio.features
from affine import Affine
from pyproj import CRS

from spatial.geo.crs import CGCS2000

#: Geographic CRS of all vector inputs and outputs (CGCS2000).


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid.

    Attributes
    ----------
    transform : affine.Affine
        Pixel → projected coordinates (of the cell's upper-left corner).
    shape : tuple of int
        (rows, cols).
    crs : pyproj.CRS
        Projected CRS (CGCS2000 3-degree GK, metres).
    """

    transform: Affine
    shape: tuple[int, int]
    crs: CRS

    @property
    def cell_m(self) -> float:
        """Cell size in metres (square cells)."""
        return float(self.transform.a)

    @property
    def cell_area_m2(self) -> float:
        """Area of one cell on the grid plane, m²."""
        return self.cell_m * self.cell_m

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in grid CRS metres."""
        rows, cols = self.shape
        x0, y0 = self.transform.c, self.transform.f
        return (x0, y0 - rows * self.cell_m, x0 + cols * self.cell_m, y0)

    def centres(self, rows, cols) -> tuple[np.ndarray, np.ndarray]:
        """Projected x, y of the centres of cells (rows, cols)."""
        rows = np.asarray(rows, dtype=float)
        cols = np.asarray(cols, dtype=float)
        x = self.transform.c + (cols + 0.5) * self.cell_m
        y = self.transform.f - (rows + 0.5) * self.cell_m
        return x, y


def gk_crs_for(lon: float) -> CRS:
    """CGCS2000 3-degree Gauss–Krüger CRS (no zone prefix) for a longitude.

    Parameters
    ----------
    lon : float
        Longitude in degrees east (75°E–135°E, zones 25–45).

    Returns
    -------
    pyproj.CRS
        EPSG:(4509 + zone), zone = round(lon / 3), e.g. 118.5°E → zone 40 → EPSG:4549 (CM 120°E).

    Examples
    --------
    >>> gk_crs_for(118.5).to_epsg()
    4549
    """
    zone = int(math.floor(lon / 3.0 + 0.5))  # round half up, not Python's banker's rounding
    if not 25 <= zone <= 45:
        raise ValueError(f"longitude {lon} is outside the CGCS2000 3-degree zones 25–45 (75°E–135°E)")
    return CRS.from_epsg(4509 + zone)


def grid_for(territory: gpd.GeoDataFrame, cell_m: float) -> Grid:
    """Grid covering a territory, snapped to whole cells.

    Parameters
    ----------
    territory : GeoDataFrame
        Territory polygon(s), EPSG:4490 (or any CRS pyproj knows).
    cell_m : float
        Cell size in metres.

    Returns
    -------
    Grid
        GK grid whose edges are multiples of `cell_m`, covering the territory's projected bounds.
    """
    lon = _centre_lon(territory)
    crs = gk_crs_for(lon)
    xmin, ymin, xmax, ymax = territory.to_crs(crs).total_bounds
    x0 = math.floor(xmin / cell_m) * cell_m
    y1 = math.ceil(ymax / cell_m) * cell_m
    cols = int(math.ceil((xmax - x0) / cell_m))
    rows = int(math.ceil((y1 - ymin) / cell_m))
    return Grid(Affine(cell_m, 0.0, x0, 0.0, -cell_m, y1), (rows, cols), crs)


def _centre_lon(gdf: gpd.GeoDataFrame) -> float:
    geo = gdf.to_crs(CGCS2000)
    xmin, _, xmax, _ = geo.total_bounds
    return 0.5 * (xmin + xmax)


def rasterize(
    gdf: gpd.GeoDataFrame,
    grid: Grid,
    *,
    value: int | float = 1,
    values=None,
    all_touched: bool = False,
    fill: int | float = 0,
    dtype: str = "uint8",
    buffer_m: float = 0.0,
) -> np.ndarray:
    """Burn geometries into an array on `grid`.

    Parameters
    ----------
    gdf : GeoDataFrame
        Geometries in any CRS; reprojected to the grid CRS first.
    grid : Grid
    value : number
        Value burnt for every geometry when `values` is None.
    values : sequence, optional
        One value per geometry (later geometries overwrite earlier ones).
    all_touched : bool
        Burn every cell a geometry touches (True) or only cells whose centre is inside (False,
        rasterio's default and the usual choice for areas).
    fill : number
        Background value.
    dtype : str
    buffer_m : float
        Buffer every geometry by this distance in metres (after projecting) before burning, e.g.
        a river line buffered to a strip.

    Returns
    -------
    numpy.ndarray of shape ``grid.shape``
    """
    arr = np.full(grid.shape, fill, dtype=dtype)
    if gdf is None or len(gdf) == 0:
        return arr
    geoms = gdf.geometry.to_crs(grid.crs)
    if buffer_m > 0:
        geoms = geoms.buffer(buffer_m)
    vals = [value] * len(geoms) if values is None else list(values)
    pairs = [(g, v) for g, v in zip(geoms, vals) if g is not None and not g.is_empty]
    if not pairs:
        return arr
    return rasterio.features.rasterize(
        pairs, out_shape=grid.shape, transform=grid.transform, fill=fill,
        all_touched=all_touched, dtype=dtype,
    )


def write_raster(path, array: np.ndarray, grid: Grid, nodata: float = -9999.0) -> Path:
    """Write a single-band float32 GeoTIFF; NaN cells are written as `nodata`.

    Parameters
    ----------
    path : str or Path
    array : numpy.ndarray
        Values on `grid`; NaN (and ±inf) mean "no data" (impassable for resistance).
    grid : Grid
    nodata : float

    Returns
    -------
    Path
    """
    path = Path(path)
    out = np.asarray(array, dtype="float64").copy()
    out[~np.isfinite(out)] = nodata
    profile = dict(
        driver="GTiff", height=grid.shape[0], width=grid.shape[1], count=1, dtype="float32",
        crs=grid.crs.to_wkt(), transform=grid.transform, nodata=nodata, compress="deflate",
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(out.astype("float32"), 1)
    return path


def read_raster(path) -> tuple[np.ndarray, Grid, float | None]:
    """Read band 1 of a raster as float64 with nodata as NaN.

    Returns
    -------
    array : numpy.ndarray
    grid : Grid
        The file's own transform and CRS (not necessarily GK).
    nodata : float or None
    """
    with rasterio.open(path) as src:
        arr = src.read(1).astype("float64")
        nodata = src.nodata
        if nodata is not None:
            arr[arr == nodata] = np.nan
        grid = Grid(src.transform, (src.height, src.width), CRS.from_user_input(src.crs))
    return arr, grid, nodata
