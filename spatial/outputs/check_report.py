"""The check's outputs: summary.csv, overlaps.csv, check.xlsx, overlaps.gpkg and the bilingual report.html.

Writers format the :class:`~spatial.analysis.check.CheckResult` they are given; they never recompute.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import shapely

from spatial.analysis.check import CheckResult
from spatial.outputs.html import html_page, html_table, html_value
from spatial.outputs.tables import write_csv, write_excel, write_gpkg
from spatial.rules.verdicts import Verdicts

__all__ = ["check_report_html", "write_check_outputs", "XLSX_MAX_ROWS", "HTML_MAX_PROJECTS"]

XLSX_MAX_ROWS = 1_048_575

HTML_MAX_PROJECTS = 200

_AREA_METHOD_LABEL = {
    "official": "国土调查椭球面积（official land-survey ellipsoidal area）",
    "geodesic": "椭球测地线面积 GRS80（geodesic ellipsoidal area, as QGIS with ellipsoid EPSG:7019）",
}


def _verdict_span(v: str, verdicts: Verdicts) -> str:
    return f'<span class="{html.escape(v)}">{html.escape(verdicts.label(v))}</span>'


def check_report_html(result: CheckResult, *, title: str | None = None, map_html: str | None = None,
                      max_projects: int = HTML_MAX_PROJECTS) -> str:
    """The bilingual planner's report as one self-contained HTML page.

    ``map_html``: an HTML fragment (e.g. a folium map from the maps package) placed in the
    ``<section id="check-map">`` hook; without it the section says no map was attached.
    """
    s = result.settings
    verdicts = result.verdicts
    title = title or "项目生态保护红线及管控图层冲突检查 Project check against the red line and constraint layers"
    parts: list[str] = []
    if s.get("workspace"):
        parts.append(f"<p>工作空间 Workspace: <b>{html.escape(str(s['workspace']))}</b></p>")
    if s.get("illustrative"):
        parts.append('<p class="prohibited">注意：本工作空间含示意数据（非官方数据），结论仅供演示。 '
                     "Note: this workspace holds illustrative layers, not official data; verdicts are for demonstration.</p>")
    counts = result.summary["verdict"].value_counts()
    parts.append("<h2>结论汇总 Verdicts</h2><table class=\"data\"><thead><tr><th>结论 Verdict</th><th>项目数 Projects</th>"
                 "</tr></thead><tbody>" + "".join(
                     f"<tr><td>{_verdict_span(v, verdicts)}</td><td>{int(counts.get(v, 0)):,d}</td></tr>" for v in verdicts.ascending) + "</tbody></table>")
    parts.append('<h2>地图 Map</h2><section id="check-map">' + (
        map_html if map_html else "<p><i>未附地图 No map attached (maps package hook: map_html).</i></p>") + "</section>")

    # project overview
    summ = result.summary
    order = summ.assign(_r=summ["verdict"].map(verdicts.rank)).sort_values(["_r", "project_no"], ascending=[False, True])
    shown = order.head(max_projects)
    parts.append("<h2>项目一览 Projects</h2>")
    if len(order) > len(shown):
        parts.append(f"<p>仅列出最严重的 {len(shown):,d} 个项目（共 {len(order):,d} 个），完整结果见 summary.csv / check.xlsx。 "
                     f"Only the {len(shown):,d} most serious of {len(order):,d} projects are listed; see summary.csv / check.xlsx.</p>")
    overview = pd.DataFrame({
        "序号 No.": shown["project_no"],
        "项目 Project": shown["project"],
        "类型 Type": shown["project_type_zh"] + " " + shown["project_type"],
        "结论 Verdict": shown["verdict_label"],
        "面积 Area (ha)": shown["area_ha"],
        "长度 Length (m)": shown["length_m"],
        "冲突 Conflicts": shown["conflicts"],
    })
    parts.append(html_table(overview))

    # per project detail
    ov = result.overlaps
    detail_ids = set(shown.loc[shown["verdict"] != verdicts.none, "project_no"])
    ov = ov[ov["project_no"].isin(detail_ids)]
    if len(ov):
        parts.append("<h2>逐项说明 Project details</h2>")
    for pno, grp in ov.groupby("project_no", sort=False):
        row = shown.loc[shown["project_no"] == pno].iloc[0]
        parts.append(f"<h3>{html.escape(str(row['project']))} — {_verdict_span(row['verdict'], verdicts)}</h3>"
                     f"<p>类型 Type: {html.escape(str(row['project_type_zh']))} ({html.escape(str(row['project_type']))})；"
                     f"面积 Area: {html_value(row['area_ha'], 4)} 公顷 ha = {html_value(row['area_mu'])} 亩 mu"
                     + (f"；长度 Length: {html_value(row['length_m'], 1)} m" if pd.notna(row["length_m"]) else "") + "</p>")
        items = []
        for r in grp.itertuples(index=False):
            if r.verdict == verdicts.none:
                where = (f"无重叠；最近 nearest {html_value(r.distance_m, 1)} m（{html.escape(str(r.nearest_feature))}）"
                         if pd.notna(r.distance_m) else "无重叠 no overlap")
                items.append(f"<tr><td>{html.escape(r.layer_zh)}<br>{html.escape(r.layer_en)}</td><td>{where}</td>"
                             f"<td>{_verdict_span(r.verdict, verdicts)}</td><td></td></tr>")
                continue
            length = f"<br>长度 length {html_value(r.overlap_length_m, 1)} m" if pd.notna(r.overlap_length_m) else ""
            items.append(
                f"<tr><td>{html.escape(r.layer_zh)}<br>{html.escape(r.layer_en)}</td>"
                f"<td>{html_value(r.overlap_m2)} m² = {html_value(r.overlap_ha, 4)} 公顷 ha = {html_value(r.overlap_mu)} 亩 mu"
                f"（占项目 {html_value(r.project_pct)} % of the project）{length}<br>涉及图斑 features: {html.escape(str(r.features))}</td>"
                f"<td>{_verdict_span(r.verdict, verdicts)}</td>"
                f"<td><b>{html.escape(str(r.rule))}</b> {html.escape(str(r.rule_zh))}<br><i>{html.escape(str(r.rule_en))}</i>"
                f"<br><small>来源 Source: {html.escape(str(r.source_title))}</small></td></tr>")
        parts.append('<table class="data"><thead><tr><th>图层 Layer</th><th>重叠 Overlap</th><th>结论 Verdict</th>'
                     "<th>依据 Rule (source)</th></tr></thead><tbody>" + "".join(items) + "</tbody></table>")

    # layers and method
    lt = result.layers.rename(columns={"layer": "图层 kind", "layer_zh": "名称", "layer_en": "Name",
                                       "rule_class": "管控类别 rule class", "features": "要素数 features",
                                       "source": "来源 source"})
    parts.append("<h2>检查图层 Layers checked</h2>" + html_table(lt))
    method = [
        f"面积算法 Area method: {html.escape(_AREA_METHOD_LABEL.get(s['area_method'], s['area_method']))}",
        "叠加分析：与项目相交的同一图层要素先合并（重叠部分只计一次），再与项目求交，坐标为CGCS2000地理坐标（EPSG:4490），与QGIS“叠加分析”(native:calculatevectoroverlaps)一致。"
        " Overlay: the features of a layer touching a project are unioned first (overlaps counted once), then intersected "
        "with the project, in CGCS2000 geographic coordinates, as QGIS's Overlap analysis does.",
        f"距离 Distance: {html.escape(s['distance_method_zh'])}；{html.escape(s['distance_method'])}；"
        f"搜索半径 search radius {html_value(s['near_m'], 0)} m.",
        f"点状项目按半径 {html_value(s['point_radius_m'], 0)} m 的圆计算 Point projects: circle of radius {html_value(s['point_radius_m'], 0)} m.",
        ("线状项目按宽度 {w} m 的廊道计算面积，并报告相交长度 Line projects: corridor of width {w} m for the area, "
         "plus the length inside.".format(w=html_value(s["line_width_m"], 1)) if s.get("line_width_m") else
         "线状项目报告相交长度（未给宽度，不计面积） Line projects: length inside each layer (no width given, so no area)."),
        f"重叠小于 {s['min_overlap_m2']} m²（线状 {s['min_overlap_m']} m）视为接触 Overlaps below {s['min_overlap_m2']} m² "
        f"({s['min_overlap_m']} m for lines) count as touching, not overlapping.",
        f"管控规则来自图层目录 Rules from the catalogue: {html.escape(str(s['catalog']))}",
    ]
    parts.append("<h2>方法 Method</h2><ul>" + "".join(f"<li>{m}</li>" for m in method) + "</ul>")
    if result.notes:
        parts.append("<h2>提示 Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    return html_page(title, "\n".join(parts))


def write_check_outputs(result: CheckResult, out_dir: str | Path, *, map_html: str | None = None,
                        xlsx: bool = True) -> dict[str, Path]:
    """summary.csv, overlaps.csv, check.xlsx, overlaps.gpkg (projects, overlap_pieces[, overlap_lines]), report.html."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {
        "summary.csv": write_csv(result.summary, out / "summary.csv"),
        "overlaps.csv": write_csv(result.overlaps, out / "overlaps.csv"),
    }
    if xlsx:
        ov = result.overlaps
        if len(ov) > XLSX_MAX_ROWS:  # Excel's sheet limit: keep the rows that say something
            ov = ov[(ov["verdict"] != result.verdicts.none) | ov["distance_m"].notna()]
            result.notes.append(f"check.xlsx: overlaps sheet limited to {min(len(ov), XLSX_MAX_ROWS):,d} rows with an "
                                "overlap or a near feature (Excel's row limit); overlaps.csv has them all.")
            ov = ov.head(XLSX_MAX_ROWS)
        files["check.xlsx"] = write_excel({"summary": result.summary.head(XLSX_MAX_ROWS), "overlaps": ov,
                                           "layers": result.layers}, out / "check.xlsx")
    pieces = result.pieces
    layers = {"projects": result.projects}
    poly = pieces[pieces["piece"] == "area"] if len(pieces) else pieces
    layers["overlap_pieces"] = poly.assign(geometry=poly.geometry.apply(
        lambda g: shapely.multipolygons([g]) if g is not None and g.geom_type == "Polygon" else g)) if len(poly) else poly
    if len(pieces) and (pieces["piece"] == "line").any():
        layers["overlap_lines"] = pieces[pieces["piece"] == "line"]
    files["overlaps.gpkg"] = write_gpkg(layers, out / "overlaps.gpkg")
    path = out / "report.html"
    path.write_text(check_report_html(result, map_html=map_html), encoding="utf-8")
    files["report.html"] = path
    return files
