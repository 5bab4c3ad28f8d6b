"""Area-share indicators against the plans' targets (受保护地区占比, 红线占比, 生态空间占比, 森林覆盖率, 矿山修复率).

Every figure follows one method, the same every year (see docs/indicators.md):

* Overlay in geographic CGCS2000 (EPSG:4490), the CRS every workspace layer is held in, so that the
  ``official`` area method (图斑椭球面积) measures each piece with its edges as they were drawn.
* **Union, then measure**: the features of all the kinds an indicator lists are dissolved into one
  geometry (overlaps counted once), clipped to each unit, and only then measured with
  :mod:`spatial.geo.area` (``official`` by default, ``geodesic`` on request).  Never a sum of feature areas.
* The unit's own area is measured the same way; the share is the ratio of the two.
* A per-type breakdown flattens overlapping designations with precedence (the stricter designation keeps
  the shared area, as wdpar's ``st_erase_overlaps`` does): parts are disjoint and sum to the union.
* Overlays and measurement are the shared operations of :mod:`spatial.geo.ops`; units come from
  :mod:`spatial.analysis.territory`, targets from :mod:`spatial.analysis.targets`.

Analyses return plain tables (:class:`IndicatorResult`); :mod:`spatial.outputs.indicator_report` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.analysis import mines as mines_mod
from spatial.analysis.targets import (
    IndicatorSpec,
    indicator_specs,
    row_base,
    with_targets,
)
from spatial.analysis.territory import MIN_COVERAGE, Units, territory_and_units
from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000
from spatial.geo.ops import clip, difference, dissolve, layer_geoms, measure

if TYPE_CHECKING:  # pragma: no cover
    from spatial.rules.catalog import Catalog
    from spatial.sources.workspace import Workspace

__all__ = ["IndicatorResult", "indicator_result", "compute_indicators", "area_share_rows", "flatten_by_precedence"]

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
            base = row_base(spec, units, i, catalog)
            base.update(value=value, value_unit=spec.unit, area_km2=inside[i] / 1e6 if union is not None else np.nan,
                        unit_area_km2=unit_m2 / 1e6)
            for row in with_targets(spec, base, units, i, catalog, min_coverage, has_data=union is not None,
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
    mine_register = gpd.GeoDataFrame(geometry=[], crs=CGCS2000)
    to_restore = gpd.GeoDataFrame(geometry=[], crs=CGCS2000)
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
                                                             "geometry"], geometry="geometry", crs=CGCS2000)
    settings = {
        "workspace": workspace.name, "illustrative": bool(getattr(workspace, "illustrative", False)),
        "area_method": method, "by": by or "", "territory_kind": workspace.settings.get("territory_kind", ""),
        "territory_code": workspace.settings.get("territory_code", ""),
        "terrain_class": workspace.settings.get("terrain_class", ""), "min_coverage": min_coverage,
        "overlay": "EPSG:4490, union then measure (spatial.geo.area)",
    }
    return IndicatorResult(table=table, breakdown=pd.DataFrame(breakdown, columns=_BREAKDOWN_COLUMNS),
                           mines=mine_register, to_restore=to_restore, parts=parts_gdf, settings=settings,
                           notes=notes)

def compute_indicators(workspace: Workspace, by: str | None = None, method: AreaMethod = "official") -> pd.DataFrame:
    """The indicator table (see :func:`indicator_result` for the breakdown, mine register and parts)."""
    return indicator_result(workspace, by, method).table
