"""Ecological security pattern (生态安全格局): sources, resistance, corridors, pinch points, nodes.

A pure-Python kernel of the "source → resistance → corridor" method (源地识别 → 阻力面构建 →
廊道提取 → 夹点与节点) as Linkage Mapper (McRae & Kavanagh 2011) and Circuitscape
(McRae et al. 2008; Anantharaman et al. 2020) carry it out, on numpy, scipy, pyamg, scikit-image,
rasterio, shapely, geopandas and pyproj only. It depends on no other module of ``spatial``.

Entry point: :func:`derive_pattern`. Modules: :mod:`.grid` (analysis grid, rasterising, GeoTIFF),
:mod:`.resistance`, :mod:`.sources`, :mod:`.corridors`, :mod:`.circuit`, :mod:`.nodes`,
:mod:`.result`. The parameter table is the ``[pattern]`` section of ``layers/catalog.toml``.
"""
from __future__ import annotations

import time
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.analysis.pattern import circuit, corridors, nodes, resistance, sources
from spatial.analysis.pattern.grid import Grid, grid_for, rasterize
from spatial.analysis.pattern.result import PatternResult, cell_points, path_line, polygons_from_labels, to_output, zone_polygon

__all__ = ["derive_pattern", "PatternResult", "Grid", "DEFAULTS", "STEPS"]

#: Defaults for values the ``[pattern]`` table leaves out.
DEFAULTS = dict(
    cell_m=100.0, cutoff=20000.0, edge_width_m=200.0, min_source_km2=2.0, stepping_stone_min_km2=0.1,
    stepping_stone_distance_m=500.0, default_resistance=50.0, pinch_percentile=95.0, neighbours=8,
)

STEPS = ("grid", "resistance", "sources", "allocation", "corridors", "circuit", "nodes", "importance", "result")


class _Steps:
    """Times each named step and reports progress(step, done, total)."""

    def __init__(self, progress):
        self.progress = progress
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name):
        t0 = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - t0
        if self.progress:
            self.progress(name, STEPS.index(name) + 1, len(STEPS))


def derive_pattern(
    layers: dict[str, gpd.GeoDataFrame],
    territory: gpd.GeoDataFrame,
    table: dict,
    *,
    dem=None,
    resistance=None,
    cell_m: float | None = None,
    cutoff: float | None = None,
    progress=None,
) -> PatternResult:
    """Derive the ecological security pattern of a territory.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Planning layers by catalogue kind id (``ecological_redline``, ``nature_reserve``,
        ``land_cover``, ``river`` …), EPSG:4490.
    territory : GeoDataFrame
        Territory polygon(s), EPSG:4490. Cells outside are impassable.
    table : dict
        The ``[pattern]`` table of ``layers/catalog.toml`` (missing values from :data:`DEFAULTS`).
    dem : str or Path, optional
        DEM raster (any CRS) for the slope factor.
    resistance : str or Path, optional
        A user resistance GeoTIFF, used instead of building one from the table.
    cell_m : float, optional
        Cell size in metres (default ``table["cell_m"]``).
    cutoff : float, optional
        Corridor width as cost, resistance × m (default ``table["cutoff"]``).
    progress : callable, optional
        ``progress(step_name, done, total)`` after each step of :data:`STEPS`.

    Returns
    -------
    PatternResult
    """
    t = {**DEFAULTS, **table}
    cell_m = float(cell_m or t["cell_m"])
    cutoff = float(cutoff if cutoff is not None else t["cutoff"])
    steps = _Steps(progress)
    with steps.step("grid"):
        grid = grid_for(territory, cell_m)
    with steps.step("resistance"):
        res = _resistance(t, layers, grid, territory, dem, resistance)
    with steps.step("sources"):
        src = sources.find_sources(t, layers, grid, np.isfinite(res))
    with steps.step("allocation"):
        _, zone = corridors.allocate(corridors.step_costs(res, cell_m), src.labels)
        pairs = corridors.adjacent_pairs(zone)
    with steps.step("corridors"):
        cor = corridors.least_cost_corridors(res, cell_m, src.labels, cutoff=cutoff, pairs=pairs, allocation=zone)
    with steps.step("circuit"):
        circ = circuit.corridor_circuits(res, src.labels, cor, cell_m=cell_m, neighbours=int(t["neighbours"]),
                                         percentile=float(t["pinch_percentile"]))
    with steps.step("nodes"):
        node_df = nodes.find_nodes(cor.paths, src.labels, src.stepping, cell_m,
                                   stepping_distance_m=float(t["stepping_stone_distance_m"]))
    with steps.step("importance"):
        importance = _importance(src, cor, grid, np.isfinite(res))
    with steps.step("result"):
        result = _assemble(grid, res, src, cor, circ, node_df, importance, cutoff)
    result.timings = steps.timings
    return result


