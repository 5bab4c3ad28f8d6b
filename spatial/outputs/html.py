"""HTML pieces shared by every report page: a value, a table and a self-contained bilingual page.

Every string is escaped here, so that names from a file can never become markup.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["html_value", "html_table", "html_page"]


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
