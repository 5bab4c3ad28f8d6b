"""Folium maps of a workspace, of its ecological security pattern and of a `spatial check` result.

Every map has each layer as its own toggleable layer (grouped as in the catalogue), catalogue styles,
Chinese-first labels, popups with bilingual field names, tooltips, a bilingual legend, a metric scale bar,
full screen, a measuring tool (m / km, ha / 亩), a mini-map, the layer control and a search by name.
Maps only draw what the workspace and the analyses hold; they compute nothing.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import Fullscreen, MeasureControl

from maps import elements as el
from maps import styles
from maps.basemaps import TIANDITU_ENV, Basemap
from maps.basemaps import basemap as get_basemap
from maps.layers import (
    DEFAULT_SIMPLIFY_M,
    MapLayer,
    display_gdf,
    feature_collection,
    prepare_layer,
)
from maps.legend import item as legend_item
from maps.legend import legend_html
from maps.offline import make_offline
from maps.popups import is_illustrative, popup_table
from spatial.errors import MapError
from spatial.outputs.html import html_value, rule_citation_html
from spatial.outputs.record import NOT_CHECKED_LABEL, PROJECT_SCOPE, record_table
from spatial.rules.catalog import Catalog
from spatial.rules.verdicts import Verdicts

if TYPE_CHECKING:  # pragma: no cover
    from spatial.analysis.check import CheckResult
    from spatial.analysis.pattern import PatternResult
    from spatial.sources.workspace import Workspace

PATTERN_KINDS = ("eco_source", "eco_corridor", "eco_node")
PATTERN_EN = {
    "绿屏环绕、一心多点、三廊串联": "green screens all round, one heart and many points, three corridors strung together",
}
OUTLINE_SIMPLIFY_M = 200.0  # the mini-map outline needs no detail


@dataclass
class MapResult:
    """A built map. ``html()`` renders it; ``save(path)`` writes it.

    Leaflet and its plugins are always inlined from maps/vendor, online or not: CDNs are often unreachable on a
    mainland intranet. Only an online map's basemap tiles come from the network."""

    map: folium.Map
    layers: list[MapLayer]
    basemap: Basemap
    offline: bool
    simplify_m: float
    title: str
    path: Path | None = None
    size: int | None = None
    notes: list[str] = field(default_factory=list)
    _html: str | None = None

    def html(self) -> str:
        if self._html is None:
            page = self.map.get_root().render()
            self._html = make_offline(page)
        return self._html

    def _repr_html_(self) -> str:
        """Jupyter: the map itself, in a sandboxed frame (the page is complete HTML)."""
        page = html.escape(self.html(), quote=True)
        return f'<iframe srcdoc="{page}" style="width:100%;height:560px;border:0" sandbox="allow-scripts"></iframe>'

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.html().encode("utf-8")
        path.write_bytes(data)
        self.path, self.size = path, len(data)
        return path

    def layer(self, layer_id: str) -> MapLayer:
        return next(lyr for lyr in self.layers if lyr.id == layer_id)


# ------------------------------------------------------------------------------------------------- helpers

def resolve_basemap(name: str | None, offline: bool, tianditu_key: str | None = None) -> Basemap:
    """``None`` means no basemap offline; online, Tianditu (天地图矢量, reachable in mainland China) when a key is
    set (``tianditu_key`` or ``TIANDITU_KEY``), else OpenStreetMap. An offline map fetches no tiles."""
    if name is None:
        name = "none" if offline else ("tianditu-vec" if (tianditu_key or os.environ.get(TIANDITU_ENV, "").strip())
                                       else "osm")
    bm = get_basemap(name, tianditu_key=tianditu_key)
    if offline and bm.has_tiles:
        raise MapError(f"an offline map makes no network request, so it cannot show the {bm.label} tiles; "
                       f"use --basemap none with --offline, or drop --offline")
    return bm


def _group_order(catalog: Catalog) -> dict[str, int]:
    order: dict[str, int] = {}
    for kind in catalog.kinds.values():
        order.setdefault(kind.group, len(order))
    return order


def _kind_order(catalog: Catalog, kind_id: str) -> int:
    groups = _group_order(catalog)
    kinds = list(catalog.kinds)
    kind = catalog.kinds.get(kind_id)
    g = groups.get(kind.group, len(groups)) if kind else len(groups)
    return 1000 + g * 100 + (kinds.index(kind_id) if kind_id in kinds else 99)