def _resistance(t, layers, grid, territory, dem, user_path):
    if user_path is None:
        return resistance.build_resistance(t, layers, grid, territory, dem=dem).values
    values = resistance.load_resistance(user_path, grid)
    values[~rasterize(territory, grid).astype(bool)] = np.nan
    return values


def _importance(src, cor, grid, passable) -> pd.DataFrame:
    ids = src.table["id"].to_list()
    out = pd.DataFrame({"id": ids})
    if not ids:
        return out.assign(dPC=[], dIIC=[], cf_betweenness=[])
    links = [(int(r.from_id) - 1, int(r.to_id) - 1, float(r.cost)) for r in cor.table.itertuples()]
    imp = sources.connectivity_importance(src.table["area_m2"].to_numpy(), links, float(passable.sum()) * grid.cell_area_m2)
    out["dPC"], out["dIIC"] = imp["dPC"].to_numpy(), imp["dIIC"].to_numpy()
    out["cf_betweenness"] = nodes.source_centrality(ids, cor.table).reindex(ids).to_numpy()
    return out


def _assemble(grid, res, src, cor, circ, node_df, importance, cutoff) -> PatternResult:
    src_poly = polygons_from_labels(src.labels, grid).rename(columns={"label": "id"})
    src_attr = src.table.merge(importance, on="id", how="left")
    sources_gdf = src_poly.merge(src_attr, on="id", how="right")
    sources_gdf["computed"] = 1
    sources_gdf = gpd.GeoDataFrame(sources_gdf, geometry="geometry", crs=src_poly.crs)

    ctab = cor.table.merge(circ.table[["corridor_id", "effective_resistance"]], on="corridor_id", how="left")
    corridors_gdf = to_output(ctab, [path_line(cor.paths[c], grid) for c in ctab.corridor_id], grid)
    ztab = ctab[["corridor_id", "from_id", "to_id", "zone_cells"]].copy()
    ztab["area_m2"] = ztab["zone_cells"] * grid.cell_area_m2
    ztab["cutoff"] = cutoff
    zones_gdf = to_output(ztab, [zone_polygon(cor.zones[c], grid) for c in ztab.corridor_id], grid)
    pinch_gdf = to_output(circ.pinch, cell_points(circ.pinch["row"].to_numpy(), circ.pinch["col"].to_numpy(), grid), grid)
    nodes_gdf = to_output(node_df, cell_points(node_df["row"].to_numpy(), node_df["col"].to_numpy(), grid), grid)
    summary = _summary(grid, res, sources_gdf, corridors_gdf, pinch_gdf, nodes_gdf, src, cor, cutoff)
    return PatternResult(grid, res, sources_gdf, corridors_gdf, zones_gdf, pinch_gdf, nodes_gdf,
                         cor.nlcc, circ.current, summary)


def _summary(grid, res, sources_gdf, corridors_gdf, pinch_gdf, nodes_gdf, src, cor, cutoff) -> pd.DataFrame:
    junctions = int((nodes_gdf["node_type"] == "junction").sum()) if len(nodes_gdf) else 0
    rows = [
        ("网格单元", "grid cell", grid.cell_m, "m"),
        ("网格坐标系", "grid CRS", f"EPSG:{grid.crs.to_epsg()}", ""),
        ("可通行单元数", "passable cells", int(np.isfinite(res).sum()), "cells"),
        ("生态源地数量", "sources", len(sources_gdf), ""),
        ("生态源地面积（网格面积）", "source area (grid area)", float(sources_gdf["area_km2"].sum()) if len(sources_gdf) else 0.0, "km²"),
        ("未达最小面积的核心斑块", "core patches below the minimum area", len(src.dropped), ""),
        ("相邻源地对", "adjacent source pairs", len(cor.pairs), ""),
        ("生态廊道数量", "corridors", len(corridors_gdf), ""),
        ("舍弃的相邻对（穿越其他源地或不可达）", "pairs dropped (intermediate source or unreachable)", len(cor.dropped), ""),
        ("廊道总长度", "total corridor length", float(corridors_gdf["length_m"].sum()) / 1000 if len(corridors_gdf) else 0.0, "km"),
        ("廊道宽度阈值（累积阻力）", "corridor cutoff (cost)", cutoff, "resistance × m"),
        ("夹点数量", "pinch points", len(pinch_gdf), ""),
        ("廊道交汇节点", "junction nodes", junctions, ""),
        ("踏脚石节点", "stepping-stone nodes", len(nodes_gdf) - junctions, ""),
    ]
    return pd.DataFrame(rows, columns=["指标", "metric", "数值 value", "单位 unit"])
