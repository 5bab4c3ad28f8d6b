"""Area-share indicators against the plans' targets (受保护地区占比, 红线占比, 生态空间占比, 森林覆盖率, 矿山修复率).

Every figure follows one method, the same every year (see docs/indicators.md):

* Overlay in geographic CGCS2000 (EPSG:4490), the CRS every workspace layer is held in, so that the
  ``official`` area method (图斑椭球面积) measures each piece with its edges as they were drawn.
* **Union, then measure**: the features of all the kinds an indicator lists are dissolved into one
  geometry (overlaps counted once), clipped to each unit, and only then measured with
  :mod:`spatial.area` (``official`` by default, ``geodesic`` on request).  Never a sum of feature areas.
* The unit's own area is measured the same way; the share is the ratio of the two.
* A per-type breakdown flattens overlapping designations with precedence (the stricter designation keeps
  the shared area, as wdpar's ``st_erase_overlaps`` does): parts are disjoint and sum to the union.
* Overlays run at full double precision; only when GEOS refuses an input (a TopologyException) is it
  repaired with ``make_valid`` and the operation rerun on a 1e-9° (≈ 0.1 mm) precision grid.

Analyses return plain tables (:class:`IndicatorResult`); :func:`write_indicator_outputs` hands them to the
writers of :mod:`spatial.report`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from spatial.area import AreaMethod, area_m2
from spatial.io import feature_names

if TYPE_CHECKING:  # pragma: no cover
    from spatial.catalog import Catalog
    from spatial.workspace import Workspace

__all__ = [
    "GEOGRAPHIC", "GRID_DEG", "STATUS_PASS", "STATUS_FAIL", "STATUS_NO_TARGET", "STATUS_NO_DATA",
    "HEADERS", "TERRAIN_LABELS", "MIN_COVERAGE", "normalise_terrain", "to_geographic",
    "Units", "IndicatorSpec", "Target", "IndicatorResult",
    "compute_indicators", "indicator_result", "indicator_specs", "territory_units", "units_of",
    "area_share_rows", "flatten_by_precedence",
    "dissolve", "polygonal", "measure", "clip", "explode", "difference", "layer_geoms",
    "SLIVER_M2", "SLIVER_WIDTH_M", "Pieces", "pieces_of", "UnitSplit", "split_by_units",
    "bilingual", "markdown_table", "indicators_markdown", "write_indicator_outputs", "write_tables",
]

GEOGRAPHIC = "EPSG:4490"   # CGCS2000 geographic: the CRS of every workspace layer and of the overlays here
GRID_DEG = 1e-9            # fallback precision grid (degrees, ≈ 0.1 mm) when GEOS refuses an overlay
MIN_COVERAGE = 0.99        # a unit less covered than this by the workspace territory gets 无数据 no data

STATUS_PASS = "达标 pass"
STATUS_FAIL = "未达标 fail"
STATUS_NO_TARGET = "无目标 no target"
STATUS_NO_DATA = "无数据 no data"

TERRAIN_LABELS = {"mountain": "山区 mountain", "hill": "丘陵 hill", "plain": "平原 plain"}
_TERRAIN_ALIASES = {
    "mountain": "mountain", "mountainous": "mountain", "山区": "mountain", "山地": "mountain", "山区县": "mountain",
    "hill": "hill", "hilly": "hill", "丘陵": "hill", "丘陵区": "hill", "丘陵县": "hill",
    "plain": "plain", "平原": "plain", "平原区": "plain", "平原县": "plain",
}
_OPERATORS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "not_decrease": "不减少 not decrease"}

# Bilingual headers of every table written by the indicator commands (internal column -> header).
HEADERS: dict[str, str] = {
    "indicator_id": "指标代码 indicator id",
    "indicator": "指标 indicator",
    "unit_kind": "单位类型 unit kind",
    "unit_code": "代码 code",
    "unit": "单位 unit",
    "terrain_class": "地形类别 terrain class",
    "value": "值 value",
    "value_unit": "计量 measure",
    "area_km2": "面积 area km²",
    "unit_area_km2": "单位面积 unit area km²",
    "target_label": "目标年份 target year",
    "target": "目标 target",
    "target_value": "目标值 target value",
    "status": "状态 status",
    "margin": "差额 margin",
    "margin_unit": "差额单位 margin unit",
    "reported": "规划报告值 reported",
    "source": "来源 source",
    "source_ref": "出处 reference",
    "coverage": "覆盖 coverage %",
    "note": "说明 note",
    "kind": "图层 kind",
    "kind_label": "类型 type",
    "precedence": "优先顺序 precedence (1 = strictest)",
    "flat_km2": "归属面积 flattened area km²",
    "raw_km2": "本类合并面积 own union area km²",
    "share_of_unit": "占单位比例 share of unit %",
    "share_of_union": "占合并比例 share of union %",
    "name": "名称 name",
    "mine_status": "状态 mine status",
    "abandoned": "废弃 abandoned",
    "area_ha": "面积 area ha",
    "area_m2": "面积 area m²",
    "check": "检查项 check",
    "check_label": "检查 check",
    "layer_a": "图层A layer A",
    "layer_b": "图层B layer B",
    "pieces": "图斑数 pieces",
    "sliver_pieces": "碎片数 slivers",
    "sliver_m2": "碎片面积 sliver area m²",
    "area_mu": "面积 area 亩",
    "old_km2": "旧版面积 old km²",
    "new_km2": "新版面积 new km²",
    "added_km2": "新增 added km²",
    "removed_km2": "减少 removed km²",
    "net_km2": "净变化 net km²",
    "sliver_added_m2": "碎片新增 sliver added m²",
    "sliver_removed_m2": "碎片减少 sliver removed m²",
    "real_added_km2": "实际新增 real added km²",
    "real_removed_km2": "实际减少 real removed km²",
    "real_net_km2": "实际净变化 real net km²",
    "verdict": "结论 verdict",
    "change": "变化 change",
    "sliver": "碎片 sliver",
    "perimeter_m": "周长 perimeter m",
    "pieces_added": "新增图斑 pieces added",
    "pieces_removed": "减少图斑 pieces removed",
    "state": "修复状态 restoration state",
    "mean_width_m": "平均宽度 mean width m",
    "needing": "需治理 needing treatment",
    "restored": "已修复 restored",
    "restoring": "修复中 restoring",
    "not_restored": "未修复 not restored",
}


# ============================================================================ geometry helpers

def polygonal(geoms: Any) -> np.ndarray:
    """The polygonal part of each geometry (lines and points dropped; None -> empty polygon)."""
    arr = np.asarray(geoms, dtype=object).ravel()
    out = arr.copy()
    if len(arr) == 0:
        return out
    missing = shapely.is_missing(arr)
    out[missing] = shapely.Polygon()
    types = shapely.get_type_id(np.where(missing, shapely.Polygon(), arr))
    odd = np.flatnonzero(~np.isin(types, (3, 6)) & ~missing)
    if len(odd) == 0:
        return out
    out[odd] = shapely.Polygon()
    parts, owner = shapely.get_parts(arr[odd], return_index=True)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():  # nested multi-parts and collections
        multi = shapely.get_type_id(parts) >= 4
        sub, pos = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][pos]])
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts) if len(parts) else np.zeros(0, bool)
    if keep.any():
        parts, owner = parts[keep], owner[keep]
        groups, idx = np.unique(owner, return_inverse=True)
        out[odd[groups]] = shapely.multipolygons(parts, indices=idx)
    return out


def _flat(geoms: np.ndarray) -> np.ndarray:
    """All single parts of the geometries (nested collections flattened)."""
    parts = shapely.get_parts(geoms)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        multi = shapely.get_type_id(parts) >= 4
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])
    return parts[~shapely.is_empty(parts)] if len(parts) else parts


def explode(geom: Any) -> np.ndarray:
    """The polygons of one geometry (empty array for an empty or non-polygonal one)."""
    if geom is None:
        return np.zeros(0, dtype=object)
    parts = _flat(np.asarray([geom], dtype=object))
    return parts[shapely.get_type_id(parts) == 3] if len(parts) else parts


def _union_all(geoms: np.ndarray) -> Any:
    try:
        return shapely.union_all(geoms)
    except GEOSException:
        return shapely.union_all(shapely.make_valid(geoms), grid_size=GRID_DEG)


def dissolve(geoms: Any) -> Any:
    """One polygonal geometry covering all the polygonal parts of ``geoms`` (overlaps merged)."""
    arr = polygonal(np.asarray(geoms, dtype=object).ravel()) if not isinstance(geoms, shapely.Geometry) \
        else polygonal(np.asarray([geoms], dtype=object))
    arr = arr[~shapely.is_empty(arr)] if len(arr) else arr
    if len(arr) == 0:
        return shapely.MultiPolygon()
    if len(arr) == 1 and shapely.is_valid(arr[0]):
        return arr[0]
    return polygonal(np.asarray([_union_all(arr)], dtype=object))[0]


def _binary(fn: Callable[..., Any], a: Any, b: Any) -> Any:
    try:
        return fn(a, b)
    except GEOSException:
        return fn(shapely.make_valid(a), shapely.make_valid(b), grid_size=GRID_DEG)


def clip(geoms: Any, mask: Any) -> np.ndarray:
    """Polygonal intersection of each geometry with ``mask`` (a geometry or an array of the same length)."""
    arr = np.asarray(geoms, dtype=object).ravel()
    if len(arr) == 0:
        return arr
    return polygonal(_binary(shapely.intersection, arr, mask))


def difference(a: Any, b: Any) -> Any:
    """Polygonal a − b (elementwise for arrays)."""
    out = _binary(shapely.difference, a, b)
    if isinstance(out, np.ndarray):
        return polygonal(out)
    return polygonal(np.asarray([out], dtype=object))[0]


def measure(geoms: Any, method: AreaMethod) -> np.ndarray:
    """Area (m²) of each geometry with spatial.area (geometries in EPSG:4490); empty or missing -> 0."""
    return area_m2(gpd.GeoSeries(np.asarray(geoms, dtype=object).ravel(), crs=GEOGRAPHIC), method)


def to_geographic(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A layer in EPSG:4490 as a workspace holds it (projected edges densified first, as spatial.workspace does)."""
    from spatial.workspace import to_workspace_crs

    return to_workspace_crs(gdf)


