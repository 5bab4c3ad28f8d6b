"""Writers of the compliance reviews: the farmland balance (占补平衡) and the red-line ledger (一本账).

CSV, workbook, HTML (every string escaped), JSON and GeoPackage of the results they are given.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd

from spatial.analysis.balance import HEADERS as BALANCE_HEADERS
from spatial.analysis.balance import BalanceResult
from spatial.analysis.ledger import HEADERS as LEDGER_HEADERS
from spatial.analysis.ledger import LedgerResult
from spatial.outputs.html import html_page, html_table
from spatial.outputs.tables import write_csv, write_excel, write_gpkg

__all__ = ["write_balance_outputs", "write_ledger_outputs"]


def _verdict_table(result: BalanceResult) -> pd.DataFrame:
    d = result.to_dict()
    items = [
        ("补充减占用面积 compensated − occupied m²", d["difference_m2"]),
        ("面积不减少 area not less", "是 yes" if result.area_ok else "否 no"),
        ("质量不降低 grade not worse", "是 yes" if result.grade_ok else "否 no"),
        ("等别约定 grade convention", result.settings["grade_convention"]),
        ("结论 verdict", result.verdict),
    ]
    return pd.DataFrame(items, columns=["item", "value"])


def _bilingual(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: BALANCE_HEADERS.get(c, c) for c in df.columns})


def _page_and_json(stem: Path, title: str, body: str, data: dict) -> dict[str, Path]:
    """STEM.html (the bilingual page) and STEM.json (the result for programs)."""
    page, js = stem.with_suffix(".html"), stem.with_suffix(".json")
    page.write_text(html_page(title, body), encoding="utf-8")
    js.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"html": page, "json": js}


def write_balance_outputs(result: BalanceResult, out_dir: str | Path) -> dict[str, Path]:
    """balance.csv (one row per side), balance_verdict.csv, balance_parcels.csv, balance.xlsx, balance.html,
    balance.json and balance_patches.gpkg (the compensation patches)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # CSVs with the stable column ids (programs); workbook and page bilingual (people)
    paths = {"csv": write_csv(result.table, out / "balance.csv"),
             "verdict.csv": write_csv(_verdict_table(result), out / "balance_verdict.csv"),
             "parcels.csv": write_csv(result.parcels, out / "balance_parcels.csv")}
    sides, verdict = _bilingual(result.table), _bilingual(_verdict_table(result))
    parcels = _bilingual(result.parcels)
    paths["xlsx"] = write_excel({"balance": sides, "verdict": verdict, "parcels": parcels}, out / "balance.xlsx")
    s = result.settings
    intro = (f"规则 rule: {s['rule']}; 等别字段 grade field: {s['grade_field']} "
             f"({s['grade_convention']}); 面积算法 area method: {s['area_method']}; "
             f"连片 contiguity: {s['contiguity']}")
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in result.notes)
    body = (f"<p>{html.escape(intro)}</p>{html_table(sides)}<h2>结论 Verdict</h2>{html_table(verdict)}{notes}"
            f"<h2>地块 Parcels</h2>{html_table(parcels)}")
    paths |= _page_and_json(out / "balance", "耕地占补平衡 Farmland occupation–compensation balance", body,
                            result.to_dict())
    if len(result.patches):
        paths["gpkg"] = write_gpkg({"compensation_patches": result.patches}, out / "balance_patches.gpkg")
    return paths


def write_ledger_outputs(result: LedgerResult, out_dir: str | Path) -> dict[str, Path]:
    """ledger.csv, ledger.xlsx, ledger.html, ledger.json and ledger.gpkg (the change pieces, layer ``changes``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = result.rows.rename(columns=LEDGER_HEADERS)   # people read it bilingual; the CSV keeps the ids
    paths = {"csv": write_csv(result.rows, out / "ledger.csv"), "xlsx": write_excel({"ledger": table}, out / "ledger.xlsx")}
    s = result.settings
    flagged = "、".join(result.flagged) or "无 none"
    intro = (f"图层 layer: {s['layer']}; 版本 versions: {s['versions']}; 规则 rule: {s['rule']}; "
             f"面积算法 area method: {s['area_method']}; 总体结论 overall ({s['overall']}): {result.verdict}; "
             f"面积减少的单位 units losing area: {flagged}")
    body = f"<p>{html.escape(intro)}</p>{html_table(table)}"
    paths |= _page_and_json(out / "ledger", "一本账 Ledger of versions", body, result.to_dict())
    if len(result.pieces):
        paths["gpkg"] = write_gpkg({"changes": result.pieces}, out / "ledger.gpkg")
    return paths
