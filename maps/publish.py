"""`spatial publish`: a static site that opens from the file system — a bilingual index page, the workspace
map, the ecological-security-pattern map, the check map and report of the workspace's sample projects
(spatial.analysis.check) and the indicator tables (spatial.analysis.indicators). The analyses are called through their public
APIs; this module only lays their results out."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from maps.layers import DEFAULT_SIMPLIFY_M
from maps.popups import is_illustrative
from maps.render import (
    MapResult,
    pattern_map,
    resolve_basemap,
    workspace_map,
    write_check_map,
)
from spatial.outputs.check_report import write_check_outputs
from spatial.outputs.html import html_table
from spatial.outputs.compliance_report import write_balance_outputs, write_ledger_outputs
from spatial.outputs.indicator_report import write_indicator_outputs
from spatial.outputs.pattern_report import write_pattern_outputs
from spatial.outputs.record import NOT_CHECKED, PROJECT_SCOPE, set_aside_count
from spatial.outputs.tables import bilingual

if TYPE_CHECKING:  # pragma: no cover
    from spatial.analysis.check import CheckResult
    from spatial.analysis.indicators import IndicatorResult
    from spatial.analysis.balance import BalanceResult
    from spatial.analysis.ledger import LedgerResult
    from spatial.analysis.pattern import PatternResult
    from spatial.sources.workspace import Workspace


@dataclass
class Page:
    key: str
    title: str
    path: Path
    description: str = ""
    size: int | None = None


@dataclass
class PublishResult:
    out: Path
    index: Path
    pages: list[Page] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    check: Any = None  # the spatial.analysis.check.CheckResult laid out, when there was one
    indicators: Any = None  # the spatial.analysis.indicators result laid out, when there was one
    files: dict[str, list[Path]] = field(default_factory=dict)  # other files written, by result

    def page(self, key: str) -> Page | None:
        return next((p for p in self.pages if p.key == key), None)


INDEX_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;color:#222;background:#f7f7f4}
header{background:#1b4d2e;color:#fff;padding:1.2em 2em}
header h1{margin:0 0 .2em;font-size:1.6em} header p{margin:.2em 0;opacity:.9}
main{padding:1em 2em 3em;max-width:1200px}
.warn{background:#fde0dd;color:#8b0000;padding:.6em 1em;border-radius:4px;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:1em;margin:1em 0}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.card h3{margin:.1em 0 .4em;font-size:1.1em} .card a{color:#1b5e20;font-weight:600}
.card small{color:#666}
table.data{border-collapse:collapse;margin:1em 0;font-size:.9em;background:#fff}
table.data th,table.data td{border:1px solid #bbb;padding:.3em .6em;text-align:left;vertical-align:top}
table.data th{background:#eef3ee}
footer{color:#666;font-size:.85em;padding:1em 2em;border-top:1px solid #ddd}
"""


def _kb(n: int | None) -> str:
    return f"{n / 1024:,.0f} KB" if n else ""


def _rel(path: Path, base: Path) -> str:
    return path.relative_to(base).as_posix()


