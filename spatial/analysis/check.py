"""Check proposed projects against the ecological red line and every other constraint layer.

One project or a hundred thousand: for every project × constraint layer (every layer whose
catalogue kind has rules) we report the overlap (m², 公顷, 亩, share of the project), the layer
features touched, the overlap pieces, the distance to the nearest feature when there is no
overlap, and a verdict from the catalogue's rules for the project's type.

Method (see docs/check.md):

* Overlay is done in geographic CGCS2000 (EPSG:4490), as QGIS's "Overlap analysis"
  (native:calculatevectoroverlaps) does in the input layer's CRS: the layer features that
  intersect a project are unioned first (overlapping features count once), then intersected
  with the project. Areas of the pieces are measured only with :mod:`spatial.geo.area`.
* The overlay and the nearest search run through an engine (:mod:`spatial.engine`; ``engine="local"``:
  chunks of projects on threads, a shapely STRtree per layer).
* Lines: the length inside a layer (geodesic, GRS80); with ``line_width_m`` also the area of the
  corridor (flat-ended buffer of half the width each side). Points: a circle of
  ``point_radius_m`` (default 50 m, 128-sided polygon). Buffers are built in the CGCS2000
  3-degree Gauss-Krüger zone of each project and brought back to EPSG:4490.
* Distances: the nearest feature within ``near_m`` is found in the project's GK zone; the
  distance reported is the geodesic (GRS80) distance between the two nearest points.

The pipeline (each step a function of its own): :func:`~spatial.analysis.check_inputs.constraint_layers` and
:func:`~spatial.analysis.check_inputs.prepare_projects` → :func:`overlay_layer` per layer through the engine
→ :func:`judge_layer` (verdicts from the catalogue's rules) → :func:`assemble` (the tables of
:class:`CheckResult`). Writers live in :mod:`spatial.outputs.check_report`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.analysis.check_inputs import (
    Projects,
    constraint_layers,
    prepare_projects,
)
from spatial.engine import get_engine
from spatial.engine.prepared import ConstraintLayer
from spatial.errors import InputError
from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000
from spatial.geo.ops import measure, measure_length
from spatial.geo.units import convert_area
from spatial.rules.catalog import Catalog, LayerKind, Rule, bundled_catalog
from spatial.rules.verdicts import Verdicts
from spatial.sources.findings import ReadResult

__all__ = ["DEFAULT_NEAR_M", "DEFAULT_POINT_RADIUS_M", "CheckResult", "LayerOverlay", "check", "overlay_layer",
           "judge_layer", "assemble", "worst_verdict"]

DEFAULT_NEAR_M = 1000.0          # report the nearest feature within 1 km when there is no overlap
DEFAULT_POINT_RADIUS_M = 50.0    # a point project stands for a site of this radius
MAX_NAMES = 20                   # touched feature names listed per project and layer

Progress = Callable[[int, int, str], None]

DISTANCE_METHOD = ("geodesic (GRS80) distance between the nearest points, found in the project's "
                   "CGCS2000 3-degree Gauss-Krüger zone")
DISTANCE_METHOD_ZH = "最近点在项目所在的CGCS2000 3度带高斯-克吕格投影中求得，距离为两点间的椭球（GRS80）测地线距离"


def worst_verdict(verdicts, catalog: Catalog | None = None) -> str:
    """The most severe verdict (prohibited > needs_approval > allowed > no_conflict)."""
    from_catalog = catalog if catalog is not None else bundled_catalog()
    return from_catalog.verdicts.worst(verdicts)


@dataclass
class CheckResult:
    """Plain tables; writers and maps format them, never recompute.

    summary   one row per project: project, project_type, verdict, area_m2, <layer>_m2 …
    overlaps  one row per project × constraint layer (long table)
    pieces    overlap geometries (EPSG:4490), one row per project × layer with an overlap
    projects  the projects (EPSG:4490) with their attributes and results
    layers    the constraint layers checked (kind, labels, features, source)
    settings  parameters and methods used
    notes     repairs and remarks worth telling the user
    verdicts  the catalogue's verdict vocabulary (order, labels)
    record    what reading the projects and the layers repaired, set aside or warned about (one row per finding;
              see :func:`spatial.outputs.record.attach_record`); empty unless the caller attaches it
    audit     the run's audit record (tool, inputs with sha256, parameters; :mod:`spatial.outputs.audit`), if any
    """

    summary: pd.DataFrame
    overlaps: pd.DataFrame
    pieces: gpd.GeoDataFrame
    projects: gpd.GeoDataFrame
    layers: pd.DataFrame
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    verdicts: Verdicts = field(default_factory=lambda: bundled_catalog().verdicts)
    record: pd.DataFrame = field(default_factory=pd.DataFrame)
    audit: dict[str, Any] | None = None

    totals: dict[str, int] | None = None   # verdict counts of a streamed check, whose summary holds a digest

    @property
    def verdict_counts(self) -> pd.Series:
        if self.totals is not None:
            return pd.Series({v: int(self.totals.get(v, 0)) for v in self.verdicts.ascending}, name="projects")
        counts = self.summary["verdict"].value_counts()
        return pd.Series({v: int(counts.get(v, 0)) for v in self.verdicts.ascending}, name="projects")

    def __repr__(self) -> str:
        counts = ", ".join(f"{v} {n}" for v, n in self.verdict_counts.items() if n)
        return f"<CheckResult: {len(self.summary)} projects × {len(self.layers)} layers; {counts}>"

    def _repr_html_(self) -> str:
        """Jupyter: the verdict per project (pandas escapes the cells)."""
        cols = ["project_no", "project", "project_type", "verdict_label", "conflicts"]
        return f"<p>{html.escape(repr(self))}</p>" + self.summary[cols]._repr_html_()


@dataclass
class LayerOverlay:
    """One constraint layer against every project: measures, pieces, touched features, nearest feature, verdicts."""

    layer: ConstraintLayer
    overlap_m2: np.ndarray
    overlap_len: np.ndarray
    area_pieces: np.ndarray
    line_pieces: np.ndarray
    features: np.ndarray
    feature_count: np.ndarray
    conflict: np.ndarray
    pct: np.ndarray
    distance: np.ndarray
    nearest_name: np.ndarray
    verdicts: np.ndarray | None = None
    rules: dict[str, np.ndarray] = field(default_factory=dict)


class _Ticker:
    """Progress over all layers: ``tick(k)`` adds k steps and reports (done, total, label)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def for_layer(self, label: str) -> Callable[[int], None]:
        def tick(k: int) -> None:
            self.done += k
            if self.progress is not None:
                self.progress(min(self.done, self.total), self.total, label)
        return tick


