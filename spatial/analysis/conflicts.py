"""三区三线 consistency: the three lines must not overlap, the three zones must tile the territory.

Checks (each a geometry of problem pieces, measured with :mod:`spatial.geo.area` after dissolving):

* ``overlap:A:B`` — pairwise overlap of the three control lines (生态保护红线, 永久基本农田, 城镇开发边界),
  which must not cross or overlap (三条控制线不交叉、不重叠、不冲突);
* ``zone_gap`` — parts of the territory in none of the three zones (生态/农业/城镇空间);
* ``zone_overlap:A:B`` — pairwise overlap of the zones;
* ``zone_outside`` — zone area outside the territory boundary;
* ``line_outside:LINE:ZONE`` — a line outside its zone: the red line outside ecological space (and, as
  information, permanent farmland outside agricultural space, the urban development boundary outside
  urban space).

Pieces thinner or smaller than the sliver tolerance (see :func:`spatial.analysis.indicators.pieces_of`) are
reported apart: they are usually digitising mismatches, not planning conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.analysis.targets import STATUS_NO_DATA
from spatial.analysis.territory import Units, territory_and_units
from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000
from spatial.geo.ops import (
    clip,
    difference,
    dissolve,
    layer_geoms,
    pieces_of,
    split_by_units,
)
from spatial.rules.catalog import bundled_catalog

if TYPE_CHECKING:  # pragma: no cover
    from spatial.rules.catalog import Catalog
    from spatial.sources.workspace import Workspace

__all__ = ["STATUS_OK", "STATUS_SLIVERS", "STATUS_CONFLICT", "STATUS_GAP", "STATUS_OUTSIDE",
           "ConflictResult", "check_conflicts", "conflicts_from_layers"]

STATUS_OK = "一致 consistent"
STATUS_SLIVERS = "仅碎片 slivers only"
STATUS_CONFLICT = "冲突 conflict"
STATUS_GAP = "缝隙 gap"
STATUS_OUTSIDE = "越界 outside"

_LINES_RULE = ("三条控制线不交叉、不重叠、不冲突 the three control lines must not cross, overlap or conflict "
               "(《关于在国土空间规划中统筹划定落实三条控制线的指导意见》2019; 三区三线 000:929)")
_ZONES_RULE = "三区覆盖全域、互不重叠 the three zones tile the territory without overlap (三区三线 000:929, 000:943)"
_REDLINE_RULE = "生态保护红线位于生态空间内 the red line lies within ecological space (000:943)"

_SUMMARY_COLUMNS = ["check", "check_label", "layer_a", "layer_b", "unit_kind", "unit_code", "unit", "area_m2",
                    "area_ha", "area_mu", "pieces", "sliver_pieces", "sliver_m2", "status", "note"]


@dataclass
class ConflictResult:
    """summary: one row per check × unit (the first per check: whole layers); pieces: problem polygons."""

    summary: pd.DataFrame
    pieces: gpd.GeoDataFrame
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def check(self, check_id: str) -> pd.DataFrame:
        return self.summary[self.summary["check"] == check_id]


def _label(catalog: Catalog | None, kind_id: str) -> str:
    kind = catalog.kinds.get(kind_id) if catalog is not None else None
    return kind.label if kind is not None else kind_id


def _short(catalog: Catalog | None, kind_id: str) -> str:
    kind = catalog.kinds.get(kind_id) if catalog is not None else None
    return kind.name_zh if kind is not None else kind_id


def conflicts_from_layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    territory: Units | None,
    unit_sets: Sequence[Units] = (),
    method: AreaMethod = "official",
    *,
    catalog: Catalog | None = None,
    sliver_m2: float | None = None,
    sliver_width_m: float | None = None,
) -> ConflictResult:
    """The 三区三线 checks on layers {kind id: GeoDataFrame}.

    Parameters
    ----------
    layers : mapping
        Kind id -> GeoDataFrame (any CRS) for the lines and zones present.
    territory : Units or None
        Bounds the zones (gaps, zones outside).
    unit_sets : sequence of Units
        Split the rows per unit.
    method : {"official", "geodesic"}
    catalog : Catalog, optional
        The three-zone structure (``[three_zones]``) and sliver thresholds; default the bundled catalogue.
    sliver_m2, sliver_width_m : float, optional
        Pieces smaller or thinner than these are slivers (default: the catalogue's ``[thresholds]``).

    Returns
    -------
    ConflictResult
    """
    catalog = catalog or bundled_catalog()
    slivers = (catalog.threshold("sliver_m2") if sliver_m2 is None else sliver_m2,
               catalog.threshold("sliver_width_m") if sliver_width_m is None else sliver_width_m)
    structure = catalog.three_zones
    known = (*structure["lines"], *structure["zones"])
    geom = {k: dissolve(layer_geoms(layers[k])) for k in known if k in layers}
    tgeom = territory.geoms[0] if territory is not None else None
    rows: list[dict[str, Any]] = []
    piece_frames: list[gpd.GeoDataFrame] = []
    for check in _checks(geom, tgeom, structure, catalog):
        head = {"check": check[0], "check_label": check[1],
                "layer_a": _label(catalog, check[2]) if check[2] in known else check[2],
                "layer_b": _label(catalog, check[3]) if check[3] in known else check[3]}
        if check[4] is None:
            rows.extend(_no_data_rows(head, check, geom, tgeom, known, unit_sets))
            continue
        r, frame = _check_rows(head, check, territory, unit_sets, method, slivers)
        rows.extend(r)
        if frame is not None:
            piece_frames.append(frame)
    cols = ["check", "check_label", "layer_a", "layer_b", "area_m2", "area_ha", "perimeter_m", "mean_width_m",
            "sliver", "unit", "geometry"]
    pieces = (pd.concat(piece_frames, ignore_index=True) if piece_frames
              else gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=CGCS2000))
    pieces = gpd.GeoDataFrame(pieces, geometry="geometry", crs=CGCS2000)
    settings = {"area_method": method, "sliver_m2": slivers[0], "sliver_width_m": slivers[1],
                "overlay": "EPSG:4490, layers dissolved first (spatial.geo.area)"}
    return ConflictResult(pd.DataFrame(rows, columns=_SUMMARY_COLUMNS), pieces, settings)


def _checks(geom: dict[str, Any], tgeom: Any, structure: Mapping[str, Any],
            catalog: Catalog) -> list[tuple[str, str, str, str, Any, str]]:
    """(id, label, layer a, layer b, problem geometry or None when a layer is missing, rule) of every check."""
    lines, zones_all, line_zone = structure["lines"], structure["zones"], structure["line_zone"]
    checks: list[tuple[str, str, str, str, Any, str]] = []
    for a, b in combinations(lines, 2):
        label = f"三线重叠 lines overlap: {_short(catalog, a)} × {_short(catalog, b)}"
        g = clip([geom[a]], geom[b])[0] if a in geom and b in geom else None
        checks.append((f"overlap:{a}:{b}", label, a, b, g, _LINES_RULE))
    zones = [z for z in zones_all if z in geom]
    missing_zones = [z for z in zones_all if z not in geom]
    zone_note = ("缺少 missing: " + ", ".join(missing_zones) + "; ") if zones and missing_zones else ""
    all_zones = dissolve([geom[z] for z in zones]) if zones else None
    gap = difference(tgeom, all_zones) if zones and tgeom is not None else None
    checks.append(("zone_gap", "三区缝隙 gaps: 国土范围内未划入三区 territory in no zone", "territory", "zones", gap,
                   zone_note + _ZONES_RULE))
    for a, b in combinations(zones_all, 2):
        g = clip([geom[a]], geom[b])[0] if a in geom and b in geom else None
        checks.append((f"zone_overlap:{a}:{b}", f"三区重叠 zones overlap: {_short(catalog, a)} × {_short(catalog, b)}",
                       a, b, g, _ZONES_RULE))
    outside = difference(all_zones, tgeom) if zones and tgeom is not None else None
    checks.append(("zone_outside", "三区越界 zones outside the territory", "zones", "territory", outside, _ZONES_RULE))
    for line, zone in line_zone.items():
        g = difference(geom[line], geom[zone]) if line in geom and zone in geom else None
        rule = _REDLINE_RULE if line == "ecological_redline" else "信息 information"
        checks.append((f"line_outside:{line}:{zone}",
                       f"控制线越出所属空间 line outside its zone: {_short(catalog, line)} ⊄ {_short(catalog, zone)}",
                       line, zone, g, rule))
    return checks


_WHOLE = "全部图层 whole layers"


def _no_data_rows(head: dict[str, Any], check: tuple, geom: dict[str, Any], tgeom: Any, known: tuple[str, ...],
                  unit_sets: Sequence[Units]) -> list[dict[str, Any]]:
    """无数据 rows of a check whose layers are missing, naming them."""
    _, _, a, b, _, _ = check
    missing = [k for k in (a, b) if k in known and k not in geom]
    if a == "territory" or b == "territory":
        missing = missing or (["territory"] if tgeom is None else ["zones"])
    why = "缺少 missing: " + ", ".join(missing or ["territory"])
    rows = []
    for units in [None, *unit_sets]:
        for i in range(1 if units is None else len(units)):
            rows.append({**head, "unit_kind": "全部 all" if units is None else units.kind_label,
                         "unit_code": "" if units is None else units.codes[i],
                         "unit": _WHOLE if units is None else units.names[i],
                         "area_m2": np.nan, "area_ha": np.nan, "area_mu": np.nan, "pieces": 0,
                         "sliver_pieces": 0, "sliver_m2": np.nan, "status": STATUS_NO_DATA, "note": why})
    return rows


def _check_rows(head: dict[str, Any], check: tuple, territory: Units | None, unit_sets: Sequence[Units],
                method: AreaMethod, slivers: tuple[float, float]) -> tuple[list[dict[str, Any]], gpd.GeoDataFrame | None]:
    """Rows of one check (whole layers, then per unit) and its problem pieces."""
    check_id, label, _, _, g, note = check
    pcs = pieces_of(g, method, *slivers)
    real = ~pcs.sliver
    bad = STATUS_GAP if check_id == "zone_gap" else STATUS_OUTSIDE if check_id == "zone_outside" else STATUS_CONFLICT

    def status(real_n: int, sliver_n: int) -> str:
        return bad if real_n else STATUS_SLIVERS if sliver_n else STATUS_OK

    real_m2 = float(pcs.area_m2[real].sum())
    rows = [{**head, "unit_kind": "全部 all", "unit_code": "", "unit": _WHOLE,
             "area_m2": real_m2, "area_ha": real_m2 / 1e4, "area_mu": real_m2 / (1e4 / 15),
             "pieces": int(real.sum()), "sliver_pieces": int(pcs.sliver.sum()),
             "sliver_m2": float(pcs.area_m2[pcs.sliver].sum()),
             "status": status(int(real.sum()), int(pcs.sliver.sum())), "note": note}]
    finest = unit_sets[-1] if unit_sets else territory
    owner_names = np.full(len(pcs), "", dtype=object)
    for units in unit_sets:
        split = split_by_units(pcs, units.geoms, method)
        if units is finest:
            owner_names = np.where(split.owner >= 0, np.asarray(list(units.names) + [""], dtype=object)[split.owner], "")
        for i in range(len(units)):
            rows.append({**head, "unit_kind": units.kind_label, "unit_code": units.codes[i],
                         "unit": units.names[i], "area_m2": split.real_m2[i], "area_ha": split.real_m2[i] / 1e4,
                         "area_mu": split.real_m2[i] / (1e4 / 15), "pieces": int(split.real_n[i]),
                         "sliver_pieces": int(split.sliver_n[i]), "sliver_m2": split.sliver_m2[i],
                         "status": status(int(split.real_n[i]), int(split.sliver_n[i])), "note": ""})
    if not len(pcs):
        return rows, None
    frame = gpd.GeoDataFrame({
        **head, "area_m2": pcs.area_m2, "area_ha": pcs.area_m2 / 1e4, "perimeter_m": pcs.perimeter_m,
        "mean_width_m": pcs.mean_width_m, "sliver": pcs.sliver.astype(int), "unit": owner_names,
    }, geometry=gpd.GeoSeries(pcs.geoms, crs=CGCS2000), crs=CGCS2000)
    return rows, frame


def check_conflicts(
    workspace: Workspace,
    by: str | None = None,
    method: AreaMethod = "official",
    *,
    sliver_m2: float | None = None,
    sliver_width_m: float | None = None,
) -> ConflictResult:
    """三区三线 consistency of a workspace, for the whole layers and, with ``by``, per unit of that layer."""
    if method not in ("official", "geodesic"):
        raise ValueError(f"area method must be 'official' or 'geodesic', not {method!r}")
    territory, unit_sets = territory_and_units(workspace, by, method)
    structure = workspace.catalog.three_zones
    layers = {k: layer.gdf for k, layer in workspace.layers.items() if k in (*structure['lines'], *structure['zones'])}
    result = conflicts_from_layers(layers, territory, unit_sets, method, catalog=workspace.catalog,
                                   sliver_m2=sliver_m2, sliver_width_m=sliver_width_m)
    result.settings.update(workspace=workspace.name, by=by or "",
                           illustrative=bool(getattr(workspace, "illustrative", False)))
    if territory is None:
        result.notes.append("工作空间未指定范围 the workspace names no territory (territory_kind / territory_code): "
                            "zone gaps and zones outside it cannot be checked")
    return result
