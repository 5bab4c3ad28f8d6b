"""Ecological sources (源地识别).

Method:

1. **Candidate habitat** = union of the layers whose kinds are listed in
   ``pattern.source_kinds`` (protected areas, red line, forest), plus the land-survey parcels whose
   DLBM starts with one of ``pattern.source_land_cover_prefix``, restricted to passable territory.
2. **Core** by MSPA's core rule (Soille & Vogt 2009): habitat cells farther than the edge width
   from non-habitat, i.e. binary erosion of the habitat by a disk of radius
   ``edge_width_m / cell_m`` cells (rounded). Cells outside the grid count as non-habitat.
3. **Patches** = 8-connected components of the core; those of at least ``min_source_km2`` are the
   sources (ids 1..n, largest first). Smaller ones are kept in a ``dropped`` table with the reason.
4. Optionally the patch importance dPC and dIIC (Saura & Pascual-Hortal 2007) on the network of
   corridors, see :func:`connectivity_importance`.

Areas are grid areas: cells × cell_m² on the Gauss–Krüger plane (within 0.03 % of the ellipsoidal
area inside a 3° zone), not a geodesic measure of the source polygons.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.sparse.csgraph import shortest_path
from skimage.morphology import disk

from spatial.analysis.pattern.grid import Grid, rasterize

EIGHT = np.ones((3, 3), dtype=bool)


@dataclass
class Sources:
    """Sources on the grid.

    Attributes
    ----------
    labels : numpy.ndarray
        int32, source id per cell (0 = none).
    table : pandas.DataFrame
        One row per source: id, cells, area_m2, area_km2, kinds, reason.
    dropped : pandas.DataFrame
        Core patches below the minimum area, same columns (id = 0).
    habitat : numpy.ndarray
        bool, candidate habitat before erosion.
    stepping : numpy.ndarray
        int32 labels of habitat patches that hold no source and have at least
        ``stepping_stone_min_km2`` (stepping-stone candidates for :mod:`.nodes`).
    """

    labels: np.ndarray
    table: pd.DataFrame
    dropped: pd.DataFrame
    habitat: np.ndarray
    stepping: np.ndarray


def find_sources(table: dict, layers: dict[str, gpd.GeoDataFrame], grid: Grid, passable: np.ndarray) -> Sources:
    """Sources from the pattern table and layers.

    Parameters
    ----------
    table : dict
        ``[pattern]`` table: ``source_kinds``, ``source_land_cover_prefix``, ``land_cover_field``,
        ``edge_width_m``, ``min_source_km2``, ``stepping_stone_min_km2``.
    layers : dict of str to GeoDataFrame
    grid : Grid
    passable : numpy.ndarray
        bool, cells with a finite resistance.

    Returns
    -------
    Sources
    """
    kind_masks = habitat_by_kind(table, layers, grid, passable)
    habitat = np.zeros(grid.shape, dtype=bool)
    for m in kind_masks.values():
        habitat |= m
    return sources_from_habitat(
        habitat, grid.cell_m,
        edge_width_m=float(table.get("edge_width_m", 0.0)),
        min_source_km2=float(table.get("min_source_km2", 0.0)),
        stepping_stone_min_km2=float(table.get("stepping_stone_min_km2", 0.0)),
        kind_masks=kind_masks,
    )


def habitat_by_kind(table: dict, layers: dict, grid: Grid, passable: np.ndarray) -> dict[str, np.ndarray]:
    """Candidate habitat mask of every contributing kind (only kinds with data)."""
    out = {}
    for kind in table.get("source_kinds", []):
        gdf = layers.get(kind)
        if gdf is not None and len(gdf):
            out[kind] = rasterize(gdf, grid).astype(bool) & passable
    lc = layers.get("land_cover")
    prefixes = tuple(str(p) for p in table.get("source_land_cover_prefix", []))
    field_name = table.get("land_cover_field", "DLBM")
    if lc is not None and len(lc) and prefixes and field_name in lc.columns:
        hit = lc[field_name].astype(str).str.startswith(prefixes).to_numpy()
        if hit.any():
            out["land_cover"] = rasterize(lc[hit], grid).astype(bool) & passable
    return out


def mspa_core(habitat: np.ndarray, edge_cells: int) -> np.ndarray:
    """MSPA core: habitat eroded by a disk of radius `edge_cells` (no erosion when 0).

    Examples
    --------
    >>> h = np.zeros((12, 14), bool); h[1:11, 1:13] = True      # 10 × 12 cells
    >>> int(mspa_core(h, 2).sum())                              # (10 − 4) × (12 − 4)
    48
    """
    if edge_cells <= 0:
        return habitat.copy()
    return ndimage.binary_erosion(habitat, structure=disk(edge_cells), border_value=0)


def sources_from_habitat(
    habitat: np.ndarray,
    cell_m: float,
    *,
    edge_width_m: float = 0.0,
    min_source_km2: float = 0.0,
    stepping_stone_min_km2: float = 0.0,
    kind_masks: dict[str, np.ndarray] | None = None,
) -> Sources:
    """Core patches of a habitat mask, filtered by area.

    Parameters
    ----------
    habitat : numpy.ndarray of bool
    cell_m : float
    edge_width_m : float
        MSPA edge width in metres (erosion radius = round(edge_width_m / cell_m) cells).
    min_source_km2 : float
        Minimum core area of a source.
    stepping_stone_min_km2 : float
        Minimum area of a habitat patch without a source to be a stepping-stone candidate.
    kind_masks : dict, optional
        Masks by kind, to record which kinds contributed to each source.

    Returns
    -------
    Sources
    """
    cell_area = cell_m * cell_m
    core = mspa_core(habitat, int(round(edge_width_m / cell_m)))
    patches, n = ndimage.label(core, structure=EIGHT)
    cells = np.bincount(patches.ravel(), minlength=n + 1)[1:]
    kinds = _kinds_per_patch(patches, n, kind_masks or {})
    rows = [
        dict(patch=i + 1, cells=int(c), area_m2=c * cell_area, area_km2=c * cell_area / 1e6, kinds=kinds[i])
        for i, c in enumerate(cells)
    ]
    df = pd.DataFrame(rows, columns=["patch", "cells", "area_m2", "area_km2", "kinds"])
    keep = df["area_km2"] >= min_source_km2
    kept = df[keep].sort_values(["cells", "patch"], ascending=[False, True]).reset_index(drop=True)
    kept.insert(0, "id", np.arange(1, len(kept) + 1))
    kept["reason"] = [f"core ≥ min area ({a:.3f} ≥ {min_source_km2:g} km²); kinds: {k}" for a, k in zip(kept.area_km2, kept.kinds)]
    dropped = df[~keep].copy()
    dropped.insert(0, "id", 0)
    dropped["reason"] = [f"core < min area ({a:.3f} < {min_source_km2:g} km²)" for a in dropped.area_km2]
    lut = np.zeros(n + 1, dtype="int32")
    lut[kept["patch"].to_numpy()] = kept["id"].to_numpy()
    labels = lut[patches]
    stepping = _stepping_patches(habitat, labels, cell_area, stepping_stone_min_km2, min_source_km2)
    return Sources(labels, kept.drop(columns="patch"), dropped.drop(columns="patch").reset_index(drop=True), habitat, stepping)


def _kinds_per_patch(patches: np.ndarray, n: int, kind_masks: dict) -> list[str]:
    present = [[] for _ in range(n)]
    for kind, mask in kind_masks.items():
        for p in np.unique(patches[mask & (patches > 0)]):
            present[p - 1].append(kind)
    return [",".join(k) for k in present]


def _stepping_patches(habitat, labels, cell_area, min_km2, max_km2) -> np.ndarray:
    # A stepping stone is habitat a source does not already occupy: patches of the un-eroded habitat
    # with no source cell, between the stepping-stone and the source minimum area.
    patches, n = ndimage.label(habitat, structure=EIGHT)
    if n == 0:
        return np.zeros(habitat.shape, dtype="int32")
    cells = np.bincount(patches.ravel(), minlength=n + 1)
    has_source = np.zeros(n + 1, dtype=bool)
    has_source[np.unique(patches[labels > 0])] = True
    area_km2 = cells * cell_area / 1e6
    ok = (~has_source) & (area_km2 >= min_km2) & (area_km2 < max_km2)
    ok[0] = False
    lut = np.zeros(n + 1, dtype="int32")
    lut[ok] = np.arange(1, ok.sum() + 1)
    return lut[patches]


def connectivity_importance(
    areas_m2: np.ndarray,
    links: list[tuple[int, int, float]],
    landscape_area_m2: float,
    *,
    d50: float | None = None,
) -> pd.DataFrame:
    """dPC and dIIC of every patch (Saura & Pascual-Hortal 2007).

    PC = ΣᵢΣⱼ aᵢ aⱼ p*ᵢⱼ / A_L², with p*ᵢⱼ the maximum-product probability over all paths of the
    link graph, link probability pᵢⱼ = exp(−k dᵢⱼ) with k = ln 2 / d50 (a link of cost d50 is
    crossed with probability ½). Because −ln p is additive, p*ᵢⱼ = exp(−k · shortest-path
    distance). IIC = ΣᵢΣⱼ aᵢ aⱼ / (1 + nlᵢⱼ) / A_L² with nl the number of links on the
    topologically shortest path (unconnected pairs contribute 0). dX_k = 100 (X − X_without k) / X;
    removing k removes its area and all its links.

    Parameters
    ----------
    areas_m2 : array
        Patch areas, patch index 0..n−1.
    links : list of (i, j, d)
        Links between patch indices with their distance (least cost, or metres).
    landscape_area_m2 : float
        A_L, the area of the study territory.
    d50 : float, optional
        Distance with link probability ½; default the median link distance.

    Returns
    -------
    pandas.DataFrame
        Columns dPC, dIIC (percent), one row per patch.

    Examples
    --------
    >>> df = connectivity_importance(np.array([1., 1., 1.]), [(0, 1, 1.0), (1, 2, 1.0)], 3.0)
    >>> bool(df.dPC[1] > df.dPC[0])   # the middle patch carries both links
    True
    """
    a = np.asarray(areas_m2, dtype=float)
    n = len(a)
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0.0)
    for i, j, d in links:
        dist[i, j] = dist[j, i] = min(dist[i, j], d)
    if d50 is None:
        d50 = float(np.median([d for _, _, d in links])) if links else 1.0
    k = np.log(2.0) / max(d50, 1e-12)
    steps = np.where(np.isfinite(dist), 1.0, np.inf)
    np.fill_diagonal(steps, 0.0)

    def pc(alive):
        idx = np.flatnonzero(alive)
        sp = shortest_path(np.where(np.isinf(dist[np.ix_(idx, idx)]), 0, dist[np.ix_(idx, idx)]), method="D", directed=False)
        p = np.exp(-k * sp)
        aa = a[idx]
        return float(aa @ p @ aa) / landscape_area_m2**2

    def iic(alive):
        idx = np.flatnonzero(alive)
        sub = steps[np.ix_(idx, idx)]
        nl = shortest_path(np.where(np.isinf(sub), 0, sub), method="D", directed=False, unweighted=True)
        aa = a[idx]
        return float(aa @ (1.0 / (1.0 + nl)) @ aa) / landscape_area_m2**2

    all_alive = np.ones(n, dtype=bool)
    pc0, iic0 = pc(all_alive), iic(all_alive)
    dpc, diic = [], []
    for m in range(n):
        alive = all_alive.copy()
        alive[m] = False
        dpc.append(100.0 * (pc0 - pc(alive)) / pc0 if pc0 > 0 else 0.0)
        diic.append(100.0 * (iic0 - iic(alive)) / iic0 if iic0 > 0 else 0.0)
    return pd.DataFrame({"dPC": dpc, "dIIC": diic})