def layer_geoms(gdf: gpd.GeoDataFrame) -> np.ndarray:
    """The polygonal geometries of a layer in EPSG:4490, invalid ones repaired, empty ones dropped."""
    if gdf.crs is None:
        raise ValueError("a layer without a CRS cannot be measured: set its CRS first (e.g. EPSG:4490)")
    if not gdf.crs.equals(GEOGRAPHIC):
        gdf = to_geographic(gdf)
    arr = polygonal(np.asarray(gdf.geometry.values, dtype=object))
    if len(arr) == 0:
        return arr
    bad = ~shapely.is_valid(arr)
    if bad.any():
        arr = arr.copy()
        arr[bad] = polygonal(shapely.make_valid(arr[bad]))
    return arr[~shapely.is_empty(arr)]


# ---------------------------------------------------------------------------- pieces and slivers

SLIVER_M2 = 1.0        # pieces smaller than this (m²) are slivers
SLIVER_WIDTH_M = 1.0   # … and so are pieces thinner than this: mean width 2·area/perimeter (m)
MIN_TOUCH_M2 = 1e-6    # a piece meeting a unit by less than 1 mm² is not counted in it


@dataclass
class Pieces:
    """The polygons of a result geometry, measured, with slivers told apart from real pieces."""

    geoms: np.ndarray
    area_m2: np.ndarray
    perimeter_m: np.ndarray
    mean_width_m: np.ndarray
    sliver: np.ndarray

    def __len__(self) -> int:
        return len(self.geoms)