def publish(
    ws: "Workspace",
    out_dir: str | Path,
    *,
    basemap: str | None = None,
    offline: bool = False,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    tianditu_key: str | None = None,
    check_result: "CheckResult | None" = None,
    indicators: "IndicatorResult | None" = None,
    pattern: "PatternResult | None" = None,
    balance: "BalanceResult | None" = None,
    ledger: "LedgerResult | None" = None,
    progress: Callable[[str], None] | None = None,
) -> PublishResult:
    """Write the site into ``out_dir`` and return what was written (index.html first).

    Parameters
    ----------
    ws : Workspace
        The workspace whose layers are drawn.
    out_dir : str or Path
        The site's folder.
    basemap, offline, simplify_m, tianditu_key
        As for :func:`maps.render.workspace_map`.
    check_result : CheckResult, optional
        A project check to lay out (check map, report and tables); none: no check pages.
    indicators : IndicatorResult, optional
        Indicators to lay out (tables and the index's summary); none: no indicator pages.
    pattern : PatternResult, optional
        A derived ecological security pattern, drawn beside the plan's on the pattern map, with its files
        (pattern.gpkg, the rasters, the tables) in ``pattern/``.
    balance, ledger : optional
        The farmland occupation–compensation balance and the red-line ledger, written to ``balance/`` and
        ``ledger/`` with a page each.
    progress : callable, optional
        ``progress(message)`` before each page.

    Returns
    -------
    PublishResult

    Notes
    -----
    The site draws the results it is given and never computes an analysis; a failure while writing is
    raised, not hidden.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resolve_basemap(basemap, offline, tianditu_key)  # fail early on a bad basemap / key
    say = progress or (lambda _msg: None)
    res = PublishResult(out=out, index=out / "index.html", check=check_result, indicators=indicators)
    kw: dict[str, Any] = dict(basemap=basemap, offline=offline, simplify_m=simplify_m, tianditu_key=tianditu_key)
    say("地图 workspace map")
    m: MapResult = workspace_map(ws, **kw)
    m.save(out / "maps" / "workspace.html")
    res.pages.append(Page("workspace", "规划图层总图 Planning layers map", m.path,
                          "工作空间全部图层，可逐层开关、查询属性、量算距离面积。 Every layer of the workspace: "
                          "toggle, inspect attributes, measure.", m.size))
    if pattern is not None or any(k in ws.layers for k in ("eco_source", "eco_corridor", "eco_node")):
        say("地图 pattern map")
        p = pattern_map(ws, computed=pattern, **kw)
        p.save(out / "maps" / "pattern.html")
        computed = (f"；计算格局：{len(pattern.sources)} 个源地、{len(pattern.corridors)} 条廊道、"
                    f"{len(pattern.pinch_points)} 个夹点 computed: {len(pattern.sources)} sources, "
                    f"{len(pattern.corridors)} corridors, {len(pattern.pinch_points)} pinch points") if pattern else ""
        res.pages.append(Page("pattern", "生态安全格局 Ecological security pattern", p.path,
                              "规划的生态源地、廊道与节点" + computed + "。 Sources, corridors and nodes.", p.size))
    if pattern is not None:
        res.files["pattern"] = write_pattern_outputs(pattern, out / "pattern")
    if check_result is not None:
        say("检查 check")
        res.pages.extend(_check_pages(check_result, out / "check", ws, kw))
    res.pages.extend(_review_pages(balance, ledger, out))
    indicator_html = ""
    if indicators is not None:
        say("指标 indicators")
        page, indicator_html = _indicator_pages(indicators, out / "indicators")
        res.pages.extend(page)
    res.index.write_text(_index_html(ws, res, indicator_html, m), encoding="utf-8")
    return res


def _check_pages(result: "CheckResult", check_dir: Path, ws: "Workspace", kw: dict[str, Any]) -> list[Page]:
    """The check map, the report (with the map) and the check's tables."""
    path, frag = write_check_map(result, check_dir, ws, **kw)
    files = write_check_outputs(result, check_dir, map_html=frag)
    counts = result.summary["verdict"].value_counts()
    summary = "；".join(f"{v} {int(counts.get(v, 0))}" for v in result.verdicts.order)
    not_checked = set_aside_count(result).get(PROJECT_SCOPE, 0)
    if not_checked:  # set aside when reading: no verdict, but they must not vanish from the index either
        summary += f"；{NOT_CHECKED} {not_checked}"
    report = Path(files["report.html"])
    return [Page("check_map", "项目检查地图 Check map", path,
                 f"示例项目按结论着色，重叠部分高亮。 Sample projects by verdict ({summary}).", path.stat().st_size),
            Page("check_report", "项目检查报告 Check report", report,
                 "逐项结论、重叠面积与依据，含地图。 Verdicts, overlaps and rules, with the map.", report.stat().st_size)]