def _outline(ws: "Workspace | None") -> gpd.GeoDataFrame | None:
    if ws is None:
        return None
    for kind_id in ("admin_county", "admin_city"):
        layer = ws.layers.get(kind_id)
        if layer is not None and len(layer.gdf):
            return layer.gdf
    return ws.territory()


def _bounds(gdf: gpd.GeoDataFrame | None, layers: Iterable[MapLayer]) -> list[list[float]] | None:
    if gdf is not None and len(gdf):
        x0, y0, x1, y1 = gdf.total_bounds
    else:
        boxes = [lyr.gdf.total_bounds for lyr in layers if len(lyr.gdf)]
        if not boxes:
            return None
        arr = np.array(boxes)
        x0, y0, x1, y1 = arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()
    if not np.all(np.isfinite([x0, y0, x1, y1])):
        return None
    return [[float(y0), float(x0)], [float(y1), float(x1)]]


def _title_html(title: str, subtitle: str = "", illustrative: bool = False) -> str:
    out = html.escape(title)
    if subtitle:
        out += f'<span class="pm-sub">{html.escape(subtitle)}</span>'
    if illustrative:
        out += '<span class="pm-warn">含示意数据，非官方数据 · contains illustrative layers, not official data</span>'
    return out


def _base_notes(bm: Basemap, simplify_m: float) -> list[str]:
    notes = [html.escape(bm.note)] if bm.note else []
    if bm.crs == "gcj02":
        notes[-1] = f'<span class="pm-alert">{notes[-1]}</span>'
    if simplify_m and simplify_m > 0:
        notes.append(f"图形按 {simplify_m:g} m 容差简化显示（面积以原始数据计算） "
                     f"geometry simplified at {simplify_m:g} m for display; areas come from the full data")
    notes.append("坐标 CGCS2000 (EPSG:4490)" + ("，显示为 GCJ-02 shown in GCJ-02" if bm.crs == "gcj02" else ""))
    return notes


def _assemble(
    *,
    title: str,
    title_html: str,
    bm: Basemap,
    offline: bool,
    simplify_m: float,
    layers: list[MapLayer],
    legend: str,
    outline: gpd.GeoDataFrame | None,
    bounds: list[list[float]] | None,
    attributions: list[str] | None = None,
) -> MapResult:
    centre = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [29.0, 118.5]
    m = folium.Map(location=centre, zoom_start=10, tiles=None, control_scale=False, prefer_canvas=False,
                   zoom_snap=0.25, zoom_delta=0.5)
    # Only Leaflet itself: folium's default jQuery, Bootstrap and Font Awesome are not used by these maps.
    m.default_js = [("leaflet", el.LEAFLET_JS)]
    m.default_css = [("leaflet_css", el.LEAFLET_CSS)]
    # branca puts the title into <title> unescaped; a workspace or project name must stay text
    m.get_root().title = html.escape(title)
    panes = sorted(set(styles.PANES.values()), key=lambda p: p[1])
    m.add_child(el.PlanAssets(panes, no_base=not bm.has_tiles, attributions=attributions))
    if bm.has_tiles:
        m.add_child(el.TileBase(bm.label, bm.tiles))
    for lyr in sorted(layers, key=lambda x: x.meta.get("z", 0)):
        m.add_child(el.PlanLayer(lyr.label, lyr.meta, lyr.styles, lyr.data, show=lyr.show))
    m.add_child(Fullscreen(position="topleft", title="全屏 Full screen", title_cancel="退出全屏 Exit full screen"))
    m.add_child(MeasureControl(
        position="topleft", primary_length_unit="meters", secondary_length_unit="kilometers",
        primary_area_unit="hectares", secondary_area_unit="mu", localization="cn",
        units={"mu": {"factor": 0.0015, "display": "亩 mu", "decimals": 2}}))
    m.add_child(el.PlanSearch())
    if bm.has_tiles:
        m.add_child(el.PlanMiniMap(tiles=[bm.tiles[0]]))
    else:
        shape = None
        if outline is not None and len(outline):
            disp = display_gdf(outline[[outline.geometry.name]], datum=bm.crs, simplify_m=OUTLINE_SIMPLIFY_M)
            shape = feature_collection(disp, [{} for _ in range(len(disp))])
        m.add_child(el.PlanMiniMap(outline=shape))
    m.add_child(el.PlanScale("bottomleft"))
    m.add_child(el.PlanBox(legend, position="bottomleft"))
    m.add_child(el.PlanTitle(title_html))
    m.add_child(el.PlanLayerControl(position="topright", collapsed="auto"))
    if bounds:
        m.add_child(el.PlanFit(bounds))
    return MapResult(map=m, layers=layers, basemap=bm, offline=offline, simplify_m=simplify_m, title=title)