def _join_names(q: np.ndarray, names: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (project q, feature name) sorted by q: '、'-joined names and the count per project."""
    joined = np.full(n, "", dtype=object)
    counts = np.zeros(n, dtype=int)
    if len(q) == 0:
        return joined, counts
    uq, start, cnt = np.unique(q, return_index=True, return_counts=True)
    counts[uq] = cnt
    one = cnt == 1                         # most projects touch one feature: no joining to do
    joined[uq[one]] = names[start[one]]
    for p, s, c in zip(uq[~one], start[~one], cnt[~one]):
        seen = list(dict.fromkeys(names[s:s + c]))
        text = "、".join(seen[:MAX_NAMES])
        if len(seen) > MAX_NAMES:
            text += f" …(+{len(seen) - MAX_NAMES})"
        joined[p] = text
    return joined, counts



def _rule_for(kind: LayerKind, project_type: str, verdicts: Verdicts) -> Rule:
    rule = kind.rule_for(project_type)
    if rule is not None:
        return rule
    return Rule(id=f"{kind.id}:class", types=("*",), verdict=verdicts.for_rule_class(kind.rule_class),
                rule_zh=kind.rule_zh, rule_en=kind.rule_en, source=kind.source)



def overlay_layer(pr: Projects, layer: ConstraintLayer, engine: Any, *, method: AreaMethod, near_m: float,
                  thresholds: tuple[float, float], tick: Callable[[int], None], notes: list[str]) -> LayerOverlay:
    """Overlay every project with one constraint layer through ``engine``: overlap areas (polygons, circles,
    corridors) and lengths (lines), the touched features, and the nearest feature where there is no overlap.

    ``thresholds``: (min_overlap_m2, min_overlap_m): smaller overlaps are touches, not conflicts.
    """
    n = len(pr.geoms)
    has_area = ~shapely.is_missing(pr.area_target)
    area_idx, line_idx = np.flatnonzero(has_area), np.flatnonzero(~shapely.is_missing(pr.line_target))
    layer.validate(np.concatenate([pr.area_target[area_idx], pr.line_target[line_idx]]),
                   lambda g: engine.map(shapely.is_valid, g), notes)
    overlap_m2, overlap_len = np.zeros(n), np.zeros(n)
    area_pieces, line_pieces = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    hits_q: list[np.ndarray] = []
    hits_l: list[np.ndarray] = []
    if len(area_idx):
        # a project inside one feature overlaps it with its own area
        pcs, m2, q, l = engine.overlay(pr.area_target[area_idx], layer, 2, lambda g: measure(g, method),
                                       pr.area_m2[area_idx], tick)
        area_pieces[area_idx], overlap_m2[area_idx] = pcs, m2
        hits_q.append(area_idx[q]), hits_l.append(l)
    if len(line_idx):
        pcs, lens, q, l = engine.overlay(pr.line_target[line_idx], layer, 1, measure_length, pr.length_m[line_idx], tick)
        line_pieces[line_idx], overlap_len[line_idx] = pcs, lens
        hits_q.append(line_idx[q]), hits_l.append(l)
    features, feature_count = _touched_features(hits_q, hits_l, layer, n)
    min_m2, min_m = thresholds
    conflict = (overlap_m2 > min_m2) | ((pr.kind == "line") & (overlap_len > min_m))
    pct = np.where(has_area, 100.0 * overlap_m2 / np.where(pr.area_m2 > 0, pr.area_m2, 1.0),
                   100.0 * overlap_len / np.where(pr.length_m > 0, pr.length_m, 1.0))
    distance, nearest_name = _nearest_features(pr, layer, engine, conflict, max(near_m, _max_within(layer)), tick)
    return LayerOverlay(layer, overlap_m2, overlap_len, area_pieces, line_pieces, features, feature_count,
                        conflict, pct, distance, nearest_name)


def _touched_features(hits_q: list[np.ndarray], hits_l: list[np.ndarray], layer: ConstraintLayer,
                      n: int) -> tuple[np.ndarray, np.ndarray]:
    """The names of the features each project touches ('、'-joined) and their count."""
    hq = np.concatenate(hits_q) if hits_q else np.zeros(0, dtype=int)
    hl = np.concatenate(hits_l) if hits_l else np.zeros(0, dtype=int)
    if len(hq):
        order = np.lexsort((hl, hq))
        pairs = np.unique(np.column_stack([hq[order], hl[order]]), axis=0)
        hq, hl = pairs[:, 0], pairs[:, 1]
    return _join_names(hq, layer.names[hl] if len(hl) else np.zeros(0, dtype=object), n)


def _max_within(layer: ConstraintLayer) -> float:
    return max((r.within_m or 0.0 for r in layer.kind.rules), default=0.0)


def _nearest_features(pr: Projects, layer: ConstraintLayer, engine: Any, conflict: np.ndarray, near_m: float,
                      tick: Callable[[int], None]) -> tuple[np.ndarray, np.ndarray]:
    """Distance 0 where a project overlaps the layer; else the nearest feature within ``near_m`` (NaN beyond),
    measured from the project's own geometry: its polygon, its circle (points) or corridor, else its line."""
    n = len(pr.geoms)
    distance = np.full(n, np.nan)
    nearest_name = np.full(n, "", dtype=object)
    distance[conflict] = 0.0
    if near_m > 0:
        free = np.flatnonzero(~conflict)
        own = np.where(shapely.is_missing(pr.area_target), pr.geoms, pr.area_target)
        d, w = engine.nearest(own[free], layer, near_m)
        distance[free] = d
        found = w >= 0
        nearest_name[free[found]] = layer.names[w[found]]
        tick(n)
    return distance, nearest_name


def judge_layer(lo: LayerOverlay, types: np.ndarray, catalog: Catalog) -> LayerOverlay:
    """Verdicts of one layer. For each project type the kind's rules naming it are tried in order; the first
    whose condition holds gives the verdict: an overlap, or for a distance rule a distance of at most its
    ``within_m`` (overlap included). A type no rule names takes the verdict of the kind's rule class on
    overlap. Elsewhere: no conflict."""
    n = len(types)
    kind, none = lo.layer.kind, catalog.verdicts.none
    verdicts = np.full(n, none, dtype=object)
    rules = {k: np.full(n, "", dtype=object) for k in ("rule", "rule_zh", "rule_en", "source", "source_title", "basis")}
    rules["within_m"] = np.full(n, np.nan)
    near = np.nan_to_num(lo.distance, nan=np.inf)
    for t in np.unique(types):
        todo = types == t
        for rule in kind.rules_for(t) or (_rule_for(kind, t, catalog.verdicts),):
            reach = rule.within_m or 0.0
            sel = todo & (lo.conflict | ((reach > 0) & (near <= reach)))
            _apply_rule(rule, sel, lo, verdicts, rules, catalog)
            todo &= ~sel
    lo.verdicts, lo.rules = verdicts, rules
    return lo


def _apply_rule(rule: Rule, sel: np.ndarray, lo: LayerOverlay, verdicts: np.ndarray, rules: dict[str, np.ndarray],
                catalog: Catalog) -> None:
    if not sel.any():
        return
    verdicts[sel] = rule.verdict
    rules["rule"][sel] = rule.id
    rules["rule_zh"][sel] = rule.rule_zh
    rules["rule_en"][sel] = rule.rule_en
    rules["source"][sel] = rule.source
    rules["source_title"][sel] = catalog.source_title(rule.source) if rule.source else ""
    if rule.is_distance_rule:
        rules["within_m"][sel] = rule.within_m
    rules["basis"][sel & lo.conflict] = "重叠 overlap"
    rules["basis"][sel & ~lo.conflict] = [f"距离 distance {lo.distance[i]:,.1f} m ≤ {rule.within_m:g} m"
                                          for i in np.flatnonzero(sel & ~lo.conflict)]


def _distance_notes(layers: list[ConstraintLayer], types: np.ndarray) -> list[str]:
    """A distance rule without a distance (the plan gives none) judges overlaps only: say so, with the fix."""
    present = set(types)
    out = []
    for layer in layers:
        for rule in layer.kind.rules:
            if rule.is_distance_rule and not rule.within_m and any(rule.applies_to(t) for t in present):
                out.append(f"{rule.id}（{layer.kind.name_zh}）: 规划未给出距离，仅判重叠 the plan gives no distance, so "
                           f"only overlaps were judged; set yours with --within {layer.kind.id}=METRES "
                           f"(or [within] {layer.kind.id} = METRES in workspace.toml)")
    return out


def _overlap_rows(pr: Projects, lo: LayerOverlay, verdicts: Verdicts) -> pd.DataFrame:
    kind = lo.layer.kind
    return pd.DataFrame({
        "project_no": pr.numbers, "project": pr.names, "project_type": pr.types,
        "layer": kind.id, "layer_zh": kind.name_zh, "layer_en": kind.name_en,
        "overlap_m2": lo.overlap_m2, "overlap_ha": convert_area(lo.overlap_m2, "ha"),
        "overlap_mu": convert_area(lo.overlap_m2, "mu"), "project_pct": lo.pct,
        "overlap_length_m": np.where(pr.kind == "line", lo.overlap_len, np.nan),
        "features": lo.features, "feature_count": lo.feature_count,
        "distance_m": lo.distance, "nearest_feature": lo.nearest_name,
        "verdict": lo.verdicts, "verdict_label": [verdicts.label(v) for v in lo.verdicts],
        "rule": lo.rules["rule"], "rule_zh": lo.rules["rule_zh"], "rule_en": lo.rules["rule_en"],
        "source": lo.rules["source"], "source_title": lo.rules["source_title"],
        "within_m": lo.rules["within_m"], "basis": lo.rules["basis"],
    })


_PIECE_COLUMNS = ("project_no", "project", "project_type", "layer", "layer_zh", "layer_en", "piece", "overlap_m2",
                  "overlap_length_m", "project_pct", "verdict", "rule")


def _piece_frames(pr: Projects, lo: LayerOverlay, thresholds: tuple[float, float]) -> list[gpd.GeoDataFrame]:
    """The overlap pieces of one layer: the corridor/polygon pieces, else the line pieces."""
    kind, frames = lo.layer.kind, []
    for pcs, value, what, least in ((lo.area_pieces, lo.overlap_m2, "area", thresholds[0]),
                                    (lo.line_pieces, lo.overlap_len, "line", thresholds[1])):
        sel = np.flatnonzero(lo.conflict & ~shapely.is_missing(pcs) & (value > least))
        if len(sel) == 0:
            continue
        frames.append(gpd.GeoDataFrame({
            "project_no": pr.numbers[sel], "project": pr.names[sel], "project_type": pr.types[sel],
            "layer": kind.id, "layer_zh": kind.name_zh, "layer_en": kind.name_en, "piece": what,
            "overlap_m2": lo.overlap_m2[sel],
            "overlap_length_m": np.where(pr.kind[sel] == "line", lo.overlap_len[sel], np.nan),
            "project_pct": lo.pct[sel], "verdict": lo.verdicts[sel], "rule": lo.rules["rule"][sel],
        }, geometry=gpd.GeoSeries(pcs[sel], crs=CGCS2000)))
    return frames


def _summary(pr: Projects, judged: list[LayerOverlay], catalog: Catalog) -> pd.DataFrame:
    """One row per project: its worst verdict over the layers and the layers it conflicts with."""
    verdicts, n = catalog.verdicts, len(pr.geoms)
    rank = verdicts.rank
    ranks = np.zeros(n, dtype=int)
    for lo in judged:
        ranks = np.maximum(ranks, pd.Series(lo.verdicts).map(rank).to_numpy(dtype=int))
    by_rank = {r: v for v, r in rank.items()}
    overall = pd.Series(ranks).map(by_rank).to_numpy(dtype=object)
    label = {v: verdicts.label(v) for v in rank}
    conflicts = np.full(n, "", dtype=object)
    for lo in judged:   # whole columns of text at once: a Python step per project was slow at 100 000
        sel = np.flatnonzero(lo.verdicts != verdicts.none)
        if not len(sel):
            continue
        items = lo.layer.kind.name_zh + "：" + pd.Series(lo.verdicts[sel]).map(label).to_numpy(dtype=object)
        near = ~lo.conflict[sel]  # a distance rule: say how near
        items[near] = items[near] + "（" + lo.rules["basis"][sel][near] + "）"
        before = conflicts[sel]
        conflicts[sel] = np.where(before != "", before + "；" + items, items)
    has_area = ~shapely.is_missing(pr.area_target)
    area_or_nan = np.where(has_area, pr.area_m2, np.nan)   # lines without a width have no area
    ptype_zh = {t: v.get("name_zh", t) for t, v in catalog.project_types.items()}
    summary = pd.DataFrame({
        "project_no": pr.numbers, "project": pr.names, "project_type": pr.types,
        "project_type_zh": [ptype_zh.get(t, t) for t in pr.types], "geometry_type": pr.kind,
        "verdict": overall, "verdict_label": pd.Series(overall).map(label).to_numpy(dtype=object),
        "area_m2": area_or_nan, "area_ha": convert_area(area_or_nan, "ha"), "area_mu": convert_area(area_or_nan, "mu"),
        "length_m": np.where(pr.kind == "line", pr.length_m, np.nan), "conflicts": conflicts,
    })
    for lo in judged:
        summary[f"{lo.layer.kind.id}_m2"] = lo.overlap_m2
    return summary


def _projects_with_results(pr: Projects, summary: pd.DataFrame, judged: list[LayerOverlay]) -> gpd.GeoDataFrame:
    """The projects with their results (user attributes kept; clashing names prefixed src_)."""
    res = pr.gdf.copy()
    geom_col = res.geometry.name
    added = summary.copy()
    for lo in judged:
        added[f"{lo.layer.kind.id}_pct"] = lo.pct
        added[f"{lo.layer.kind.id}_verdict"] = lo.verdicts
    res = res.drop(columns=[c for c in ("project_type",) if c in res.columns])  # replaced by the resolved type
    res = res.rename(columns={c: f"src_{c}" for c in res.columns if c != geom_col and c in added.columns})
    for c in added.columns:
        res[c] = added[c].to_numpy()
    if geom_col != "geometry":
        res = res.rename_geometry("geometry")
    return res[[c for c in res.columns if c != "geometry"] + ["geometry"]]


def _layer_table(layers: list[ConstraintLayer]) -> pd.DataFrame:
    return pd.DataFrame({
        "layer": [c.kind.id for c in layers], "layer_zh": [c.kind.name_zh for c in layers],
        "layer_en": [c.kind.name_en for c in layers], "rule_class": [c.kind.rule_class for c in layers],
        "features": [len(c.geoms) for c in layers], "source": [c.source for c in layers],
    })


def assemble(pr: Projects, judged: list[LayerOverlay], catalog: Catalog, settings: dict[str, Any],
             notes: list[str]) -> CheckResult:
    """The tables of a check from the judged layers."""
    thresholds = (settings["min_overlap_m2"], settings["min_overlap_m"])
    overlaps = pd.concat([_overlap_rows(pr, lo, catalog.verdicts) for lo in judged], ignore_index=True)
    overlaps = overlaps.sort_values(["project_no"], kind="stable", ignore_index=True)
    frames = [f for lo in judged for f in _piece_frames(pr, lo, thresholds)]
    if frames:
        pieces = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CGCS2000)
        pieces = pieces.sort_values(["project_no"], kind="stable", ignore_index=True)
    else:
        pieces = gpd.GeoDataFrame({c: [] for c in _PIECE_COLUMNS}, geometry=gpd.GeoSeries([], crs=CGCS2000))
    summary = _summary(pr, judged, catalog)
    return CheckResult(summary=summary, overlaps=overlaps, pieces=pieces,
                       projects=_projects_with_results(pr, summary, judged),
                       layers=_layer_table([lo.layer for lo in judged]), settings=settings, notes=notes,
                       verdicts=catalog.verdicts)


