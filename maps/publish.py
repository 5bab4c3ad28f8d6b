"""`spatial publish`: a static site that opens from the file system — a bilingual index page, the workspace
map, the ecological-security-pattern map, the check map and report of the workspace's sample projects
(spatial.check) and the indicator tables (spatial.indicators). The analyses are called through their public
APIs; this module only lays their results out."""

from __future__ import annotations

import html
import traceback
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from maps.layers import DEFAULT_SIMPLIFY_M
from maps.render import MapResult, pattern_map, resolve_basemap, workspace_map, write_check_map

if TYPE_CHECKING:  # pragma: no cover
    from spatial.workspace import Workspace


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
    check: Any = None  # the spatial.check.CheckResult laid out, when there was one
    indicators: Any = None  # the spatial.indicators result laid out, when there was one

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
    with_check: bool = True,
    with_indicators: bool = True,
    check_result: Any = None,
    indicators: Any = None,
    progress: Callable[[str], None] | None = None,
) -> PublishResult:
    """Write the site into ``out_dir`` and return what was written (index.html first).

    ``check_result`` / ``indicators``: results the caller already computed, laid out instead of computed again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    resolve_basemap(basemap, offline, tianditu_key)  # fail early on a bad basemap / key
    say = progress or (lambda _msg: None)
    res = PublishResult(out=out, index=out / "index.html")
    kw: dict[str, Any] = dict(basemap=basemap, offline=offline, simplify_m=simplify_m, tianditu_key=tianditu_key)

    say("地图 workspace map")
    m: MapResult = workspace_map(ws, **kw)
    m.save(out / "maps" / "workspace.html")
    res.pages.append(Page("workspace", "规划图层总图 Planning layers map", m.path,
                          "工作空间全部图层，可逐层开关、查询属性、量算距离面积。 Every layer of the workspace: "
                          "toggle, inspect attributes, measure.", m.size))

    if any(k in ws.layers for k in ("eco_source", "eco_corridor", "eco_node")):
        say("地图 pattern map")
        p = pattern_map(ws, **kw)
        p.save(out / "maps" / "pattern.html")
        res.pages.append(Page("pattern", "生态安全格局 Ecological security pattern", p.path,
                              "生态源地、廊道与节点。 Sources, corridors and nodes.", p.size))

    indicator_html = ""
    if with_check and ws.projects is not None:
        try:
            from spatial.check import check, write_check_outputs
        except ImportError:  # pragma: no cover - depends on the installed analyses
            res.notes.append("spatial.check 不可用，未生成项目检查 spatial.check not available: no check pages")
        else:
            say("检查 check")
            try:
                result = check_result if check_result is not None else check(ws.projects.gdf, ws)
                res.check = result
                check_dir = out / "check"
                path, frag = write_check_map(result, check_dir, ws, **kw)
                files = write_check_outputs(result, check_dir, map_html=frag)
                counts = result.summary["verdict"].value_counts()
                summary = "；".join(f"{v} {int(counts.get(v, 0))}" for v in
                                    ("prohibited", "needs_approval", "allowed", "no_conflict"))
                res.pages.append(Page("check_map", "项目检查地图 Check map", path,
                                      f"示例项目按结论着色，重叠部分高亮。 Sample projects by verdict ({summary}).",
                                      path.stat().st_size))
                report = files.get("report.html")
                if report is not None:
                    res.pages.append(Page("check_report", "项目检查报告 Check report", Path(report),
                                          "逐项结论、重叠面积与依据，含地图。 Verdicts, overlaps and rules, with the map.",
                                          Path(report).stat().st_size))
            except Exception as exc:  # an analysis failing must not take the maps down with it
                res.notes.append(f"项目检查失败 check failed: {exc}")
                traceback.print_exc()

    if with_indicators:
        try:
            from spatial.indicators import bilingual, indicator_result, write_indicator_outputs
        except ImportError:  # pragma: no cover
            res.notes.append("spatial.indicators 不可用 not available: no indicator tables")
        else:
            say("指标 indicators")
            try:
                ind = indicators if indicators is not None else indicator_result(ws)
                res.indicators = ind
                files = write_indicator_outputs(ind, out / "indicators")
                page = files.get("html")
                if page is not None:
                    res.pages.append(Page("indicators", "指标表 Indicator tables", Path(page),
                                          "面积占比指标与规划目标对照。 Area-share indicators against the plans' targets.",
                                          Path(page).stat().st_size))
                cols = [c for c in ("indicator", "unit", "value", "value_unit", "target_label", "target",
                                    "status") if c in ind.table.columns]
                from spatial.report import html_table

                indicator_html = html_table(bilingual(ind.table[cols]))
            except Exception as exc:
                res.notes.append(f"指标计算失败 indicators failed: {exc}")
                traceback.print_exc()

    res.index.write_text(_index_html(ws, res, indicator_html, m), encoding="utf-8")
    return res


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
            from maps.popups import is_illustrative

            n = int(layer.gdf["illustrative"].map(is_illustrative).sum())
            illus = "示意 illustrative" if n == len(layer.gdf) and n else ("真实 real" if n == 0 else f"{n} 示意 illustrative")
        rows.append({"图层 kind": kind_id, "名称 name": layer.kind.label, "分组 group": layer.kind.group,
                     "要素数 features": f"{len(layer.gdf):,d}", "数据性质 data": illus,
                     "文件 file": f"{layer.read.path.name}:{layer.read.layer or ''}"})
    from spatial.report import html_table

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
