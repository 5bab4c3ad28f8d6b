"""Writers of the indicator result: CSV per table, the workbook, Markdown, HTML and the GeoPackage."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from spatial.analysis.indicators import IndicatorResult
from spatial.outputs.tables import bilingual, markdown_table, write_tables

__all__ = ["indicators_markdown", "write_indicator_outputs"]

_README_COLUMNS = ["indicator", "unit", "value", "target", "status", "margin", "margin_unit", "reported",
                   "source_ref"]

def indicators_markdown(table: pd.DataFrame, *, columns: Sequence[str] = _README_COLUMNS, digits: int = 2) -> str:
    """The indicator table as Markdown for a README: bilingual headers, the essential columns."""
    df = table[[c for c in columns if c in table.columns]].copy()
    if "target_label" in table.columns and "target" in df.columns:
        label = table["target_label"].fillna("").astype(str)
        df["target"] = np.where(label != "", label + "年 " + df["target"].astype(str), df["target"])
    return markdown_table(bilingual(df), digits=digits)

def write_indicator_outputs(result: IndicatorResult, out_dir: str | Path) -> dict[str, Path]:
    """indicators.csv / _breakdown / _mines_to_restore, indicators.xlsx, .md, .html, indicators.gpkg."""
    sheets = {"indicators": result.table, "breakdown": result.breakdown}
    restore_cols = [c for c in result.to_restore.columns if c != "geometry"]
    sheets["mines_to_restore"] = pd.DataFrame(result.to_restore[restore_cols])
    layers = {"protected_parts": result.parts, "mines_to_restore": result.to_restore}
    s = result.settings
    intro = (f"工作空间 workspace: {s['workspace']}; 面积算法 area method: {s['area_method']}; "
             f"叠加 overlay: {s['overlay']}"
             + ("; 示意数据，非官方 illustrative data, not official" if s.get("illustrative") else ""))
    return write_tables(out_dir, "indicators", "指标 Indicators", sheets, layers, intro=intro)
