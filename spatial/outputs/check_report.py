"""The check's outputs: summary.csv, overlaps.csv, check.xlsx, overlaps.gpkg and the bilingual report.html.

Writers format the :class:`~spatial.analysis.check.CheckResult` they are given; they never recompute.
"""

from __future__ import annotations

import html
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import pandas as pd

from spatial.analysis.check import CheckResult
from spatial.outputs.audit import audit_html
from spatial.outputs.html import html_page, html_table, html_value, rule_citation_html
from spatial.outputs.record import (KIND_LABELS, NOT_CHECKED_LABEL, PROJECT_SCOPE, record_gpkg_layer, record_table,
                                    summary_with_set_aside)
from spatial.outputs.tables import bilingual, promote_polygons, write_csv, write_excel, write_gpkg
from spatial.rules.verdicts import Verdicts

__all__ = ["check_report_html", "record_html", "write_check_outputs", "XLSX_MAX_ROWS", "HTML_MAX_PROJECTS",
           "HTML_MAX_RECORD"]

XLSX_MAX_ROWS = 1_048_575

HTML_MAX_PROJECTS = 200

HTML_MAX_RECORD = 500  # rows of the reading record on the page; record.csv and check.xlsx hold them all

_AREA_METHOD_LABEL = {
    "official": "国土调查椭球面积（official land-survey ellipsoidal area）",
    "geodesic": "椭球测地线面积 GRS80（geodesic ellipsoidal area, as QGIS with ellipsoid EPSG:7019）",
}


def _verdict_span(v: str, verdicts: Verdicts) -> str:
    return f'<span class="{html.escape(v)}">{html.escape(verdicts.label(v))}</span>'


def _verdict_counts_html(result: CheckResult) -> str:
    """The verdict counts, with the projects set aside when reading counted as 未检查 not checked and named."""
    verdicts = result.verdicts
    parts: list[str] = []
    counts = result.verdict_counts
    rec = record_table(result)
    not_checked = rec[(rec["scope"] == PROJECT_SCOPE) & (rec["kind"] == "set_aside")]
    unchecked_row = (f'<tr><td><span class="prohibited">{html.escape(NOT_CHECKED_LABEL)}</span></td>'
                     f"<td>{len(not_checked):,d}</td></tr>" if len(not_checked) else "")
    parts.append("<h2>结论汇总 Verdicts</h2><table class=\"data\"><thead><tr><th>结论 Verdict</th><th>项目数 Projects</th>"
                 "</tr></thead><tbody>" + "".join(
                     f"<tr><td>{_verdict_span(v, verdicts)}</td><td>{int(counts.get(v, 0)):,d}</td></tr>" for v in verdicts.ascending)
                 + unchecked_row + "</tbody></table>")
    if len(not_checked):
        parts.append(f'<p class="prohibited">{len(not_checked):,d} 个项目读取时被剔除，未检查（见“读取记录”）。 '
                     f"{len(not_checked):,d} project(s) set aside when reading were not checked (see the reading "
                     "record): " + html.escape("; ".join(not_checked["message"].astype(str).head(10))) + "</p>")
    return "".join(parts)