def _workspace_layer(ws: "Workspace", kind_id: str, *, datum: str, simplify_m: float, show: bool | None = None,
                     catalog: Catalog | None = None) -> MapLayer:
    layer = ws.layers[kind_id]
    kind = layer.kind
    cat = catalog or ws.catalog
    lyr = prepare_layer(kind_id, layer.gdf, kind=kind, name_field=layer.name_field, datum=datum,
                        simplify_m=simplify_m, order=_kind_order(cat, kind_id),
                        show=(kind_id not in styles.HIDDEN_BY_DEFAULT) if show is None else show)
    lyr.meta["z"] = styles.z_rank(kind_id)
    if (kind.extra or {}).get("status_styles"):
        for label, colour in styles.status_legend(kind):
            lyr.legend_items.append((label, {**lyr.styles[0], "fillColor": colour,
                                             "color": styles._darker(colour, 0.8), "fillOpacity": 0.9}))
    return lyr


# layer id = the result's attribute, label; styles from the catalogue's [pattern.styles]
_COMPUTED = (
    ("corridor_zones", "计算廊道范围 Computed corridor zones"),
    ("sources", "计算生态源地 Computed sources"),
    ("corridors", "计算生态廊道 Computed corridors (least-cost paths)"),
    ("pinch_points", "计算夹点 Computed pinch points"),
    ("nodes", "计算节点 Computed nodes"),
)
_COMPUTED_GROUP = "计算格局 Computed pattern (spatial pattern)"


def _computed_layers(result: "PatternResult", catalog: Catalog, *, datum: str, simplify_m: float) -> list[MapLayer]:
    """The derived pattern's layers in a legend group of their own, styled apart from the plan's layers."""
    table_styles = catalog.tables.get("pattern", {}).get("styles", {})
    out = []
    for order, (attr, label) in enumerate(_COMPUTED, start=900):
        gdf = getattr(result, attr)
        if not len(gdf):
            continue
        named = gdf.assign(name=[f"{label.split(' ')[0]} #{i}" for i in range(1, len(gdf) + 1)])
        raw = table_styles.get(attr, {})
        lyr = prepare_layer(f"computed_{attr}", named, label=label, group=_COMPUTED_GROUP, name_field="name",
                            datum=datum, simplify_m=simplify_m, order=order, show=attr != "corridor_zones",
                            style_fn=lambda disp, geometry, raw=raw: ([styles.base_style(None, geometry, raw)],
                                                                      [0] * len(disp)))
        lyr.meta["z"] = 50 + order - 900
        out.append(lyr)
    return out


def _legend_order(layers: list[MapLayer]) -> list[MapLayer]:
    return sorted(layers, key=lambda x: x.meta["order"])


# ------------------------------------------------------------------------------------------------- maps

def workspace_map(
    ws: "Workspace",
    *,
    basemap: str | None = None,
    offline: bool = False,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    tianditu_key: str | None = None,
    kinds: Iterable[str] | None = None,
) -> MapResult:
    """Every layer of the workspace (or only ``kinds``), each its own toggleable layer."""
    bm = resolve_basemap(basemap, offline, tianditu_key)
    kind_ids = [k for k in (kinds or ws.layers) if k in ws.layers]
    if not kind_ids:
        raise MapError(f"{ws.path}: the workspace holds no layer to map; add [layers.KIND] entries to workspace.toml")
    layers = [_workspace_layer(ws, k, datum=bm.crs, simplify_m=simplify_m) for k in kind_ids]
    title = f"{ws.settings.get('name_zh', '')} {ws.settings.get('name_en', '')}".strip() or ws.path.name
    notes = _base_notes(bm, simplify_m)
    if any(lyr.illustrative for lyr in layers):
        notes.insert(0, "※示意 illustrative：示意数据，非官方 invented demo geometry, not official")
    legend = legend_html(_legend_order(layers), notes=notes)
    return _assemble(title=f"{title} — 规划图层 Planning layers",
                     title_html=_title_html(title, "规划图层 Planning layers", ws.illustrative),
                     bm=bm, offline=offline, simplify_m=simplify_m, layers=layers, legend=legend,
                     outline=_outline(ws), bounds=_bounds(ws.territory(), layers))


