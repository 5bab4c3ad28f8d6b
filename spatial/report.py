"""Writers for results: CSV, Excel, GeoPackage and HTML. Writers never compute."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV in UTF-8 with BOM, so that Excel on a Chinese Windows opens the Chinese text correctly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_excel(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """One workbook, one sheet per table (sheet names cut to Excel's 31 characters), header row frozen.

    XlsxWriter streams the cells; openpyxl, which pandas would otherwise use, keeps every cell as a Python
    object and took most of a 100 000-project check's run."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": {"nan_inf_to_errors": True}}) as writer:
        for name, df in sheets.items():
            df.to_excel(writer, sheet_name=name[:31], index=False)
            sheet = writer.sheets[name[:31]]
            sheet.freeze_panes(1, 0)
            for i, col in enumerate(df.columns):
                width = min(60, max(10, len(str(col)) + 2, *(len(str(v)) + 2 for v in df[col].head(200))))
                sheet.set_column(i, i, width)
    return path


def write_gpkg(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """A GeoPackage with one layer per entry; an existing file is replaced so reruns do not append."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    for name, gdf in layers.items():
        if len(gdf) == 0:
            # GeoPackage needs a geometry type; an empty layer still tells QGIS users the result was empty.
            gdf = gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs)
        gdf.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def html_value(v: Any, digits: int = 2) -> str:
    """A value for an HTML cell: numbers with thousands separators, "—" for missing, text escaped."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,d}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.{digits}f}"
    return html.escape(str(v))


def html_table(df: pd.DataFrame, *, float_format: str = "{:,.2f}", classes: str = "data") -> str:
    """An HTML table with escaped text; numbers formatted for reading."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else float_format.format(v)
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def html_page(title: str, body: str) -> str:
    """A self-contained HTML page (no external CSS or fonts)."""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 1.5em; color: #222; }}
table.data {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
table.data th, table.data td {{ border: 1px solid #bbb; padding: 0.3em 0.6em; }}
table.data th {{ background: #eef3ee; }}
.prohibited {{ color: #b2182b; font-weight: bold; }} .needs_approval {{ color: #d6604d; }}
.allowed {{ color: #1a9850; }} .no_conflict {{ color: #4d4d4d; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{body}
</body></html>
"""