def pieces_of(geom: Any, method: AreaMethod, sliver_m2: float = SLIVER_M2,
              sliver_width_m: float = SLIVER_WIDTH_M) -> Pieces:
    """Explode ``geom`` into polygons; a piece is a sliver when its area < ``sliver_m2`` or its mean width
    2·area/perimeter (the width of a long thin strip) < ``sliver_width_m``."""
    from spatial.area import length_m

    geoms = explode(geom)
    areas = measure(geoms, method)
    if len(geoms) and (areas <= 0).any():  # degenerate rings left by an overlay: no area, not a piece
        geoms, areas = geoms[areas > 0], areas[areas > 0]
    if len(geoms):
        perim = np.asarray(length_m(gpd.GeoSeries(geoms, crs=GEOGRAPHIC)), dtype=float)
    else:
        perim = np.zeros(0)
    width = np.divide(2.0 * areas, perim, out=np.zeros(len(geoms)), where=perim > 0)
    sliver = (areas < (sliver_m2 or 0.0)) | (width < (sliver_width_m or 0.0))
    return Pieces(geoms, areas, perim, width, sliver)


@dataclass
class UnitSplit:
    """Per unit: real and sliver area (m²) and piece counts; per piece: the unit holding most of it."""

    real_m2: np.ndarray
    real_n: np.ndarray
    sliver_m2: np.ndarray
    sliver_n: np.ndarray
    owner: np.ndarray


def split_by_units(pieces: Pieces, unit_geoms: np.ndarray, method: AreaMethod) -> UnitSplit:
    """Clip each piece to each unit it meets (pieces are disjoint, so the sums are areas of unions)."""
    n_u = len(unit_geoms)
    out = UnitSplit(np.zeros(n_u), np.zeros(n_u, int), np.zeros(n_u), np.zeros(n_u, int),
                    np.full(len(pieces), -1))
    if len(pieces) == 0 or n_u == 0:
        return out
    tree = shapely.STRtree(unit_geoms)
    p, u = tree.query(pieces.geoms, predicate="intersects")
    if len(p) == 0:
        return out
    inside = measure(clip(pieces.geoms[p], unit_geoms[u]), method)
    # a piece meeting a unit by less than 1 mm² (a touch, or rounding along a shared boundary) is not in it,
    # unless most of the (tiny) piece lies there
    keep = (inside >= MIN_TOUCH_M2) | ((inside > 0) & (inside >= 0.5 * pieces.area_m2[p]))
    p, u, inside = p[keep], u[keep], inside[keep]
    if len(p) == 0:
        return out
    sl = pieces.sliver[p]
    np.add.at(out.real_m2, u[~sl], inside[~sl])
    np.add.at(out.sliver_m2, u[sl], inside[sl])
    np.add.at(out.real_n, u[~sl], 1)
    np.add.at(out.sliver_n, u[sl], 1)
    order = np.lexsort((-inside, p))
    first = np.r_[True, p[order][1:] != p[order][:-1]]
    out.owner[p[order][first]] = u[order][first]
    return out


def _names(gdf: gpd.GeoDataFrame, name_field: str | None = None) -> list[str]:
    return [str(v) for v in feature_names(gdf, name_field)]


# ============================================================================ units

