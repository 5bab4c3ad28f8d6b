"""Table writers for results: CSV, Excel, GeoPackage, Markdown, and the bundle of them all. Writers never compute."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.geo.crs import CGCS2000
from spatial.outputs.html import html_page, html_table

__all__ = ["HEADERS", "bilingual", "markdown_table", "write_csv", "write_excel", "write_gpkg", "write_tables"]

GEOGRAPHIC = CGCS2000


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV in UTF-8 with BOM, so that Excel on a Chinese Windows opens the Chinese text correctly."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8-sig")
    return path

def write_excel(sheets: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """One workbook, one sheet per table (sheet names cut to Excel's 31 characters), header row frozen.

    XlsxWriter streams the cells; openpyxl, which pandas would otherwise use, keeps every cell as a Python
    object and took most of a 100 000-project check's run. The cells are written row by row straight from
    the columns (:func:`_write_sheet`): pandas' ``to_excel`` builds a styled cell object per value, 40 s of
    the 60 s default CLI run at 100 000 projects against 18 s this way (scripts/bench_results/), with the
    same values as ``to_excel`` (empty cells for NaN and None, ``inf`` as text, a bold bordered header).
    Sheets with date, time or categorical columns still go through ``to_excel``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": {"nan_inf_to_errors": True}}) as writer:
        header = writer.book.add_format({"bold": True, "border": 1, "align": "center", "valign": "top"})
        for name, df in sheets.items():
            if _plain(df):
                sheet = writer.book.add_worksheet(name[:31])
                _write_sheet(sheet, df, header)
            else:
                df.to_excel(writer, sheet_name=name[:31], index=False)
                sheet = writer.sheets[name[:31]]
            sheet.freeze_panes(1, 0)
            for i, col in enumerate(df.columns):
                width = min(60, max(10, len(str(col)) + 2, *(len(str(v)) + 2 for v in df[col].head(200))))
                sheet.set_column(i, i, width)
    return path


def _plain(df: pd.DataFrame) -> bool:
    """Only numbers, booleans, text and missing values (no dates, no categories, flat column names)."""
    if isinstance(df.columns, pd.MultiIndex):
        return False
    return all(dt.kind in "fiubO" and not isinstance(dt, pd.CategoricalDtype) for dt in df.dtypes)


def _cells(col: pd.Series) -> list[Any]:
    """A column as Python values for the sheet: None for NaN / None / NA, 'inf' / '-inf' for infinities."""
    values = np.array(col.astype(object), dtype=object)          # a writable copy (pandas views are read-only)
    missing = col.isna().to_numpy()
    if col.dtype.kind == "f":
        inf = np.isinf(col.to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            values[inf] = np.where(col.to_numpy(dtype=float, na_value=np.nan)[inf] > 0, "inf", "-inf")
    values[missing] = None
    return values.tolist()


def _write_sheet(sheet: Any, df: pd.DataFrame, header: Any) -> None:
    """Header and rows of ``df`` into an XlsxWriter worksheet, as ``to_excel(index=False)`` writes them."""
    sheet.write_row(0, 0, [str(c) for c in df.columns], header)
    write_string, write_number, write_boolean = sheet.write_string, sheet.write_number, sheet.write_boolean
    cols = [_cells(df[c]) for c in df.columns]
    for r, row in enumerate(zip(*cols), start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                write_string(r, c, value)
            elif isinstance(value, (bool, np.bool_)):
                write_boolean(r, c, bool(value))
            elif isinstance(value, (int, float, np.integer, np.floating)):
                if isinstance(value, (float, np.floating)) and not np.isfinite(value):
                    write_string(r, c, "inf" if value > 0 else "-inf")
                else:
                    write_number(r, c, value)
            else:
                write_string(r, c, str(value))

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


# Bilingual headers of every table written by the indicator commands (internal column -> header).
HEADERS: dict[str, str] = {
    "indicator_id": "指标代码 indicator id",
    "indicator": "指标 indicator",
    "unit_kind": "单位类型 unit kind",
    "unit_code": "代码 code",
    "unit": "单位 unit",
    "terrain_class": "地形类别 terrain class",
    "value": "值 value",
    "value_unit": "计量 measure",
    "area_km2": "面积 area km²",
    "unit_area_km2": "单位面积 unit area km²",
    "target_label": "目标年份 target year",
    "target": "目标 target",
    "target_value": "目标值 target value",
    "status": "状态 status",
    "margin": "差额 margin",
    "margin_unit": "差额单位 margin unit",
    "reported": "规划报告值 reported",
    "source": "来源 source",
    "source_ref": "出处 reference",
    "coverage": "覆盖 coverage %",
    "note": "说明 note",
    "kind": "图层 kind",
    "kind_label": "类型 type",
    "precedence": "优先顺序 precedence (1 = strictest)",
    "flat_km2": "归属面积 flattened area km²",
    "raw_km2": "本类合并面积 own union area km²",
    "share_of_unit": "占单位比例 share of unit %",
    "share_of_union": "占合并比例 share of union %",
    "name": "名称 name",
    "mine_status": "状态 mine status",
    "abandoned": "废弃 abandoned",
    "area_ha": "面积 area ha",
    "area_m2": "面积 area m²",
    "check": "检查项 check",
    "check_label": "检查 check",
    "layer_a": "图层A layer A",
    "layer_b": "图层B layer B",
    "pieces": "图斑数 pieces",
    "sliver_pieces": "碎片数 slivers",
    "sliver_m2": "碎片面积 sliver area m²",
    "area_mu": "面积 area 亩",
    "old_km2": "旧版面积 old km²",
    "new_km2": "新版面积 new km²",
    "added_km2": "新增 added km²",
    "removed_km2": "减少 removed km²",
    "net_km2": "净变化 net km²",
    "sliver_added_m2": "碎片新增 sliver added m²",
    "sliver_removed_m2": "碎片减少 sliver removed m²",
    "real_added_km2": "实际新增 real added km²",
    "real_removed_km2": "实际减少 real removed km²",
    "real_net_km2": "实际净变化 real net km²",
    "verdict": "结论 verdict",
    "change": "变化 change",
    "sliver": "碎片 sliver",
    "perimeter_m": "周长 perimeter m",
    "pieces_added": "新增图斑 pieces added",
    "pieces_removed": "减少图斑 pieces removed",
    "state": "修复状态 restoration state",
    "mean_width_m": "平均宽度 mean width m",
    "needing": "需治理 needing treatment",
    "restored": "已修复 restored",
    "restoring": "修复中 restoring",
    "not_restored": "未修复 not restored",
}

def bilingual(df: pd.DataFrame) -> pd.DataFrame:
    """The table with bilingual headers (指标 indicator, 单位 unit, 值 value …)."""
    return df.rename(columns={c: HEADERS.get(c, c) for c in df.columns})

def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:,.{digits}f}"
    if isinstance(v, (bool, np.bool_)):
        return "是 yes" if v else "否 no"
    return str(v)

def markdown_table(df: pd.DataFrame, *, digits: int = 2) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped, numbers rounded)."""
    def cell(v: Any) -> str:
        return _fmt(v, digits).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in cols) + " |",
             "| " + " | ".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"

def write_tables(out_dir: str | Path, stem: str, title: str, sheets: Mapping[str, pd.DataFrame],
                 layers: Mapping[str, gpd.GeoDataFrame] | None = None, *, intro: str = "") -> dict[str, Path]:
    """CSV per table, one Excel workbook, Markdown and HTML of all tables, a GeoPackage of the pieces."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    bil = {name: bilingual(df) for name, df in sheets.items()}
    for name, df in bil.items():
        paths[f"{name}.csv"] = write_csv(df, out / f"{stem}_{name}.csv" if name != stem else out / f"{stem}.csv")
    paths["xlsx"] = write_excel(bil, out / f"{stem}.xlsx")
    md = [f"# {title}\n"]
    if intro:
        md.append(intro + "\n")
    body = [f"<p>{intro}</p>"] if intro else []
    for name, df in bil.items():
        md.append(f"## {name}\n\n" + markdown_table(df))
        body.append(f"<h2>{name}</h2>" + html_table(df))
    md_path = out / f"{stem}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    paths["md"] = md_path
    html_path = out / f"{stem}.html"
    html_path.write_text(html_page(title, "\n".join(body)), encoding="utf-8")
    paths["html"] = html_path
    if layers:
        paths["gpkg"] = write_gpkg({k: _gpkg_ready(v) for k, v in layers.items()}, out / f"{stem}.gpkg")
    return paths

def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy ready for GeoPackage: CRS set, polygons promoted to multipolygons (one geometry type per layer)."""
    gdf = gdf.copy()
    if gdf.crs is None:
        gdf = gdf.set_crs(GEOGRAPHIC)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if len(geoms):
        single = shapely.get_type_id(geoms) == 3
        if single.any():
            geoms = geoms.copy()
            geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf
