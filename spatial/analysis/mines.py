"""Mine restoration (矿山生态修复): restoration rate of the mines needing treatment, by count and by area.

A mine needs treatment (需治理) when it is abandoned (``abandoned`` = 1) or not in production
(``status`` other than 在产).  It counts as restored only with ``status`` 已修复; 修复中 (restoring) and
未修复 (not restored) are still to restore.  The plan sets ≥ 90 % twice: by 2020 (000:1477) and by 2022
(000:984); both targets are kept (``targets`` of ``[indicators.mine_restoration]`` in the catalogue).

* by count: restored mines / mines needing treatment; the margin is in mines (restored − the number the
  target requires, rounded up), so −3 means three more mines must be restored;
* by area: union of restored mines / union of mines needing treatment, measured with :mod:`spatial.geo.area`;
  the margin is in hectares.

Per unit, a mine belongs to the unit holding a point on its surface (``point_on_surface``), so that a
mine drawn across a boundary is counted once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.analysis.targets import IndicatorSpec, row_base, with_targets
from spatial.analysis.territory import MIN_COVERAGE, Units, unit_names
from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000, to_workspace_crs
from spatial.geo.ops import dissolve, measure, polygonal
from spatial.rules.catalog import bundled_catalog

if TYPE_CHECKING:  # pragma: no cover
    from spatial.rules.catalog import Catalog

__all__ = ["STATES", "state_labels", "classify_mines", "mine_rows", "MineOutput"]

STATES = ("restored", "restoring", "not_restored", "active")   # the catalogue's [mine_states] word lists
UNKNOWN_LABEL = "未知 unknown"


def state_labels(words: Mapping[str, Any]) -> dict[str, str]:
    """Bilingual label per restoration state (and ``unknown``), from the catalogue's ``[mine_states]``."""
    return {**dict(words.get("labels", {})), "unknown": UNKNOWN_LABEL}


def _state(value: Any, words: Mapping[str, Any]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "unknown"
    text = str(value).strip()
    low = text.lower()
    for state in STATES:
        values = words.get(state, ())
        if text in values or low in values:
            return state
    return "unknown"


def _flag(value: Any, words: Mapping[str, Any]) -> bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().lower()
    if text in words.get("abandoned_true", ()):
        return True
    if text in words.get("abandoned_false", ()):
        return False
    return None


def classify_mines(gdf: gpd.GeoDataFrame, *, status_field: str = "status", abandoned_field: str = "abandoned",
                   name_field: str | None = None, words: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per mine: name, original status, state, abandoned flag, needs treatment, restored.

    ``words``: the status vocabulary (the catalogue's ``[mine_states]``; default the bundled catalogue's).

    Needs treatment: abandoned, or any state other than 在产 active (an unknown status counts as needing
    treatment: it is not shown to be producing).  Restored: needs treatment and 已修复.
    """
    if status_field not in gdf.columns:
        raise ValueError(f"the mine layer has no {status_field!r} field (已修复/修复中/未修复/在产); "
                         f"fields: {', '.join(map(str, gdf.columns))}")
    words = words if words is not None else bundled_catalog().mine_states
    states = [_state(v, words) for v in gdf[status_field]]
    abandoned = ([_flag(v, words) for v in gdf[abandoned_field]] if abandoned_field in gdf.columns
                 else [None] * len(gdf))
    needs = [bool(a) or s != "active" for a, s in zip(abandoned, states)]
    restored = [n and s == "restored" for n, s in zip(needs, states)]
    return pd.DataFrame({
        "name": unit_names(gdf, name_field),
        "mine_status": [None if v is None else str(v) for v in gdf[status_field]],
        "state": states,
        "abandoned": [np.nan if a is None else int(a) for a in abandoned],
        "needing": needs,
        "restored": restored,
    }, index=gdf.index)


@dataclass
class MineOutput:
    rows: list[dict[str, Any]]
    register: gpd.GeoDataFrame
    to_restore: gpd.GeoDataFrame
    notes: list[str] = field(default_factory=list)


def _assign(points: np.ndarray, units: Units) -> np.ndarray:
    """Index of the unit holding each point (−1: none); first unit wins on a shared boundary."""
    owner = np.full(len(points), -1)
    if len(points) == 0 or len(units) == 0:
        return owner
    tree = shapely.STRtree(units.geoms)
    p, u = tree.query(points, predicate="intersects")
    order = np.lexsort((u, p))
    p, u = p[order], u[order]
    first = np.r_[True, p[1:] != p[:-1]] if len(p) else np.zeros(0, dtype=bool)
    owner[p[first]] = u[first]
    return owner


def mine_rows(
    spec: IndicatorSpec,
    gdf: gpd.GeoDataFrame | None,
    unit_sets: Sequence[Units],
    method: AreaMethod = "official",
    *,
    catalog: Catalog | None = None,
    min_coverage: float = MIN_COVERAGE,
    name_field: str | None = None,
) -> MineOutput:
    """Indicator rows (by count and by area, one per target) per unit, the mine register and the mines to restore."""
    empty = gpd.GeoDataFrame(geometry=[], crs=CGCS2000)
    if gdf is None or len(gdf) == 0:
        return MineOutput(_no_data_rows(spec, unit_sets, catalog, min_coverage), empty, empty, [])
    kind = catalog.kinds.get("mine_site") if catalog is not None else None
    status_field = (kind.extra.get("status_field") if kind is not None else None) or "status"
    gdf = to_workspace_crs(gdf) if not gdf.crs.equals(CGCS2000) else gdf
    words = (catalog or bundled_catalog()).mine_states
    info = classify_mines(gdf, status_field=status_field, name_field=name_field, words=words)
    notes = []
    unknown = int((info["state"] == "unknown").sum())
    if unknown:
        notes.append(f"{unknown} 个矿山状态无法识别，按需治理未修复计 mine(s) with an unrecognised status "
                     "counted as needing treatment and not restored")
    mines = _Mines(gdf, info, method)
    rows: list[dict[str, Any]] = []
    unit_col = np.full(len(gdf), "", dtype=object)
    for units in unit_sets:
        owner = _assign(mines.points, units)
        # later unit sets (per unit) are finer than the territory: their names win
        unit_col = np.where(owner >= 0, np.asarray(list(units.names) + [""], dtype=object)[owner], unit_col)
        for i in range(len(units)):
            rows.extend(_count_rows(spec, units, i, mines, owner == i, catalog, min_coverage))
            rows.extend(_area_rows(spec, units, i, mines, owner == i, catalog, min_coverage))
    register = gpd.GeoDataFrame(info.assign(state=[state_labels(words)[s] for s in info["state"]],
                                            area_m2=mines.areas, area_ha=mines.areas / 1e4, unit=unit_col),
                                geometry=gpd.GeoSeries(mines.geoms, index=gdf.index, crs=CGCS2000), crs=CGCS2000)
    register = register[["name", "mine_status", "state", "abandoned", "needing", "restored", "area_m2", "area_ha",
                         "unit", "geometry"]]
    to_restore = register[register["needing"] & ~register["restored"]].reset_index(drop=True)
    return MineOutput(rows, register.reset_index(drop=True), to_restore, notes)


class _Mines:
    """The mine layer as arrays: geometries, polygonal parts, areas, a point inside each, and their states."""

    def __init__(self, gdf: gpd.GeoDataFrame, info: pd.DataFrame, method: AreaMethod) -> None:
        self.method = method
        self.geoms = np.asarray(gdf.geometry.values, dtype=object)
        self.polys = polygonal(self.geoms)
        self.has_area = ~shapely.is_empty(self.polys)
        self.areas = measure(self.polys, method)
        self.points = shapely.point_on_surface(np.where(shapely.is_missing(self.geoms), shapely.Point(), self.geoms))
        self.needing = info["needing"].to_numpy(bool)
        self.restored = info["restored"].to_numpy(bool)
        self.states = info["state"].to_numpy(object)

    def union_m2(self, sel: np.ndarray) -> float:
        """Area of the union of the selected mines' polygons (measured once: overlaps count once)."""
        sel = sel & self.has_area
        return float(measure([dissolve(self.polys[sel])], self.method)[0]) if sel.any() else 0.0


def _no_data_rows(spec: IndicatorSpec, unit_sets: Sequence[Units], catalog: Catalog | None,
                  min_coverage: float) -> list[dict[str, Any]]:
    rows = []
    for units in unit_sets:
        for i in range(len(units)):
            for measure_id in ("count", "area"):
                base = _base(spec, units, i, catalog, measure_id)
                base.update(value=np.nan)
                for row in with_targets(spec, base, units, i, catalog, min_coverage, has_data=False,
                                        margin_fn=lambda t: np.nan, margin_unit=""):
                    row["note"] = "无矿山图层 no mine_site layer"
                    rows.append(row)
    return rows


def _count_rows(spec: IndicatorSpec, units: Units, i: int, mines: _Mines, mine: np.ndarray, catalog: Catalog | None,
                min_coverage: float) -> list[dict[str, Any]]:
    """The restoration rate by count in unit ``i``: mines restored of the mines needing treatment."""
    need_i, rest_i = mine & mines.needing, mine & mines.restored
    n_need, n_rest = int(need_i.sum()), int(rest_i.sum())
    counts = (f"需治理 {n_need} 个 needing treatment; 已修复 {n_rest}; "
              f"修复中 {int((need_i & (mines.states == 'restoring')).sum())}; "
              f"未修复 {int((need_i & (mines.states != 'restored') & (mines.states != 'restoring')).sum())}")
    base = _base(spec, units, i, catalog, "count")
    base.update(value=100.0 * n_rest / n_need if n_need else np.nan, area_km2=np.nan,
                unit_area_km2=units.area_m2[i] / 1e6)
    rows = with_targets(spec, base, units, i, catalog, min_coverage, has_data=True,
                        margin_fn=lambda t: float(n_rest - math.ceil(t / 100.0 * n_need - 1e-9)), margin_unit="个 mines")
    for row in rows:
        row["note"] = "; ".join(x for x in (row["note"], counts if n_need else "无需治理矿山 no mine needs treatment")
                                if x)
    return rows


def _area_rows(spec: IndicatorSpec, units: Units, i: int, mines: _Mines, mine: np.ndarray, catalog: Catalog | None,
               min_coverage: float) -> list[dict[str, Any]]:
    """The restoration rate by area in unit ``i`` (unions of the mines, measured once)."""
    need_i, rest_i = mine & mines.needing, mine & mines.restored
    need_m2, rest_m2 = mines.union_m2(need_i), mines.union_m2(rest_i)
    point_only = bool((need_i & ~mines.has_area).any())
    base = _base(spec, units, i, catalog, "area")
    base.update(value=100.0 * rest_m2 / need_m2 if need_m2 > 0 and not point_only else np.nan,
                area_km2=need_m2 / 1e6, unit_area_km2=units.area_m2[i] / 1e6)
    rows = with_targets(spec, base, units, i, catalog, min_coverage, has_data=True,
                        margin_fn=lambda t: (rest_m2 - t / 100.0 * need_m2) / 1e4, margin_unit="公顷 ha")
    extra = (f"需治理 {need_m2 / 1e4:,.2f} 公顷 ha needing treatment; 已修复 {rest_m2 / 1e4:,.2f} 公顷 ha"
             if need_m2 > 0 else "无需治理矿山 no mine needs treatment")
    if point_only:
        extra = "部分矿山无面状几何 some mines have no polygon: no area rate"
    for row in rows:
        row["note"] = "; ".join(x for x in (row["note"], extra) if x)
    return rows


def _base(spec: IndicatorSpec, units: Units, i: int, catalog: Catalog | None, measure_id: str) -> dict[str, Any]:
    base = row_base(spec, units, i, catalog)
    zh, en = ("按个数", "by count") if measure_id == "count" else ("按面积", "by area")
    base.update(indicator_id=f"{spec.id}_{measure_id}", indicator=f"{spec.name_zh}（{zh}） {spec.name_en} ({en})",
                value_unit=spec.unit)
    if measure_id == "area":
        base["reported"] = np.nan
    return base