@dataclass
class Units:
    """Administrative units (or the whole territory) the indicators are computed for; geometries in EPSG:4490."""

    kind: str                 # "territory" or a unit layer kind id (admin_county …)
    kind_label: str
    names: list[str]
    codes: list[str]
    geoms: np.ndarray
    terrain: list[str | None]
    area_m2: np.ndarray
    coverage: np.ndarray      # share of each unit inside the workspace territory (NaN: no territory known)

    def __len__(self) -> int:
        return len(self.names)

    def covered(self, i: int, min_coverage: float = MIN_COVERAGE) -> bool:
        c = self.coverage[i]
        return bool(np.isnan(c) or c >= min_coverage)


def normalise_terrain(value: Any) -> str | None:
    """'mountain' | 'hill' | 'plain' from English or Chinese spellings; None when unset or unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    key = str(value).strip()
    return _TERRAIN_ALIASES.get(key.lower(), _TERRAIN_ALIASES.get(key))


def _make_units(kind: str, kind_label: str, gdf: gpd.GeoDataFrame, name_field: str | None,
                default_terrain: str | None, method: AreaMethod, territory: Any | None) -> Units:
    geoms = polygonal(np.asarray(to_geographic(gdf).geometry.values if not gdf.crs.equals(GEOGRAPHIC)
                                 else gdf.geometry.values, dtype=object))
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = polygonal(shapely.make_valid(geoms[bad]))
    codes = [str(c) for c in gdf["code"]] if "code" in gdf.columns else [""] * len(gdf)
    terrain = []
    for i in range(len(gdf)):
        own = normalise_terrain(gdf["terrain_class"].iloc[i]) if "terrain_class" in gdf.columns else None
        terrain.append(own or default_terrain)
    areas = measure(geoms, method)
    if territory is None:
        coverage = np.full(len(gdf), np.nan)
    else:
        inside = measure(clip(geoms, territory), method)
        coverage = np.divide(inside, areas, out=np.zeros(len(gdf)), where=areas > 0)
    return Units(kind=kind, kind_label=kind_label, names=_names(gdf, name_field), codes=codes, geoms=geoms,
                 terrain=terrain, area_m2=areas, coverage=coverage)


def territory_units(workspace: Workspace, method: AreaMethod = "official") -> Units | None:
    """The workspace's territory as one unit (its features dissolved), or None if it names none."""
    gdf = workspace.territory()
    if gdf is None or len(gdf) == 0:
        return None
    kind_id = workspace.settings.get("territory_kind")
    layer = workspace.layer(kind_id)
    default = normalise_terrain(workspace.settings.get("terrain_class"))
    names = _names(gdf, getattr(layer, "name_field", None))
    codes = [str(c) for c in gdf["code"]] if "code" in gdf.columns else [""]
    own = {normalise_terrain(v) for v in gdf["terrain_class"]} if "terrain_class" in gdf.columns else set()
    own.discard(None)
    geom = dissolve(layer_geoms(gdf))
    area = measure([geom], method)
    return Units(kind="territory", kind_label="全域 territory", names=["、".join(dict.fromkeys(names))],
                 codes=["、".join(dict.fromkeys(c for c in codes if c))],
                 geoms=np.asarray([geom], dtype=object),
                 terrain=[own.pop() if len(own) == 1 else default], area_m2=area, coverage=np.ones(1))


def territory_and_units(workspace: Workspace, by: str | None,
                        method: AreaMethod = "official") -> tuple[Units | None, list[Units]]:
    """The workspace's territory, and the unit sets to report on: the territory first, then the ``by`` units."""
    territory = territory_units(workspace, method)
    unit_sets = [territory] if territory is not None else []
    if by:
        unit_sets.append(units_of(workspace, by, method, territory))
    return territory, unit_sets


def units_of(workspace: Workspace, by: str, method: AreaMethod = "official",
             territory: Units | None = None) -> Units:
    """The features of the workspace layer ``by`` (admin_county, admin_township …) as units."""
    layer = workspace.layer(by)
    if layer is None:
        have = [k for k in workspace.layers if k.startswith("admin_")] or list(workspace.layers)
        raise ValueError(f"the workspace has no {by!r} layer to group by; it has: {', '.join(have)}")
    return _make_units(by, layer.kind.label, layer.gdf, layer.name_field,
                       normalise_terrain(workspace.settings.get("terrain_class")), method,
                       territory.geoms[0] if territory is not None else None)


# ============================================================================ indicator specs

@dataclass(frozen=True)
class Target:
    thresholds: dict[str, float]   # terrain class or "all" -> value
    operator: str = ">="
    label: str = ""                # e.g. "2020"
    source: str = ""

    def value_for(self, terrain: str | None) -> float | None:
        if "all" in self.thresholds:
            return float(self.thresholds["all"])
        if terrain is not None and terrain in self.thresholds:
            return float(self.thresholds[terrain])
        return None

    def text(self, value: float | None, unit: str, terrain: str | None) -> str:
        op = _OPERATORS.get(self.operator, self.operator)
        if value is None:
            return ""
        base = f"{op} {value:g} {unit}".strip()
        if "all" not in self.thresholds and terrain:
            base += f"（{TERRAIN_LABELS.get(terrain, terrain)}）"
        return base