def pattern_text(catalog: Catalog) -> tuple[str, str, str]:
    """(the plan's named pattern, an English gloss, its source) from the catalogue's eco kinds."""
    for kind_id in PATTERN_KINDS:
        kind = catalog.kinds.get(kind_id)
        if kind is not None and (kind.extra or {}).get("pattern"):
            zh = kind.extra["pattern"]
            return zh, PATTERN_EN.get(zh, ""), catalog.source_title(kind.source.split(";")[0]) if kind.source else ""
    return "", "", ""


def pattern_map(
    ws: "Workspace",
    *,
    basemap: str | None = None,
    offline: bool = False,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    tianditu_key: str | None = None,
    computed: "PatternResult | None" = None,
) -> MapResult:
    """The ecological security pattern: sources, corridors and nodes, with the territory and rivers for context,
    and the plan's named pattern (e.g. 绿屏环绕、一心多点、三廊串联) in the legend.

    ``computed``: a derived pattern (:func:`spatial.analysis.security_pattern.pattern`) drawn beside the plan's
    own layers, in its own legend group and labelled as computed.
    """
    bm = resolve_basemap(basemap, offline, tianditu_key)
    present = [k for k in PATTERN_KINDS if k in ws.layers]
    if not present and computed is None:
        raise MapError(f"{ws.path}: no ecological security pattern layers (eco_source, eco_corridor, eco_node) in "
                       f"this workspace; add them to workspace.toml, or derive one with `spatial pattern`")
    context = [k for k in ("admin_county", "river", "ecological_redline") if k in ws.layers]
    layers = []
    for k in context + present:
        lyr = _workspace_layer(ws, k, datum=bm.crs, simplify_m=simplify_m,
                               show=k != "ecological_redline")
        if k in ("eco_corridor", "eco_source"):
            lyr.meta["labels"] = True
        layers.append(lyr)
    if computed is not None:
        layers.extend(_computed_layers(computed, ws.catalog, datum=bm.crs, simplify_m=simplify_m))
    zh, en, source = pattern_text(ws.catalog)
    head = ""
    if zh:
        head = (f'<div class="pm-pattern">规划格局 Planned pattern<br><b>{html.escape(zh)}</b>'
                + (f"<br><i>{html.escape(en)}</i>" if en else "")
                + (f"<br><small>来源 Source: {html.escape(source)}</small>" if source else "") + "</div>")
    notes = _base_notes(bm, simplify_m)
    if any(lyr.illustrative for lyr in layers):
        notes.insert(0, "※示意 illustrative：示意数据，非官方 invented demo geometry, not official")
    legend = legend_html(_legend_order(layers), title="生态安全格局 Ecological security pattern",
                         head_html=head, notes=notes)
    name = ws.settings.get("name_zh", "") or ws.path.name
    return _assemble(title=f"{name} 生态安全格局 Ecological security pattern",
                     title_html=_title_html("生态安全格局 Ecological security pattern",
                                            f"{zh}" if zh else name, ws.illustrative),
                     bm=bm, offline=offline, simplify_m=simplify_m, layers=layers, legend=legend,
                     outline=_outline(ws), bounds=_bounds(ws.territory(), layers))


# ------------------------------------------------------------------------------------------------- check



def _verdict_html(v: str, verdicts: Verdicts) -> str:
    return f'<span class="pm-verdict-{html.escape(v)}">{html.escape(verdicts.label(v))}</span>'