def _settings(catalog: Catalog, area_method: AreaMethod, near: float, line_width_m: float | None, radius: float,
              project_type: str | None, engine: Any, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "area_method": area_method,
        "near_m": near,
        "line_width_m": float(line_width_m) if line_width_m else None,
        "point_radius_m": radius,
        "project_type": project_type,
        "overlay_crs": f"{CGCS2000} (CGCS2000 geographic), features touching a project unioned, then intersected",
        "distance_method": DISTANCE_METHOD,
        "distance_method_zh": DISTANCE_METHOD_ZH,
        "min_overlap_m2": catalog.threshold("min_overlap_m2"),
        "min_overlap_m": catalog.threshold("min_overlap_m"),
        "catalog": str(catalog.path),
        **meta,
    }


def check(
    projects: gpd.GeoDataFrame | ReadResult,
    workspace_or_layers: Any,
    project_type: str | None = None,
    *,
    near_m: float | None = DEFAULT_NEAR_M,
    line_width_m: float | None = None,
    point_radius_m: float | None = DEFAULT_POINT_RADIUS_M,
    area_method: AreaMethod = "official",
    progress: Progress | None = None,
    catalog: Catalog | None = None,
    workers: int | None = None,
    engine: Any = "local",
    within: Mapping[str, float] | None = None,
) -> CheckResult:
    """Check every project against every constraint layer.

    Parameters
    ----------
    projects : GeoDataFrame or ReadResult
        Polygons, lines or points with a CRS (any; converted to EPSG:4490) and, unless ``project_type`` is
        given, a ``project_type`` column of catalogue project types. A
        :class:`~spatial.sources.findings.ReadResult` of :func:`spatial.sources.files.read_layer` is not
        validated again (its polygons were made valid on reading).
    workspace_or_layers : Workspace or dict
        A :class:`spatial.sources.workspace.Workspace`, or {kind_id: GeoDataFrame or Layer} checked with
        ``catalog`` (default: the bundled catalogue).
    project_type : str, optional
        One project type for all projects (overrides the column).
    near_m : float, optional
        Search radius (m) for the nearest feature when there is no overlap; 0 or None: no search.
    line_width_m : float, optional
        Corridor width of line projects (an area is reported besides the length).
    point_radius_m : float, optional
        Radius of point projects (a 128-sided circle).
    area_method : {"official", "geodesic"}
        Area method of :mod:`spatial.geo.area`.
    progress : callable, optional
        ``progress(done, total, label)`` during the overlay.
    catalog : Catalog, optional
        Rules to judge by (default: the workspace's, else the bundled one).
    workers : int, optional
        Threads of the local engine (default: the CPU count, at most 8; 1 = no threads).
    engine : str or engine object
        How the overlay runs (:func:`spatial.engine.get_engine`): ``"local"`` (default) or ``"dask"`` (a local
        Dask cluster, closed at the end; pass ``DaskEngine(scheduler="tcp://HOST:8786")`` for a running one).
        The results are the same whatever the engine.
    within : mapping, optional
        Kind id -> metres: the distance of that kind's distance rules (``within_m``) for this run, over the
        catalogue's and the workspace's ``[within]`` (the plans give no distances; docs/check.md).

    Returns
    -------
    CheckResult

    Raises
    ------
    InputError
        Projects without a CRS or geometry, unknown project types, no constraint layer to check against.

    Examples
    --------
    >>> from spatial import load_workspace, read_layer
    >>> ws = load_workspace()                                   # the bundled Changshan demo
    >>> result = check(ws.projects.gdf, ws)
    >>> result.summary[["project", "verdict"]].head(2)          # doctest: +SKIP
    """
    if area_method not in ("official", "geodesic"):
        raise ValueError(f"area_method must be 'official' or 'geodesic', not {area_method!r}")
    own_engine = isinstance(engine, str)          # started here, so closed here (a Dask cluster)
    engine = get_engine(engine, workers)
    try:
        return _check(projects, workspace_or_layers, project_type, near_m, line_width_m, point_radius_m,
                      area_method, progress, catalog, engine, within)
    finally:
        if own_engine:
            engine.close()