@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    name_zh: str
    name_en: str
    kinds: tuple[str, ...]
    unit: str
    targets: tuple[Target, ...]
    source: str
    reported: dict[str, float]
    method: str = "area_share"          # area_share | mine_restoration
    where: dict[str, dict[str, Any]] = field(default_factory=dict)
    precedence: tuple[str, ...] = ()    # breakdown order overriding the catalogue's kind precedence

    @property
    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


def indicator_specs(catalog: Catalog) -> list[IndicatorSpec]:
    """The ``[indicators.*]`` tables of the catalogue as specs (targets normalised to a list)."""
    specs = []
    for ind_id, raw in catalog.indicators.items():
        op = raw.get("operator", ">=")
        targets: list[Target] = []
        for t in raw.get("targets", []):
            th = t.get("thresholds") or ({"all": t["value"]} if "value" in t else {})
            targets.append(Target(thresholds={k: float(v) for k, v in th.items()}, operator=t.get("operator", op),
                                  label=str(t.get("year", t.get("label", ""))), source=t.get("source", "")))
        if not targets and (raw.get("thresholds") or op == "not_decrease"):
            targets.append(Target(thresholds={k: float(v) for k, v in raw.get("thresholds", {}).items()},
                                  operator=op, source=""))
        method = raw.get("method") or ("mine_restoration" if "mine_site" in raw.get("kinds", ()) else "area_share")
        specs.append(IndicatorSpec(
            id=ind_id, name_zh=raw.get("name_zh", ind_id), name_en=raw.get("name_en", ind_id),
            kinds=tuple(raw.get("kinds", ())), unit=raw.get("unit", "%"), targets=tuple(targets),
            source=raw.get("source", ""), reported={str(k): float(v) for k, v in raw.get("reported", {}).items()},
            method=method, where=dict(raw.get("where", {})), precedence=tuple(raw.get("precedence", ())),
        ))
    return specs


def _source_text(catalog: Catalog | None, ref: str) -> str:
    if not ref:
        return ""
    if catalog is None:
        return ref
    return "; ".join(catalog.source_title(r.strip()) for r in ref.split(";") if r.strip())


def _reported(spec: IndicatorSpec, name: str, code: str) -> float:
    for key in (name, code, *name.split("、")):
        if key and key in spec.reported:
            return spec.reported[key]
    return float("nan")


def _filtered(gdf: gpd.GeoDataFrame, cond: Mapping[str, Any] | None) -> gpd.GeoDataFrame:
    """Features of a layer selected by an indicator's ``where`` (field + values / prefix)."""
    if not cond:
        return gdf
    fld = cond.get("field")
    if fld not in gdf.columns:
        raise ValueError(f"indicator filter names field {fld!r}, which the layer does not have "
                         f"(fields: {', '.join(map(str, gdf.columns))})")
    col = gdf[fld].astype(str)
    keep = pd.Series(False, index=gdf.index)
    if "values" in cond:
        keep |= col.isin([str(v) for v in cond["values"]])
    if "prefix" in cond:
        keep |= col.str.startswith(tuple(str(p) for p in cond["prefix"]))
    return gdf[keep]


# ============================================================================ area shares