def _review_pages(balance: "BalanceResult | None", ledger: "LedgerResult | None", out: Path) -> list[Page]:
    """Pages of the compliance reviews the caller computed: 占补平衡 and 一本账."""
    pages = []
    if balance is not None:
        page = Path(write_balance_outputs(balance, out / "balance")["html"])
        pages.append(Page("balance", "耕地占补平衡 Farmland occupation–compensation balance", page,
                          f"结论 verdict: {balance.verdict}", page.stat().st_size))
    if ledger is not None:
        page = Path(write_ledger_outputs(ledger, out / "ledger")["html"])
        pages.append(Page("ledger", "生态保护红线一本账 Red-line ledger", page,
                          f"面积不减少 area not reduced: {ledger.verdict}", page.stat().st_size))
    return pages


def _indicator_pages(ind: "IndicatorResult", out: Path) -> tuple[list[Page], str]:
    """The indicator tables, and the short table the index shows."""
    files = write_indicator_outputs(ind, out)
    page = Path(files["html"])
    cols = [c for c in ("indicator", "unit", "value", "value_unit", "target_label", "target", "status")
            if c in ind.table.columns]
    return ([Page("indicators", "指标表 Indicator tables", page,
                  "面积占比指标与规划目标对照。 Area-share indicators against the plans' targets.", page.stat().st_size)],
            html_table(bilingual(ind.table[cols])))


def _index_html(ws: "Workspace", res: PublishResult, indicator_html: str, m: MapResult) -> str:
    name_zh = ws.settings.get("name_zh", "") or ws.path.name
    name_en = ws.settings.get("name_en", "")
    cards = []
    for p in res.pages:
        cards.append(f'<div class="card"><h3><a href="{html.escape(_rel(p.path, res.out))}">{html.escape(p.title)}</a></h3>'
                     f"<p>{html.escape(p.description)}</p><small>{html.escape(_rel(p.path, res.out))} · {_kb(p.size)}</small></div>")
    rows = []
    for kind_id, layer in ws.layers.items():
        illus = ""
        if "illustrative" in layer.gdf.columns:
            n = int(layer.gdf["illustrative"].map(is_illustrative).sum())
            illus = "示意 illustrative" if n == len(layer.gdf) and n else ("真实 real" if n == 0 else f"{n} 示意 illustrative")
        rows.append({"图层 kind": kind_id, "名称 name": layer.kind.label, "分组 group": layer.kind.group,
                     "要素数 features": f"{len(layer.gdf):,d}", "数据性质 data": illus,
                     "文件 file": f"{layer.read.name}:{layer.read.layer or ''}"})
    layer_table = html_table(pd.DataFrame(rows)) if rows else ""
    warn = ('<p class="warn">本工作空间含示意数据，非官方数据，仅供演示。 This workspace holds illustrative layers, '
            "not official data; for demonstration only.</p>") if ws.illustrative else ""
    offline = ("离线自包含：地图不请求任何网络资源。 Offline and self-contained: the maps make no network request."
               if m.offline else f"底图 Basemap: {html.escape(m.basemap.label)}（需联网 needs the network）。")
    simp = (f"地图图形按 {m.simplify_m:g} m 容差简化显示；面积与指标均按原始数据计算。 Map geometry simplified at "
            f"{m.simplify_m:g} m for display; areas and indicators come from the full data." if m.simplify_m else "")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in res.notes)
    ind = f"<h2>指标 Indicators</h2>{indicator_html}" if indicator_html else ""
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(name_zh)} {html.escape(name_en)} — 生态空间规划 Ecological spatial planning</title>
<style>{INDEX_CSS}</style></head><body>
<header><h1>{html.escape(name_zh)} <small>{html.escape(name_en)}</small></h1>
<p>生态空间规划成果 Ecological spatial-planning results · {date.today().isoformat()}</p></header>
<main>{warn}
<h2>地图与报告 Maps and reports</h2>
<div class="cards">{''.join(cards)}</div>
<p>{offline} {simp}</p>
{ind}
<h2>图层 Layers</h2>{layer_table}
{'<h2>提示 Notes</h2><ul>' + notes + '</ul>' if notes else ''}
</main>
<footer>由 eco-spatial-planning 生成 Made with the eco-spatial-planning toolkit. 坐标 CGCS2000 (EPSG:4490).</footer>
</body></html>
"""