def check_report_html(result: CheckResult, *, title: str | None = None, map_html: str | None = None,
                      max_projects: int = HTML_MAX_PROJECTS) -> str:
    """The bilingual planner's report as one self-contained HTML page.

    Parameters
    ----------
    result : CheckResult
    title : str, optional
    map_html : str, optional
        An HTML fragment (e.g. a folium map from the maps package) placed in the ``<section id="check-map">``
        hook; without it the section says no map was attached.
    max_projects : int
        The most serious projects listed (the tables have them all).

    Returns
    -------
    str
        The page; every string from the inputs is escaped.
    """
    title = title or "项目生态保护红线及管控图层冲突检查 Project check against the red line and constraint layers"
    summ = result.summary
    order = summ.assign(_r=summ["verdict"].map(result.verdicts.rank)).sort_values(["_r", "project_no"],
                                                                                ascending=[False, True])
    shown = order.head(max_projects)
    parts = [
        _header_html(result.settings),
        _verdict_counts_html(result),
        '<h2>地图 Map</h2><section id="check-map">' + (
            map_html if map_html else "<p><i>未附地图 No map attached (maps package hook: map_html).</i></p>")
        + "</section>",
        _overview_html(shown, len(order)),
        _details_html(result, shown),
        _layers_html(result),
        _method_html(result.settings),
        record_html(result),
        audit_html(result.audit),
    ]
    if result.notes:
        parts.append("<h2>提示 Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    return html_page(title, "\n".join(p for p in parts if p))


def _header_html(s: dict) -> str:
    parts = []
    if s.get("workspace"):
        parts.append(f"<p>工作空间 Workspace: <b>{html.escape(str(s['workspace']))}</b></p>")
    if s.get("illustrative"):
        parts.append('<p class="prohibited">注意：本工作空间含示意数据（非官方数据），结论仅供演示。 '
                     "Note: this workspace holds illustrative layers, not official data; verdicts are for demonstration.</p>")
    return "".join(parts)


def _overview_html(shown: pd.DataFrame, total: int) -> str:
    parts = ["<h2>项目一览 Projects</h2>"]
    if total > len(shown):
        parts.append(f"<p>仅列出最严重的 {len(shown):,d} 个项目（共 {total:,d} 个），完整结果见 summary.csv / check.xlsx。 "
                     f"Only the {len(shown):,d} most serious of {total:,d} projects are listed; see summary.csv / check.xlsx.</p>")
    overview = pd.DataFrame({
        "序号 No.": shown["project_no"],
        "项目 Project": shown["project"],
        "类型 Type": shown["project_type_zh"] + " " + shown["project_type"],
        "结论 Verdict": shown["verdict_label"],
        "面积 Area (ha)": shown["area_ha"],
        "长度 Length (m)": shown["length_m"],
        "冲突 Conflicts": shown["conflicts"],
    })
    return "".join(parts) + html_table(overview)


def _details_html(result: CheckResult, shown: pd.DataFrame) -> str:
    """Per project with a conflict: each layer's overlap (or distance), verdict and rule.

    One pass over the projects' overlap rows, grouped by project in the order they come (as ``groupby(sort=False)``
    gives them): an ``itertuples`` per project cost 0.5 s for the 200 projects of the page."""
    verdicts, ov = result.verdicts, result.overlaps
    ov = ov[ov["project_no"].isin(set(shown.loc[shown["verdict"] != verdicts.none, "project_no"]))]
    rows: dict = {}
    for r in ov.itertuples(index=False):
        rows.setdefault(r.project_no, []).append(_detail_row(r, verdicts))
    first: dict = {}
    for i, pno in enumerate(shown["project_no"].tolist()):
        first.setdefault(pno, i)
    parts = ["<h2>逐项说明 Project details</h2>"] if rows else []
    for pno, items in rows.items():
        row = shown.iloc[first[pno]]
        parts.append(f"<h3>{html.escape(str(row['project']))} — {_verdict_span(row['verdict'], verdicts)}</h3>"
                     f"<p>类型 Type: {html.escape(str(row['project_type_zh']))} ({html.escape(str(row['project_type']))})；"
                     f"面积 Area: {html_value(row['area_ha'], 4)} 公顷 ha = {html_value(row['area_mu'])} 亩 mu"
                     + (f"；长度 Length: {html_value(row['length_m'], 1)} m" if pd.notna(row["length_m"]) else "") + "</p>")
        parts.append('<table class="data"><thead><tr><th>图层 Layer</th><th>重叠 Overlap</th><th>结论 Verdict</th>'
                     "<th>依据 Rule (source)</th></tr></thead><tbody>" + "".join(items) + "</tbody></table>")
    return "".join(parts)


def _detail_row(r, verdicts: Verdicts) -> str:
    layer = f"<td>{html.escape(r.layer_zh)}<br>{html.escape(r.layer_en)}</td>"
    if r.verdict == verdicts.none:
        where = (f"无重叠；最近 nearest {html_value(r.distance_m, 1)} m（{html.escape(str(r.nearest_feature))}）"
                 if pd.notna(r.distance_m) else "无重叠 no overlap")
        return f"<tr>{layer}<td>{where}</td><td>{_verdict_span(r.verdict, verdicts)}</td><td></td></tr>"
    basis = str(getattr(r, "basis", "") or "")
    if basis and not basis.startswith("重叠"):  # a distance rule: how near, to what, against which threshold
        what = f"{html.escape(basis)}（最近 nearest: {html.escape(str(r.nearest_feature))}）"
    else:
        length = f"<br>长度 length {html_value(r.overlap_length_m, 1)} m" if pd.notna(r.overlap_length_m) else ""
        what = (f"{html_value(r.overlap_m2)} m² = {html_value(r.overlap_ha, 4)} 公顷 ha = {html_value(r.overlap_mu)} 亩 mu"
                f"（占项目 {html_value(r.project_pct)} % of the project）{length}<br>涉及图斑 features: "
                f"{html.escape(str(r.features))}")
    return (f"<tr>{layer}<td>{what}</td><td>{_verdict_span(r.verdict, verdicts)}</td>"
            f"<td>{rule_citation_html(r.rule, r.rule_zh, r.rule_en, r.source, r.source_title)}</td></tr>")


def _layers_html(result: CheckResult) -> str:
    lt = result.layers.rename(columns={"layer": "图层 kind", "layer_zh": "名称", "layer_en": "Name",
                                       "rule_class": "管控类别 rule class", "features": "要素数 features",
                                       "source": "来源 source"})
    return "<h2>检查图层 Layers checked</h2>" + html_table(lt)


def _method_html(s: dict) -> str:
    within = s.get("within_m") or {}
    method = [
        f"面积算法 Area method: {html.escape(_AREA_METHOD_LABEL.get(s['area_method'], s['area_method']))}",
        "叠加分析：与项目相交的同一图层要素先合并（重叠部分只计一次），再与项目求交，坐标为CGCS2000地理坐标（EPSG:4490），与QGIS“叠加分析”(native:calculatevectoroverlaps)一致。"
        " Overlay: the features of a layer touching a project are unioned first (overlaps counted once), then intersected "
        "with the project, in CGCS2000 geographic coordinates, as QGIS's Overlap analysis does.",
        f"距离 Distance: {html.escape(s['distance_method_zh'])}；{html.escape(s['distance_method'])}；"
        f"搜索半径 search radius {html_value(s['near_m'], 0)} m.",
        "距离规则 Distance rules (规划未给出距离，由用户设定 the plans give none; set by the user): "
        + ("；".join(f"{html.escape(k)} ≤ {html_value(v, 0)} m" for k, v in within.items()) or "无 none"),
        f"点状项目按半径 {html_value(s['point_radius_m'], 0)} m 的圆计算 Point projects: circle of radius {html_value(s['point_radius_m'], 0)} m.",
        ("线状项目按宽度 {w} m 的廊道计算面积，并报告相交长度 Line projects: corridor of width {w} m for the area, "
         "plus the length inside.".format(w=html_value(s["line_width_m"], 1)) if s.get("line_width_m") else
         "线状项目报告相交长度（未给宽度，不计面积） Line projects: length inside each layer (no width given, so no area)."),
        f"重叠小于 {s['min_overlap_m2']} m²（线状 {s['min_overlap_m']} m）视为接触 Overlaps below {s['min_overlap_m2']} m² "
        f"({s['min_overlap_m']} m for lines) count as touching, not overlapping.",
        f"管控规则来自图层目录 Rules from the catalogue: {html.escape(str(s['catalog']))}",
    ]
    return "<h2>方法 Method</h2><ul>" + "".join(f"<li>{m}</li>" for m in method) + "</ul>"


def record_html(result: CheckResult, *, max_rows: int = HTML_MAX_RECORD) -> str:
    """The reading record as a report section: set-aside features first, then repairs (areas before and after),
    then warnings, for the projects and every constraint layer checked.

    Parameters
    ----------
    result : CheckResult
        A check whose ``record`` was attached (:func:`spatial.outputs.record.attach_record`).
    max_rows : int
        Rows shown; the rest are counted and left to record.csv / check.xlsx.

    Returns
    -------
    str
        An HTML fragment (``<section id="record">``), every string escaped.
    """
    rec = record_table(result)
    head = '<section id="record"><h2>读取记录 Reading record</h2>'
    if len(rec) == 0:
        return head + "<p>读取项目与管控图层时未修复、未剔除任何要素。 Reading the projects and the constraint layers " \
                      "repaired nothing and set nothing aside.</p></section>"
    order = rec.assign(_k=rec["kind"].map({"set_aside": 0, "repaired": 1, "warning": 2})).sort_values(
        ["_k", "scope", "number"], kind="stable")
    counts = rec["kind"].value_counts()
    lead = "；".join(f"{KIND_LABELS[k]} {int(counts.get(k, 0)):,d}" for k in ("set_aside", "repaired", "warning"))
    shown = order.head(max_rows)
    table = pd.DataFrame({
        "范围 Scope": shown["scope"], "文件 File": [Path(str(f)).name for f in shown["file"]],
        "要素 Feature": shown["feature"], "类别 Kind": shown["kind"].map(KIND_LABELS),
        "说明 Message": shown["message"], "修复前面积 Area before (m²)": shown["area_before_m2"],
        "修复后面积 Area after (m²)": shown["area_after_m2"]})
    more = (f"<p>仅列出前 {len(shown):,d} 条（共 {len(rec):,d} 条），完整记录见 record.csv / check.xlsx。 "
            f"First {len(shown):,d} of {len(rec):,d} rows; record.csv / check.xlsx hold them all.</p>"
            if len(rec) > len(shown) else "")
    return f"{head}<p>{html.escape(lead)}</p>{more}{html_table(table)}</section>"


def write_check_outputs(result: CheckResult, out_dir: str | Path, *, map_html: str | None = None,
                        xlsx: bool = True) -> dict[str, Path]:
    """summary.csv, overlaps.csv, record.csv, check.xlsx, overlaps.gpkg and report.html.

    Parameters
    ----------
    result : CheckResult
        The check; its ``record`` (reading findings) is written too: set-aside projects as 未检查 not checked rows
        of summary.csv and the summary sheet, the record in record.csv, a ``record`` sheet, a ``record`` layer
        of overlaps.gpkg and a section of report.html.
    out_dir : str or Path
        The output folder.
    map_html : str, optional
        The map fragment embedded in report.html.
    xlsx : bool
        Write check.xlsx.

    Returns
    -------
    dict of str to Path
        Output name → file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_with_set_aside(result)
    record = record_table(result)
    sheets = None
    if xlsx:
        ov = result.overlaps
        if len(ov) > XLSX_MAX_ROWS:  # Excel's sheet limit: keep the rows that say something
            ov = ov[(ov["verdict"] != result.verdicts.none) | ov["distance_m"].notna()]
            result.notes.append(f"check.xlsx: overlaps sheet limited to {min(len(ov), XLSX_MAX_ROWS):,d} rows with an "
                                "overlap or a near feature (Excel's row limit); overlaps.csv has them all.")
            ov = ov.head(XLSX_MAX_ROWS)
        # people read the workbook: bilingual headers; the CSVs keep the stable ids for programs
        sheets = {k: bilingual(v) for k, v in {"summary": summary.head(XLSX_MAX_ROWS), "overlaps": ov,
                                                "layers": result.layers, "record": record.head(XLSX_MAX_ROWS)}.items()}
    # The workbook (Rust, which lets go of the GIL) is written beside the CSVs and the GeoPackage (pyarrow,
    # GDAL): at 100 000 projects 2.4 s and 2.3 s, 4.5 s one after the other and 3.0 s side by side on two
    # cores. The report comes after both: it lists the notes the workbook adds (cut cells).
    with ThreadPoolExecutor(max_workers=1) as pool:
        book = pool.submit(write_excel, sheets, out / "check.xlsx", notes=result.notes) if sheets is not None else None
        files: dict[str, Path] = {
            "summary.csv": write_csv(summary, out / "summary.csv"),
            "overlaps.csv": write_csv(result.overlaps, out / "overlaps.csv"),
            "record.csv": write_csv(record, out / "record.csv"),
        }
        gpkg = write_gpkg(_gpkg_layers(result), out / "overlaps.gpkg")
        if book is not None:
            files["check.xlsx"] = book.result()
    files["overlaps.gpkg"] = gpkg
    path = out / "report.html"
    path.write_text(check_report_html(result, map_html=map_html), encoding="utf-8")
    files["report.html"] = path
    return files


def _gpkg_layers(result: CheckResult) -> dict[str, pd.DataFrame]:
    """projects, overlap_pieces[, overlap_lines] and record (spatial when a set-aside feature has a geometry)."""
    pieces = result.pieces
    layers: dict[str, pd.DataFrame] = {"projects": result.projects}
    poly = pieces[pieces["piece"] == "area"] if len(pieces) else pieces
    layers["overlap_pieces"] = poly.assign(geometry=promote_polygons(poly.geometry)) if len(poly) else poly
    if len(pieces) and (pieces["piece"] == "line").any():
        layers["overlap_lines"] = pieces[pieces["piece"] == "line"]
    rec = record_gpkg_layer(result)
    if isinstance(rec, gpd.GeoDataFrame):
        rec = rec.assign(geometry=promote_polygons(rec.geometry))
    layers["record"] = rec
    return layers