def flatten_by_precedence(layers: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Flatten overlapping designations: each layer keeps only what no earlier (stricter) layer holds.

    ``layers``: (kind, dissolved geometry) in precedence order.  Returns (kind, flattened part) in the same
    order; the parts are disjoint and their union is the union of the inputs.
    """
    out = []
    covered: Any = shapely.MultiPolygon()
    for kind, geom in layers:
        part = difference(geom, covered) if not shapely.is_empty(covered) else geom
        out.append((kind, part))
        covered = dissolve([covered, geom]) if not shapely.is_empty(covered) else geom
    return out


def _order_kinds(spec: IndicatorSpec, catalog: Catalog | None, present: Iterable[str]) -> list[str]:
    present = list(present)
    if spec.precedence:
        first = [k for k in spec.precedence if k in present]
        return first + [k for k in present if k not in first]

    def key(k: str) -> tuple[int, int, int]:
        kind = catalog.kinds.get(k) if catalog is not None else None
        prec = getattr(kind, "precedence", None)
        return (prec is None, prec or 0, spec.kinds.index(k) if k in spec.kinds else 999)

    return sorted(present, key=key)


def _kind_label(catalog: Catalog | None, kind_id: str) -> str:
    kind = catalog.kinds.get(kind_id) if catalog is not None else None
    return kind.label if kind is not None else kind_id


def area_share_rows(
    spec: IndicatorSpec,
    layers: Mapping[str, gpd.GeoDataFrame],
    unit_sets: Sequence[Units],
    method: AreaMethod = "official",
    *,
    catalog: Catalog | None = None,
    min_coverage: float = MIN_COVERAGE,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[str, Any]]]:
    """Rows of one area-share indicator for every unit, its per-type breakdown, and the flattened parts.

    ``layers``: kind id -> GeoDataFrame (any CRS) for the kinds present.  Kinds of the indicator that are
    missing are named in the note; with none present every row is 无数据 no data.
    """
    present = [k for k in spec.kinds if k in layers]
    missing = [k for k in spec.kinds if k not in layers]
    order = _order_kinds(spec, catalog, present)
    dissolved = [(k, dissolve(layer_geoms(_filtered(layers[k], spec.where.get(k))))) for k in order]
    parts = flatten_by_precedence(dissolved) if dissolved else []
    union = dissolve([g for _, g in parts]) if parts else None
    note_missing = ("缺少图层 missing layers: " + ", ".join(missing)) if missing and present else ""
    rows: list[dict[str, Any]] = []
    breakdown: list[dict[str, Any]] = []
    for units in unit_sets:
        if union is not None:
            inside = measure(clip(units.geoms, union), method)
        else:
            inside = np.full(len(units), np.nan)
        for i in range(len(units)):
            unit_m2 = float(units.area_m2[i])
            value = 100.0 * inside[i] / unit_m2 if unit_m2 > 0 and union is not None else float("nan")
            base = _row_base(spec, units, i, catalog)
            base.update(value=value, value_unit=spec.unit, area_km2=inside[i] / 1e6 if union is not None else np.nan,
                        unit_area_km2=unit_m2 / 1e6)
            for row in _with_targets(spec, base, units, i, catalog, min_coverage, has_data=union is not None,
                                     margin_fn=lambda t, m2=inside[i], u=unit_m2: (m2 - t / 100.0 * u) / 1e6,
                                     margin_unit="km²"):
                if union is None:
                    row["note"] = "无此类图层 no layer of kind " + ", ".join(spec.kinds)
                elif note_missing:
                    row["note"] = "; ".join(x for x in (row["note"], note_missing) if x)
                rows.append(row)
        if len(parts) > 1:
            breakdown.extend(_breakdown_rows(spec, parts, units, inside, method, catalog, dissolved))
    return rows, breakdown, parts


def _row_base(spec: IndicatorSpec, units: Units, i: int, catalog: Catalog | None) -> dict[str, Any]:
    cov = units.coverage[i]
    return {
        "indicator_id": spec.id,
        "indicator": spec.label,
        "unit_kind": units.kind_label,
        "unit_code": units.codes[i],
        "unit": units.names[i],
        "terrain_class": TERRAIN_LABELS.get(units.terrain[i] or "", units.terrain[i] or ""),
        "coverage": float(100.0 * cov) if not np.isnan(cov) else np.nan,
        "reported": _reported(spec, units.names[i], units.codes[i]),
    }


def _with_targets(spec: IndicatorSpec, base: dict[str, Any], units: Units, i: int, catalog: Catalog | None,
                  min_coverage: float, *, has_data: bool, margin_fn: Callable[[float], float],
                  margin_unit: str) -> list[dict[str, Any]]:
    """One row per target of the indicator (one row with 无目标 when it has none)."""
    terrain = units.terrain[i]
    value = base.get("value", np.nan)
    covered = units.covered(i, min_coverage)
    out = []
    for target in spec.targets or (None,):
        row = dict(base)
        note = ""
        tval = None
        if target is not None:
            tval = target.value_for(terrain)
            if target.operator == "not_decrease":
                baseline = base.get("reported", np.nan)
                tval = None if baseline is None or np.isnan(baseline) else float(baseline)
                row["target"] = (f"≥ {tval:g} {spec.unit}（不减少 not decrease）" if tval is not None
                                 else "不减少 not decrease")
                if tval is None:
                    note = "无基准值：用 spatial diff 比较版本 no baseline: compare versions with `spatial diff`"
            else:
                row["target"] = target.text(tval, spec.unit, terrain)
                if tval is None:
                    note = "未设地形类别 terrain class not set" if "all" not in target.thresholds else ""
            ref = target.source or spec.source
            row["target_label"] = target.label
        else:
            row["target"] = ""
            row["target_label"] = ""
            ref = spec.source
        row["target_value"] = tval if tval is not None else np.nan
        row["source_ref"] = ref
        row["source"] = _source_text(catalog, ref)
        if not has_data or value is None or (isinstance(value, float) and np.isnan(value)):
            status, margin = STATUS_NO_DATA, np.nan
        elif not covered:
            status, margin = STATUS_NO_DATA, np.nan
            note = (f"单位仅 {100 * units.coverage[i]:.1f}% 在工作空间范围内，图层可能未覆盖 only "
                    f"{100 * units.coverage[i]:.1f} % of the unit lies in the workspace territory; "
                    "its layers may not cover the rest")
        elif tval is None:
            status, margin = STATUS_NO_TARGET, np.nan
        else:
            ok = _compare(value, tval, target.operator if target else ">=")
            status = STATUS_PASS if ok else STATUS_FAIL
            margin = margin_fn(tval)
        row.update(status=status, margin=margin, margin_unit=margin_unit if not np.isnan(margin) else "",
                   note=note)
        out.append(row)
    return out


def _compare(value: float, target: float, operator: str) -> bool:
    eps = 1e-12 * max(1.0, abs(target))
    if operator in (">=", "not_decrease"):
        return value >= target - eps
    if operator == ">":
        return value > target
    if operator == "<=":
        return value <= target + eps
    if operator == "<":
        return value < target
    raise ValueError(f"unknown indicator operator {operator!r}; use >=, >, <=, < or not_decrease")


def _breakdown_rows(spec: IndicatorSpec, parts: list[tuple[str, Any]], units: Units, inside: np.ndarray,
                    method: AreaMethod, catalog: Catalog | None,
                    dissolved: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    flat = {k: measure(clip(units.geoms, g), method) for k, g in parts}
    raw = {k: measure(clip(units.geoms, g), method) for k, g in dissolved}
    for i in range(len(units)):
        unit_m2 = float(units.area_m2[i])
        for rank, (k, _) in enumerate(parts, 1):
            rows.append({
                "indicator_id": spec.id, "indicator": spec.label, "unit_kind": units.kind_label,
                "unit_code": units.codes[i], "unit": units.names[i], "kind": k, "kind_label": _kind_label(catalog, k),
                "precedence": rank,
                "flat_km2": flat[k][i] / 1e6, "raw_km2": raw[k][i] / 1e6,
                "share_of_unit": 100.0 * flat[k][i] / unit_m2 if unit_m2 > 0 else np.nan,
                "share_of_union": 100.0 * flat[k][i] / inside[i] if inside[i] > 0 else np.nan,
            })
        total = sum(flat[k][i] for k, _ in parts)
        rows.append({
            "indicator_id": spec.id, "indicator": spec.label, "unit_kind": units.kind_label,
            "unit_code": units.codes[i], "unit": units.names[i], "kind": "total",
            "kind_label": "合计（合并后） total (union)", "precedence": "",
            "flat_km2": total / 1e6, "raw_km2": inside[i] / 1e6,
            "share_of_unit": 100.0 * total / unit_m2 if unit_m2 > 0 else np.nan,
            "share_of_union": 100.0 * total / inside[i] if inside[i] > 0 else np.nan,
        })
    return rows


# ============================================================================ the whole table

@dataclass
class IndicatorResult:
    """Plain tables; writers format them, never recompute.

    table      one row per indicator × unit × target (see HEADERS for the columns)
    breakdown  per-type breakdown of multi-kind indicators, flattened with precedence; parts sum to the union
    mines      the mine register (every mine, its status, whether it needs treatment / is restored, unit)
    to_restore the mines needing treatment that are not restored yet (GeoDataFrame)
    parts      flattened parts of multi-kind indicators (GeoDataFrame: indicator_id, kind, area_m2)
    settings   parameters and method
    """

    table: pd.DataFrame
    breakdown: pd.DataFrame
    mines: gpd.GeoDataFrame
    to_restore: gpd.GeoDataFrame
    parts: gpd.GeoDataFrame
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)


_TABLE_COLUMNS = ["indicator_id", "indicator", "unit_kind", "unit_code", "unit", "terrain_class", "value",
                  "value_unit", "area_km2", "unit_area_km2", "target_label", "target", "target_value", "status",
                  "margin", "margin_unit", "reported", "source_ref", "source", "coverage", "note"]
_BREAKDOWN_COLUMNS = ["indicator_id", "indicator", "unit_kind", "unit_code", "unit", "kind", "kind_label",
                      "precedence", "flat_km2", "raw_km2", "share_of_unit", "share_of_union"]


def indicator_result(
    workspace: Workspace,
    by: str | None = None,
    method: AreaMethod = "official",
    *,
    indicators: Sequence[str] | None = None,
    min_coverage: float = MIN_COVERAGE,
) -> IndicatorResult:
    """All indicators of the workspace's catalogue for its territory and, with ``by``, per unit of that layer."""
    if method not in ("official", "geodesic"):
        raise ValueError(f"area method must be 'official' or 'geodesic', not {method!r}")
    catalog = workspace.catalog
    territory, unit_sets = territory_and_units(workspace, by, method)
    if not unit_sets:
        raise ValueError("the workspace names no territory (set territory_kind and territory_code in "
                         "workspace.toml) and no --by layer was given: nothing to compute indicators for")
    specs = indicator_specs(catalog)
    if indicators:
        unknown = set(indicators) - {s.id for s in specs}
        if unknown:
            raise ValueError(f"unknown indicator(s) {', '.join(sorted(unknown))}; "
                             f"the catalogue has {', '.join(s.id for s in specs)}")
        specs = [s for s in specs if s.id in indicators]
    layers = {k: layer.gdf for k, layer in workspace.layers.items()}
    rows: list[dict[str, Any]] = []
    breakdown: list[dict[str, Any]] = []
    part_rows: list[dict[str, Any]] = []
    notes: list[str] = []
    from spatial import mines as mines_mod

    mine_register = gpd.GeoDataFrame(geometry=[], crs=GEOGRAPHIC)
    to_restore = gpd.GeoDataFrame(geometry=[], crs=GEOGRAPHIC)
    for spec in specs:
        if spec.method == "mine_restoration":
            layer = workspace.layer(spec.kinds[0]) if spec.kinds else None
            out = mines_mod.mine_rows(spec, layer.gdf if layer is not None else None, unit_sets, method,
                                      catalog=catalog, min_coverage=min_coverage,
                                      name_field=getattr(layer, "name_field", None))
            rows.extend(out.rows)
            mine_register, to_restore = out.register, out.to_restore
            notes.extend(out.notes)
            continue
        r, b, parts = area_share_rows(spec, layers, unit_sets, method, catalog=catalog, min_coverage=min_coverage)
        rows.extend(r)
        breakdown.extend(b)
        if len(parts) > 1:
            areas = measure([g for _, g in parts], method)
            for (k, g), a in zip(parts, areas):
                part_rows.append({"indicator_id": spec.id, "kind": k, "kind_label": _kind_label(catalog, k),
                                  "area_m2": a, "geometry": g})
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    parts_gdf = gpd.GeoDataFrame(part_rows or None, columns=["indicator_id", "kind", "kind_label", "area_m2",
                                                             "geometry"], geometry="geometry", crs=GEOGRAPHIC)
    settings = {
        "workspace": workspace.name, "illustrative": bool(getattr(workspace, "illustrative", False)),
        "area_method": method, "by": by or "", "territory_kind": workspace.settings.get("territory_kind", ""),
        "territory_code": workspace.settings.get("territory_code", ""),
        "terrain_class": workspace.settings.get("terrain_class", ""), "min_coverage": min_coverage,
        "overlay": "EPSG:4490, union then measure (spatial.area)",
    }
    return IndicatorResult(table=table, breakdown=pd.DataFrame(breakdown, columns=_BREAKDOWN_COLUMNS),
                           mines=mine_register, to_restore=to_restore, parts=parts_gdf, settings=settings,
                           notes=notes)


def compute_indicators(workspace: Workspace, by: str | None = None, method: AreaMethod = "official") -> pd.DataFrame:
    """The indicator table (see :func:`indicator_result` for the breakdown, mine register and parts)."""
    return indicator_result(workspace, by, method).table


# ============================================================================ presentation

def bilingual(df: pd.DataFrame) -> pd.DataFrame:
    """The table with bilingual headers (指标 indicator, 单位 unit, 值 value …)."""
    return df.rename(columns={c: HEADERS.get(c, c) for c in df.columns})


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:,.{digits}f}"
    if isinstance(v, (bool, np.bool_)):
        return "是 yes" if v else "否 no"
    return str(v)