def _project_popup(row: dict[str, Any], overlaps: list[dict[str, Any]], label: str, verdicts: Verdicts) -> str:
    head = (f'<div class="pm-popup"><div class="pm-popup-kind">项目 Project #{html_value(row.get("project_no"))} · '
            f'{html.escape(str(row.get("project_type_zh", "")))} {html.escape(str(row.get("project_type", "")))}</div>'
            f'<div class="pm-popup-title">{html.escape(label)}</div>'
            f'<div>结论 Verdict: {_verdict_html(str(row.get("verdict", "")), verdicts)}</div>')
    size = []
    if pd.notna(row.get("area_ha", np.nan)):
        size.append(f'面积 Area {html_value(row.get("area_ha"), 2)} 公顷 ha = {html_value(row.get("area_mu"), 1)} 亩 mu')
    if pd.notna(row.get("length_m", np.nan)):
        size.append(f'长度 Length {html_value(row.get("length_m"), 0)} m')
    if size:
        head += "<div>" + "；".join(size) + "</div>"
    if "illustrative" in row:
        if is_illustrative(row.get("illustrative")):
            head += '<div class="pm-illus">示意数据 illustrative · 非官方数据 not official</div>'
    rows = []
    for r in overlaps:
        verdict = r.get("verdict", "")
        layer = f'{html.escape(str(r.get("layer_zh", "")))}<br><small>{html.escape(str(r.get("layer_en", "")))}</small>'
        m2 = r.get("overlap_m2", np.nan)
        if verdict != "no_conflict" or (pd.notna(m2) and m2 > 0):
            what = f'{html_value(r.get("overlap_ha", np.nan), 4)} ha ({html_value(r.get("project_pct", np.nan), 1)} %)'
            length = r.get("overlap_length_m", np.nan)
            if pd.notna(length) and length > 0:
                what += f"<br>{html_value(length, 0)} m"
        else:
            dist = r.get("distance_m", np.nan)
            what = f"无重叠 none; 最近 nearest {html_value(dist, 0)} m" if pd.notna(dist) else "无重叠 none"
        rule = rule_citation_html(r.get("rule"), r.get("rule_zh"), "", r.get("source"), r.get("source_title"),
                                  compact=True)
        rows.append([layer, what, _verdict_html(verdict, verdicts), rule])
    table = popup_table(rows, ["图层 Layer", "重叠 Overlap", "结论 Verdict", "规则 Rule"]) if rows else ""
    return head + table + "</div>"


def _piece_popup(row: dict[str, Any], verdicts: Verdicts) -> str:
    what = (f'{html_value(row.get("overlap_m2", np.nan) / 10_000 if pd.notna(row.get("overlap_m2", np.nan)) else np.nan, 4)} ha'
            if row.get("piece") != "line" else f'{html_value(row.get("overlap_length_m"), 0)} m')
    return (f'<div class="pm-popup"><div class="pm-popup-kind">重叠部分 Overlap piece</div>'
            f'<div class="pm-popup-title">{html.escape(str(row.get("project", "")))}</div>'
            f'<div>{html.escape(str(row.get("layer_zh", "")))} {html.escape(str(row.get("layer_en", "")))}</div>'
            f'<div>{what} · 占项目 {html_value(row.get("project_pct"), 1)} % of the project</div>'
            f'<div>结论 Verdict: {_verdict_html(str(row.get("verdict", "")), verdicts)} {html.escape(str(row.get("rule", "") or ""))}</div></div>')


def _family(geom_type: str) -> str:
    if geom_type in ("Point", "MultiPoint"):
        return "point"
    if geom_type in ("LineString", "MultiLineString", "LinearRing"):
        return "line"
    return "polygon"


def _verdict_styles(builder) -> Any:
    """style_fn giving each feature the style of (its verdict, its geometry family)."""
    def fn(gdf: gpd.GeoDataFrame, _geometry: str):
        combos: dict[tuple[str, str], int] = {}
        style_list: list[dict[str, Any]] = []
        idx = []
        for verdict, gtype in zip(gdf["verdict"].astype(str), gdf.geom_type):
            key = (verdict, _family(gtype))
            if key not in combos:
                combos[key] = len(style_list)
                style_list.append(builder(*key))
            idx.append(combos[key])
        # index 0 must exist (the default style): the first combination, or a neutral one
        if not style_list:
            style_list.append(builder("no_conflict", "polygon"))
        return style_list, idx
    return fn


CONFLICTS_ONLY_OVER = 1_000   # projects; a bigger check map draws the conflicting ones only


