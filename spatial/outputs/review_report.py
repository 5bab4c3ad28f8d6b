"""Writers of the 三区三线 consistency and the version change: CSV, workbook, Markdown, HTML and GeoPackage."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from spatial.analysis.conflicts import ConflictResult
from spatial.analysis.versions import ADDED, REMOVED, DiffResult
from spatial.outputs.tables import write_tables

__all__ = ["write_conflict_outputs", "write_diff_outputs"]


def write_conflict_outputs(result: ConflictResult, out_dir: str | Path) -> dict[str, Path]:
    """conflicts.csv, .xlsx, .md, .html and conflicts.gpkg (one layer of pieces per check kind)."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    if len(result.pieces):
        for prefix in ("overlap", "zone_gap", "zone_overlap", "zone_outside", "line_outside"):
            sel = result.pieces[result.pieces["check"].str.split(":").str[0] == prefix]
            if len(sel):
                layers[prefix] = sel
    s = result.settings
    intro = (f"面积算法 area method: {s['area_method']}; 碎片 slivers: < {s['sliver_m2']:g} m² 或 or mean width "
             f"< {s['sliver_width_m']:g} m (reported apart)"
             + ("; 示意数据，非官方 illustrative data, not official" if s.get("illustrative") else ""))
    return write_tables(out_dir, "conflicts", "三区三线一致性 Three zones, three lines: consistency",
                        {"conflicts": result.summary}, layers, intro=intro)


def write_diff_outputs(result: DiffResult, out_dir: str | Path) -> dict[str, Path]:
    """diff.csv, .xlsx, .md, .html and diff.gpkg (layers removed, added)."""
    layers = {}
    for name, change in (("removed", REMOVED), ("added", ADDED)):
        sel = result.pieces[result.pieces["change"] == change]
        layers[name] = sel if len(sel) else result.pieces.iloc[0:0]
    s = result.settings
    intro = (f"{s.get('kind', '')}: {s.get('old', 'OLD')} → {s.get('new', 'NEW')}; 规则 rule: {s['rule']}; "
             f"面积算法 area method: {s['area_method']}; 碎片 slivers: < {s['sliver_m2']:g} m² 或 or mean width "
             f"< {s['sliver_width_m']:g} m, reported apart and not counted as real change")
    return write_tables(out_dir, "diff", "版本对比 Version change", {"diff": result.summary}, layers, intro=intro)
