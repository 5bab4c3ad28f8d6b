"""Readable bilingual field names and display values for popups (the attribute table of one feature)."""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

from maps.styles import mine_status_en

# Standard columns of the demo layers and the field names of delivered Chinese planning data
# (三区三线, 第三次国土调查 DLTB …). Unknown columns are shown under their own name.
FIELD_LABELS: dict[str, str] = {
    "name": "名称 Name",
    "name_en": "英文名称 English name",
    "name_zh": "中文名称 Chinese name",
    "code": "代码 Code",
    "illustrative": "数据性质 Data status",
    "note": "说明 Note",
    "source": "来源 Source",
    "status": "状态 Status",
    "abandoned": "废弃矿山 Abandoned mine",
    "after_use": "修复后用途 After-use",
    "mineral": "矿种 Mineral",
    "level": "级别 Level",
    "function": "主导功能 Main function",
    "functions": "主导功能 Main functions",
    "version": "版本 Version",
    "patch_id": "图斑编号 Patch ID",
    "grade": "质量等级 Quality grade",
    "conflict_demo": "冲突示意 Planted conflict (demo)",
    "zone_class": "分区类型 Zone class",
    "location": "位置 Location",
    "layout": "空间布局 Layout",
    "source_name": "水源名称 Water source",
    "source_type": "源地类型 Source type",
    "corridor_type": "廊道类型 Corridor type",
    "drawn": "绘制方式 How drawn",
    "node_type": "节点类型 Node type",
    "wdb_id": "WDB II 编号 WDB II id",
    "project_type": "项目类型 Project type",
    "plan_ref": "规划依据 Plan reference",
    "area_m2": "面积 Area (m²)",
    "area_ha": "面积 Area (公顷 ha)",
    # delivered data (国土调查 / 三区三线)
    "BSM": "标识码 BSM (feature id)",
    "YSDM": "要素代码 YSDM (feature code)",
    "DLBM": "地类编码 DLBM (land-class code)",
    "DLMC": "地类名称 DLMC (land class)",
    "QSDWDM": "权属单位代码 QSDWDM (owner code)",
    "QSDWMC": "权属单位名称 QSDWMC (owner)",
    "ZLDWDM": "坐落单位代码 ZLDWDM (location code)",
    "ZLDWMC": "坐落单位名称 ZLDWMC (location)",
    "TBBH": "图斑编号 TBBH (parcel no.)",
    "TBMJ": "图斑面积 TBMJ (parcel area, m²)",
    "XZQDM": "行政区代码 XZQDM (admin code)",
    "XZQMC": "行政区名称 XZQMC (admin unit)",
    "XMMC": "项目名称 XMMC (project)",
    "HXMC": "红线名称 HXMC (red-line name)",
    "HXLX": "红线类型 HXLX (red-line type)",
    "MC": "名称 MC (name)",
    "MJ": "面积 MJ (area)",
    "BZ": "备注 BZ (remarks)",
    "名称": "名称 Name",
    "项目名称": "项目名称 Project",
}

# Columns never listed in popups: internal helpers and geometry.
HIDDEN_FIELDS = {"geometry", "geom", "fid", "ogc_fid", "OBJECTID", "Shape_Length", "Shape_Area", "SHAPE_Leng",
                 "SHAPE_Area"}

ILLUSTRATIVE_TEXT = "示意数据 illustrative（非官方 not official）"
REAL_TEXT = "真实数据 real data"


def field_label(column: str) -> str:
    return FIELD_LABELS.get(column, FIELD_LABELS.get(column.upper(), column))


def is_illustrative(value: Any) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "是", "示意")
    try:
        return bool(int(value))
    except (TypeError, ValueError):
        return False


def display_value(column: str, value: Any) -> str | None:
    """The text a popup shows for a value (None: leave the row out)."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
    if value is pd.NaT:
        return None
    if column == "illustrative":
        return ILLUSTRATIVE_TEXT if is_illustrative(value) else REAL_TEXT
    if column in ("abandoned", "conflict_demo"):
        try:
            return "是 yes" if int(value) else "否 no"
        except (TypeError, ValueError):
            pass
    if column == "status" and isinstance(value, str) and value.strip() in mine_status_en():
        return f"{value.strip()} {mine_status_en()[value.strip()]}"
    if isinstance(value, (bool, np.bool_)):
        return "是 yes" if value else "否 no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):d}"
        return f"{v:,.4f}".rstrip("0").rstrip(".") if abs(v) < 1e6 else f"{v:,.2f}"
    if isinstance(value, (bytes, bytearray)):
        return None
    text = str(value).strip()
    return text or None


def popup_table(rows: list[tuple[str, str]], header: list[str] | None = None) -> str:
    """A small escaped HTML table for a popup."""
    head = ""
    if header:
        head = "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead>"
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="pm-table">{head}<tbody>{body}</tbody></table>'
