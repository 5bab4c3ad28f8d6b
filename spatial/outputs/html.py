"""HTML pieces shared by every report page: a value, a table and a self-contained bilingual page.

Every string is escaped here, so that names from a file can never become markup.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["html_value", "html_table", "html_page", "rule_citation_html"]


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
        if isinstance(v, (float, np.floating)):  # float32 too: a share never shows 45.4791259765625
            return "" if pd.isna(v) else float_format.format(float(v))
        return html.escape("" if v is None else str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f'<table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'

def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()


def rule_citation_html(rule: Any, rule_zh: Any = "", rule_en: Any = "", source: Any = "", source_title: Any = "",
                       *, compact: bool = False) -> str:
    """A rule as a reader wants it cited: its id, the quoted rule (Chinese, then English) and the document it comes
    from by title, the catalogue's reference (``000:936``: seed file and line) only as a small pointer.

    Parameters
    ----------
    rule, rule_zh, rule_en : str
        Rule id and its text as the catalogue quotes the plan.
    source : str
        The catalogue reference (``000:936``, ``000:975, 000:1091``).
    source_title : str
        The document title with the reference (:meth:`spatial.rules.catalog.Catalog.source_title`).
    compact : bool
        Leave out the English text (map popups).

    Returns
    -------
    str
        Escaped HTML; empty when there is no rule.
    """
    rule, zh, en, ref, title = (_text(v) for v in (rule, rule_zh, rule_en, source, source_title))
    if not rule:
        return ""
    doc = title[: -len(ref)].strip() if ref and title.endswith(ref) else title
    out = f"<b>{html.escape(rule)}</b>"
    if zh:
        out += f" 「{html.escape(zh)}」"
    if en and not compact:
        out += f"<br><i>“{html.escape(en)}”</i>"
    if doc:
        out += f"<br><small>出自 From: {html.escape(doc)}"
        out += f"（目录出处 catalogue ref {html.escape(ref)}）</small>" if ref else "</small>"
    return out


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