def _check(projects: gpd.GeoDataFrame | ReadResult, workspace_or_layers: Any, project_type: str | None, near_m: float | None,
           line_width_m: float | None, point_radius_m: float | None, area_method: AreaMethod,
           progress: Progress | None, catalog: Catalog | None, engine: Any,
           within: Mapping[str, float] | None) -> CheckResult:
    """The pipeline of :func:`check` on an engine that is running."""
    notes: list[str] = []
    catalog, layers, meta = constraint_layers(workspace_or_layers, catalog, notes, within)
    if not layers:
        raise InputError("no constraint layer to check against: the workspace holds no layer whose catalogue "
                         "kind has rules (e.g. ecological_redline); add one with --layer ecological_redline=FILE")
    radius = float(point_radius_m) if point_radius_m else DEFAULT_POINT_RADIUS_M
    pr = prepare_projects(projects, project_type, catalog, line_width_m, radius, area_method, notes, engine)
    near = float(near_m) if near_m else 0.0
    settings = _settings(catalog, area_method, near, line_width_m, radius, project_type, engine, meta)
    thresholds = (settings["min_overlap_m2"], settings["min_overlap_m"])
    ticker = _Ticker(progress, _steps(pr, layers, near))
    judged = [judge_layer(overlay_layer(pr, layer, engine, method=area_method, near_m=near, thresholds=thresholds,
                                        tick=ticker.for_layer(f"{layer.kind.name_zh} {layer.kind.name_en}"),
                                        notes=notes), pr.types, catalog)
              for layer in layers]
    notes.extend(_distance_notes(layers, pr.types))
    settings["within_m"] = {lo.kind.id: _max_within(lo) for lo in layers if lo.kind.has_distance_rule}
    return assemble(pr, judged, catalog, settings, notes)


def _steps(pr: Projects, layers: list[ConstraintLayer], near: float) -> int:
    n = len(pr.geoms)
    per_layer = (int((~shapely.is_missing(pr.area_target)).sum()) + int((~shapely.is_missing(pr.line_target)).sum())
                 + (n if near > 0 else 0))
    return len(layers) * per_layer