def check_map(
    result: "CheckResult",
    workspace: "Workspace | None" = None,
    *,
    basemap: str | None = None,
    offline: bool = False,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    tianditu_key: str | None = None,
    title: str | None = None,
    conflicts_only_over: int = CONFLICTS_ONLY_OVER,
) -> MapResult:
    """Projects coloured by verdict, their overlap pieces highlighted, a popup per project with its table;
    the constraint layers of ``workspace`` (if given) beneath, those with an overlap switched on.

    Above ``conflicts_only_over`` projects only those with a conflict are drawn (the legend says how many
    others were left to summary.csv), so that a map of thousands of parcels stays light in a browser."""
    bm = resolve_basemap(basemap, offline, tianditu_key)
    projects = result.projects
    hidden = 0
    if len(projects) > conflicts_only_over and "verdict" in projects.columns:
        keep = (projects["verdict"] != result.verdicts.none).to_numpy()
        hidden, projects = int((~keep).sum()), projects[keep]
    summary_cols = [c for c in ("project_no", "project", "project_type", "project_type_zh", "verdict", "area_ha",
                                "area_mu", "length_m", "illustrative") if c in projects.columns]
    ov = result.overlaps
    # plain dicts: pandas row access (iterrows, a filter per project) made this quadratic-slow for big batches
    by_project: dict[Any, list[dict[str, Any]]] = {}
    if "project_no" in ov.columns:
        for r in ov.to_dict("records"):
            by_project.setdefault(r["project_no"], []).append(r)
    labels = []
    popups_html = []
    for row in projects.drop(columns=projects.geometry.name).to_dict("records"):
        name = str(row.get("project", ""))
        en = row.get("name_en")
        label = f"{name} {en}".strip() if isinstance(en, str) and en and en not in name else name
        labels.append(label)
        popups_html.append(_project_popup(row, by_project.get(row.get("project_no"), []), label, result.verdicts))
    proj_gdf = gpd.GeoDataFrame(projects[summary_cols].assign(_pm_label=labels),
                                geometry=projects.geometry.values, crs=projects.crs)
    layers: list[MapLayer] = []
    proj = prepare_layer("projects", proj_gdf.assign(name=proj_gdf["_pm_label"]).drop(columns="_pm_label"),
                         label="检查项目 Projects checked", group="检查结果 Check results", name_field="name",
                         datum=bm.crs, simplify_m=simplify_m, order=10,
                         style_fn=_verdict_styles(styles.verdict_style), popup_html=popups_html, fields=["verdict"],
                         pane=styles.PANES["check"][0])
    proj.meta["z"] = 100
    layers.append(proj)
    pieces = result.pieces
    if len(pieces) and "verdict" in pieces.columns:
        # the most serious pieces are drawn last, on top
        rank = result.verdicts.rank
        pieces = pieces.iloc[np.argsort(pieces["verdict"].map(rank).fillna(0).to_numpy(), kind="stable")]
    if len(pieces):
        piece_gdf = gpd.GeoDataFrame(pieces.drop(columns=pieces.geometry.name).assign(
            name=pieces["project"].astype(str) + " ∩ " + pieces["layer_zh"].astype(str)),
            geometry=pieces.geometry.values, crs=pieces.crs)
        piece_html = [_piece_popup(r, result.verdicts) for r in pieces.drop(columns=pieces.geometry.name).to_dict("records")]
        pc = prepare_layer("overlaps", piece_gdf, label="重叠部分 Overlap pieces", group="检查结果 Check results",
                           name_field="name", datum=bm.crs, simplify_m=simplify_m, order=20,
                           style_fn=_verdict_styles(styles.piece_style), popup_html=piece_html, fields=["verdict", "layer"],
                           pane=styles.PANES["pieces"][0], searchable=False)
        pc.meta["z"] = 101
        layers.append(pc)
    context: list[MapLayer] = []
    if workspace is not None:
        hit = set(pieces["layer"]) if len(pieces) and "layer" in pieces.columns else set()
        checked = list(result.layers["layer"]) if "layer" in result.layers.columns else []
        for k in ("admin_county",):
            if k in workspace.layers:
                context.append(_workspace_layer(workspace, k, datum=bm.crs, simplify_m=simplify_m, show=True))
        for k in checked:
            if k in workspace.layers:
                context.append(_workspace_layer(workspace, k, datum=bm.crs, simplify_m=simplify_m,
                                                show=k in hit or k == "ecological_redline"))
    layers.extend(context)
    counts = result.summary["verdict"].value_counts() if "verdict" in result.summary.columns else pd.Series(dtype=int)
    verdict_items = "".join(
        legend_item(f"{result.verdicts.label(v)} ({int(counts.get(v, 0))})", styles.verdict_style(v, "polygon"), "polygon")
        for v in result.verdicts.order)
    head = ('<div class="pm-lg-group">检查结论 Verdicts</div>' + verdict_items
            + legend_item("重叠部分（按该图层结论着色） Overlap pieces, coloured by that layer's verdict",
                          styles.piece_style("prohibited", "polygon"), "polygon"))
    notes = _base_notes(bm, simplify_m)
    notes[:0] = _not_checked_notes(result)
    if hidden:
        notes.insert(0, f"无冲突项目 {hidden:,d} 个未绘出（共 {len(result.projects):,d} 个），见 summary.csv "
                        f"{hidden:,d} projects without conflict are not drawn (of {len(result.projects):,d}); "
                        "they are in summary.csv and overlaps.gpkg")
    if result.settings.get("illustrative") or any(lyr.illustrative for lyr in layers):
        notes.insert(0, "※示意 illustrative：示意数据，非官方，结论仅供演示 illustrative data; verdicts for demonstration")
    legend = legend_html(_legend_order(context), title="项目检查 Project check", head_html=head, notes=notes)
    ttl = title or "项目冲突检查 Project check"
    ws_name = str(result.settings.get("workspace", "")) or (workspace.name if workspace is not None else "")
    outline = _outline(workspace)
    territory = workspace.territory() if workspace is not None else None
    bounds = _bounds(territory, layers) if territory is not None else _bounds(None, [proj])
    return _assemble(title=ttl, title_html=_title_html(ttl, ws_name, bool(result.settings.get("illustrative"))),
                     bm=bm, offline=offline, simplify_m=simplify_m, layers=layers, legend=legend,
                     outline=outline if outline is not None else result.projects, bounds=bounds)