def markdown_table(df: pd.DataFrame, *, digits: int = 2) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped, numbers rounded)."""
    def cell(v: Any) -> str:
        return _fmt(v, digits).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in cols) + " |",
             "| " + " | ".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


_README_COLUMNS = ["indicator", "unit", "value", "target", "status", "margin", "margin_unit", "reported",
                   "source_ref"]


def indicators_markdown(table: pd.DataFrame, *, columns: Sequence[str] = _README_COLUMNS, digits: int = 2) -> str:
    """The indicator table as Markdown for a README: bilingual headers, the essential columns."""
    df = table[[c for c in columns if c in table.columns]].copy()
    if "target_label" in table.columns and "target" in df.columns:
        label = table["target_label"].fillna("").astype(str)
        df["target"] = np.where(label != "", label + "年 " + df["target"].astype(str), df["target"])
    return markdown_table(bilingual(df), digits=digits)


def write_tables(out_dir: str | Path, stem: str, title: str, sheets: Mapping[str, pd.DataFrame],
                 layers: Mapping[str, gpd.GeoDataFrame] | None = None, *, intro: str = "") -> dict[str, Path]:
    """CSV per table, one Excel workbook, Markdown and HTML of all tables, a GeoPackage of the pieces."""
    from spatial.report import html_page, html_table, write_csv, write_excel, write_gpkg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    bil = {name: bilingual(df) for name, df in sheets.items()}
    for name, df in bil.items():
        paths[f"{name}.csv"] = write_csv(df, out / f"{stem}_{name}.csv" if name != stem else out / f"{stem}.csv")
    paths["xlsx"] = write_excel(bil, out / f"{stem}.xlsx")
    md = [f"# {title}\n"]
    if intro:
        md.append(intro + "\n")
    body = [f"<p>{intro}</p>"] if intro else []
    for name, df in bil.items():
        md.append(f"## {name}\n\n" + markdown_table(df))
        body.append(f"<h2>{name}</h2>" + html_table(df))
    md_path = out / f"{stem}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    paths["md"] = md_path
    html_path = out / f"{stem}.html"
    html_path.write_text(html_page(title, "\n".join(body)), encoding="utf-8")
    paths["html"] = html_path
    if layers:
        paths["gpkg"] = write_gpkg({k: _gpkg_ready(v) for k, v in layers.items()}, out / f"{stem}.gpkg")
    return paths


def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy ready for GeoPackage: CRS set, polygons promoted to multipolygons (one geometry type per layer)."""
    gdf = gdf.copy()
    if gdf.crs is None:
        gdf = gdf.set_crs(GEOGRAPHIC)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    if len(geoms):
        single = shapely.get_type_id(geoms) == 3
        if single.any():
            geoms = geoms.copy()
            geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
            gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs))
    return gdf


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
