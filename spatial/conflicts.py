"""三区三线 consistency: the three lines must not overlap, the three zones must tile the territory.

Checks (each a geometry of problem pieces, measured with :mod:`spatial.area` after dissolving):

* ``overlap:A:B`` — pairwise overlap of the three control lines (生态保护红线, 永久基本农田, 城镇开发边界),
  which must not cross or overlap (三条控制线不交叉、不重叠、不冲突);
* ``zone_gap`` — parts of the territory in none of the three zones (生态/农业/城镇空间);
* ``zone_overlap:A:B`` — pairwise overlap of the zones;
* ``zone_outside`` — zone area outside the territory boundary;
* ``line_outside:LINE:ZONE`` — a line outside its zone: the red line outside ecological space (and, as
  information, permanent farmland outside agricultural space, the urban development boundary outside
  urban space).

Pieces thinner or smaller than the sliver tolerance (see :func:`spatial.indicators.pieces_of`) are
reported apart: they are usually digitising mismatches, not planning conflicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.area import AreaMethod
from spatial.indicators import (
    GEOGRAPHIC, SLIVER_M2, SLIVER_WIDTH_M, STATUS_NO_DATA, Units, clip, difference, dissolve, layer_geoms,
    pieces_of, split_by_units, territory_and_units, write_tables,
)

if TYPE_CHECKING:  # pragma: no cover
    from spatial.catalog import Catalog
    from spatial.workspace import Workspace

__all__ = ["LINES", "ZONES", "LINE_ZONE", "STATUS_OK", "STATUS_SLIVERS", "STATUS_CONFLICT", "STATUS_GAP",
           "ConflictResult", "check_conflicts", "conflicts_from_layers", "write_conflict_outputs"]

LINES = ("ecological_redline", "permanent_farmland", "urban_boundary")
ZONES = ("ecological_space", "agricultural_space", "urban_space")
LINE_ZONE = {"ecological_redline": "ecological_space", "permanent_farmland": "agricultural_space",
             "urban_boundary": "urban_space"}

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
    sliver_m2: float = SLIVER_M2,
    sliver_width_m: float = SLIVER_WIDTH_M,
) -> ConflictResult:
    """The checks on layers {kind id: GeoDataFrame}; ``territory`` bounds the zones; ``unit_sets`` split rows."""
    geom = {k: dissolve(layer_geoms(layers[k])) for k in (*LINES, *ZONES) if k in layers}
    tgeom = territory.geoms[0] if territory is not None else None
    checks: list[tuple[str, str, str, str, Any, str]] = []  # id, label, a, b, geometry or None, note

    for a, b in combinations(LINES, 2):
        label = f"三线重叠 lines overlap: {_short(catalog, a)} × {_short(catalog, b)}"
        g = clip([geom[a]], geom[b])[0] if a in geom and b in geom else None
        checks.append((f"overlap:{a}:{b}", label, a, b, g, _LINES_RULE))
    zones = [z for z in ZONES if z in geom]
    missing_zones = [z for z in ZONES if z not in geom]
    zone_note = ("缺少 missing: " + ", ".join(missing_zones) + "; ") if zones and missing_zones else ""
    all_zones = dissolve([geom[z] for z in zones]) if zones else None
    gap = difference(tgeom, all_zones) if zones and tgeom is not None else None
    checks.append(("zone_gap", "三区缝隙 gaps: 国土范围内未划入三区 territory in no zone", "territory", "zones", gap,
                   zone_note + _ZONES_RULE))
    for a, b in combinations(ZONES, 2):
        g = clip([geom[a]], geom[b])[0] if a in geom and b in geom else None
        checks.append((f"zone_overlap:{a}:{b}", f"三区重叠 zones overlap: {_short(catalog, a)} × {_short(catalog, b)}",
                       a, b, g, _ZONES_RULE))
    outside = difference(all_zones, tgeom) if zones and tgeom is not None else None
    checks.append(("zone_outside", "三区越界 zones outside the territory", "zones", "territory", outside, _ZONES_RULE))
    for line, zone in LINE_ZONE.items():
        g = difference(geom[line], geom[zone]) if line in geom and zone in geom else None
        rule = _REDLINE_RULE if line == "ecological_redline" else "信息 information"
        checks.append((f"line_outside:{line}:{zone}",
                       f"控制线越出所属空间 line outside its zone: {_short(catalog, line)} ⊄ {_short(catalog, zone)}",
                       line, zone, g, rule))

    rows: list[dict[str, Any]] = []
    piece_frames: list[gpd.GeoDataFrame] = []
    finest = unit_sets[-1] if unit_sets else territory
    for check_id, label, a, b, g, note in checks:
        layer_a = _label(catalog, a) if a in LINES + ZONES else a
        layer_b = _label(catalog, b) if b in LINES + ZONES else b
        head = {"check": check_id, "check_label": label, "layer_a": layer_a, "layer_b": layer_b}
        whole_name = "全部图层 whole layers"
        if g is None:
            missing = [k for k in (a, b) if k in LINES + ZONES and k not in geom]
            if a == "territory" or b == "territory":
                missing = missing or (["territory"] if tgeom is None else ["zones"])
            why = "缺少 missing: " + ", ".join(missing or ["territory"])
            for units in [None, *unit_sets]:
                for i in range(1 if units is None else len(units)):
                    rows.append({**head, "unit_kind": "全部 all" if units is None else units.kind_label,
                                 "unit_code": "" if units is None else units.codes[i],
                                 "unit": whole_name if units is None else units.names[i],
                                 "area_m2": np.nan, "area_ha": np.nan, "area_mu": np.nan, "pieces": 0,
                                 "sliver_pieces": 0, "sliver_m2": np.nan, "status": STATUS_NO_DATA, "note": why})
            continue
        pcs = pieces_of(g, method, sliver_m2, sliver_width_m)
        real = ~pcs.sliver
        bad = STATUS_GAP if check_id == "zone_gap" else STATUS_OUTSIDE if check_id == "zone_outside" else STATUS_CONFLICT

        def status(real_n: int, sliver_n: int) -> str:
            return bad if real_n else STATUS_SLIVERS if sliver_n else STATUS_OK

        real_m2 = float(pcs.area_m2[real].sum())
        rows.append({**head, "unit_kind": "全部 all", "unit_code": "", "unit": whole_name,
                     "area_m2": real_m2, "area_ha": real_m2 / 1e4, "area_mu": real_m2 / (1e4 / 15),
                     "pieces": int(real.sum()), "sliver_pieces": int(pcs.sliver.sum()),
                     "sliver_m2": float(pcs.area_m2[pcs.sliver].sum()),
                     "status": status(int(real.sum()), int(pcs.sliver.sum())), "note": note})
        owner_names = np.full(len(pcs), "", dtype=object)
        for units in unit_sets:
            split = split_by_units(pcs, units.geoms, method)
            if units is finest:
                owner_names = np.where(split.owner >= 0,
                                       np.asarray(list(units.names) + [""], dtype=object)[split.owner], "")
            for i in range(len(units)):
                rows.append({**head, "unit_kind": units.kind_label, "unit_code": units.codes[i],
                             "unit": units.names[i], "area_m2": split.real_m2[i], "area_ha": split.real_m2[i] / 1e4,
                             "area_mu": split.real_m2[i] / (1e4 / 15), "pieces": int(split.real_n[i]),
                             "sliver_pieces": int(split.sliver_n[i]), "sliver_m2": split.sliver_m2[i],
                             "status": status(int(split.real_n[i]), int(split.sliver_n[i])), "note": ""})
        if len(pcs):
            piece_frames.append(gpd.GeoDataFrame({
                "check": check_id, "check_label": label, "layer_a": layer_a, "layer_b": layer_b,
                "area_m2": pcs.area_m2, "area_ha": pcs.area_m2 / 1e4, "perimeter_m": pcs.perimeter_m,
                "mean_width_m": pcs.mean_width_m, "sliver": pcs.sliver.astype(int), "unit": owner_names,
            }, geometry=gpd.GeoSeries(pcs.geoms, crs=GEOGRAPHIC), crs=GEOGRAPHIC))
    cols = ["check", "check_label", "layer_a", "layer_b", "area_m2", "area_ha", "perimeter_m", "mean_width_m",
            "sliver", "unit", "geometry"]
    pieces = (pd.concat(piece_frames, ignore_index=True) if piece_frames
              else gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=GEOGRAPHIC))
    pieces = gpd.GeoDataFrame(pieces, geometry="geometry", crs=GEOGRAPHIC)
    settings = {"area_method": method, "sliver_m2": sliver_m2, "sliver_width_m": sliver_width_m,
                "overlay": "EPSG:4490, layers dissolved first (spatial.area)"}
    return ConflictResult(pd.DataFrame(rows, columns=_SUMMARY_COLUMNS), pieces, settings)


def check_conflicts(
    workspace: Workspace,
    by: str | None = None,
    method: AreaMethod = "official",
    *,
    sliver_m2: float = SLIVER_M2,
    sliver_width_m: float = SLIVER_WIDTH_M,
) -> ConflictResult:
    """三区三线 consistency of a workspace, for the whole layers and, with ``by``, per unit of that layer."""
    if method not in ("official", "geodesic"):
        raise ValueError(f"area method must be 'official' or 'geodesic', not {method!r}")
    territory, unit_sets = territory_and_units(workspace, by, method)
    layers = {k: layer.gdf for k, layer in workspace.layers.items() if k in LINES + ZONES}
    result = conflicts_from_layers(layers, territory, unit_sets, method, catalog=workspace.catalog,
                                   sliver_m2=sliver_m2, sliver_width_m=sliver_width_m)
    result.settings.update(workspace=workspace.name, by=by or "",
                           illustrative=bool(getattr(workspace, "illustrative", False)))
    if territory is None:
        result.notes.append("工作空间未指定范围 the workspace names no territory (territory_kind / territory_code): "
                            "zone gaps and zones outside it cannot be checked")
    return result


def write_conflict_outputs(result: ConflictResult, out_dir: str | Path) -> dict[str, Path]:
    """conflicts.csv, .xlsx, .md, .html and conflicts.gpkg (one layer of pieces per check kind)."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    if len(result.pieces):
        for prefix in ("overlap", "zone_gap", "zone_overlap", "zone_outside", "line_outside"):
            sel = result.pieces[result.pieces["check"].str.split(":").str[0] == prefix]
            if len(sel):
                layers[prefix] = sel
    s = result.settings
    intro = (f"面积算法 area method: {s['area_method']}; 碎片 slivers: < {s['sliver_m2']:g} m² 或 or mean width "
             f"< {s['sliver_width_m']:g} m (reported apart)"
             + ("; 示意数据，非官方 illustrative data, not official" if s.get("illustrative") else ""))
    return write_tables(out_dir, "conflicts", "三区三线一致性 Three zones, three lines: consistency",
                        {"conflicts": result.summary}, layers, intro=intro)