def _not_checked_notes(result: "CheckResult", limit: int = 10) -> list[str]:
    """Legend lines for the projects set aside when reading: they are not on the map, so the map must say so."""
    rec = record_table(result)
    aside = rec[(rec["scope"] == PROJECT_SCOPE) & (rec["kind"] == "set_aside")]
    if len(aside) == 0:
        return []
    items = [f"{r.feature or '#' + str(r.number)}（{r.finding}）" for r in aside.head(limit).itertuples(index=False)]
    more = f" …(+{len(aside) - limit})" if len(aside) > limit else ""
    return [f'<span class="pm-alert">{html.escape(NOT_CHECKED_LABEL)} {len(aside):,d}：'
            f"{html.escape('、'.join(items))}{more} — 读取时剔除，未画出 set aside when reading, not drawn</span>"]


def check_map_html(result: "CheckResult", workspace: "Workspace | None" = None, *, height: int = 640,
                   offline: bool = True, **kwargs: Any) -> str:
    """The check map as one embeddable HTML fragment for report.html: an <iframe srcdoc> holding the whole
    (by default self-contained, offline) map, so the report stays a single file."""
    res = check_map(result, workspace, offline=offline, **kwargs)
    doc = html.escape(res.html(), quote=True)
    return (f'<iframe class="check-map" title="项目检查地图 Check map" srcdoc="{doc}" '
            f'style="width:100%;height:{int(height)}px;border:1px solid #bbb" loading="lazy"></iframe>')


def write_check_map(result: "CheckResult", out_dir: str | Path, workspace: "Workspace | None" = None, *,
                    filename: str = "check_map.html", height: int = 640, **kwargs: Any) -> tuple[Path, str]:
    """Write the check map beside report.html; return its path and an <iframe src> fragment for map_html."""
    res = check_map(result, workspace, **kwargs)
    path = res.save(Path(out_dir) / filename)
    frag = (f'<p><a href="{html.escape(filename)}">在新窗口打开地图 Open the map</a></p>'
            f'<iframe class="check-map" title="项目检查地图 Check map" src="{html.escape(filename)}" '
            f'style="width:100%;height:{int(height)}px;border:1px solid #bbb"></iframe>')
    return path, frag
