"""Red-line version change (生态保护红线版本对比): area added, removed and net, per unit, and the verdict on
"area not reduced" (面积不减少, 000:936).

Method: each version is dissolved (overlaps counted once); removed = old − new, added = new − old, both
exploded into pieces and measured with :mod:`spatial.geo.area`.  A piece is a *sliver* when it is smaller
than ``sliver_m2`` or thinner than ``sliver_width_m`` (mean width 2·area/perimeter, the width of a long
strip): re-digitised boundaries produce them by the thousand.  Slivers are reported apart and are not
counted as real change; the verdict is on the real net change (real added − real removed ≥ 0).
Per unit, pieces are clipped to the unit (the sliver test is made on the whole piece first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.analysis.territory import Units, territory_units, units_of
from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000
from spatial.geo.ops import (
    clip,
    difference,
    dissolve,
    layer_geoms,
    measure,
    pieces_of,
    split_by_units,
)
from spatial.rules.catalog import bundled_catalog
from spatial.sources.files import read_layer

if TYPE_CHECKING:  # pragma: no cover
    from spatial.rules.catalog import Catalog
    from spatial.sources.workspace import Workspace

__all__ = ["VERDICT_KEPT", "VERDICT_OFFSET", "VERDICT_REDUCED", "DiffResult", "diff_layers", "diff_versions"]

VERDICT_KEPT = "面积未减少 area not reduced"
VERDICT_OFFSET = "面积未减少（调出已由调入抵补） area not reduced (removals offset by additions)"
VERDICT_REDUCED = "面积减少 area reduced"
ADDED = "新增 added"
REMOVED = "减少 removed"
RULE = "面积不减少 area not reduced (000:936)"

_SUMMARY_COLUMNS = ["unit_kind", "unit_code", "unit", "old_km2", "new_km2", "net_km2", "added_km2", "removed_km2",
                    "real_added_km2", "real_removed_km2", "real_net_km2", "sliver_added_m2", "sliver_removed_m2",
                    "pieces_added", "pieces_removed", "sliver_pieces", "verdict", "note"]


@dataclass
class DiffResult:
    """summary: the whole layers first, then one row per unit; pieces: added and removed polygons."""

    summary: pd.DataFrame
    pieces: gpd.GeoDataFrame
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> pd.Series:
        return self.summary.iloc[0]

    @property
    def area_not_reduced(self) -> bool:
        return self.total["verdict"] != VERDICT_REDUCED


def change_verdict(real_added: float, real_removed: float) -> str:
    net = real_added - real_removed
    if net < -1e-6:
        return VERDICT_REDUCED
    return VERDICT_OFFSET if real_removed > 0 else VERDICT_KEPT


def diff_layers(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    unit_sets: Sequence[Units] = (),
    method: AreaMethod = "official",
    *,
    sliver_m2: float | None = None,
    sliver_width_m: float | None = None,
    kind_label: str = "",
) -> DiffResult:
    """Compare two versions of a polygon layer (any CRS each); sliver thresholds default to the bundled
    catalogue's ``[thresholds]``."""
    if method not in ("official", "geodesic"):
        raise ValueError(f"area method must be 'official' or 'geodesic', not {method!r}")
    sliver_m2 = bundled_catalog().threshold("sliver_m2") if sliver_m2 is None else sliver_m2
    sliver_width_m = bundled_catalog().threshold("sliver_width_m") if sliver_width_m is None else sliver_width_m
    old_u = dissolve(layer_geoms(old))
    new_u = dissolve(layer_geoms(new))
    removed = pieces_of(difference(old_u, new_u), method, sliver_m2, sliver_width_m)
    added = pieces_of(difference(new_u, old_u), method, sliver_m2, sliver_width_m)
    old_m2, new_m2 = measure([old_u, new_u], method)

    def row(kind: str, code: str, name: str, o: float, n: float, ra: float, rr: float, sa: float, sr: float,
            pa: int, pr: int, ns: int) -> dict[str, Any]:
        return {"unit_kind": kind, "unit_code": code, "unit": name, "old_km2": o / 1e6, "new_km2": n / 1e6,
                "net_km2": (n - o) / 1e6, "added_km2": (ra + sa) / 1e6, "removed_km2": (rr + sr) / 1e6,
                "real_added_km2": ra / 1e6, "real_removed_km2": rr / 1e6, "real_net_km2": (ra - rr) / 1e6,
                "sliver_added_m2": sa, "sliver_removed_m2": sr, "pieces_added": pa, "pieces_removed": pr,
                "sliver_pieces": ns, "verdict": change_verdict(ra, rr), "note": ""}

    ra, rr = float(added.area_m2[~added.sliver].sum()), float(removed.area_m2[~removed.sliver].sum())
    sa, sr = float(added.area_m2[added.sliver].sum()), float(removed.area_m2[removed.sliver].sum())
    rows = [row("全部 all", "", "全部图层 whole layers", old_m2, new_m2, ra, rr, sa, sr,
                int((~added.sliver).sum()), int((~removed.sliver).sum()),
                int(added.sliver.sum() + removed.sliver.sum()))]
    owners = {"added": np.full(len(added), "", dtype=object), "removed": np.full(len(removed), "", dtype=object)}
    for units in unit_sets:
        o_u = measure(clip(units.geoms, old_u), method)
        n_u = measure(clip(units.geoms, new_u), method)
        sp_a = split_by_units(added, units.geoms, method)
        sp_r = split_by_units(removed, units.geoms, method)
        names = np.asarray(list(units.names) + [""], dtype=object)
        owners["added"] = np.where(sp_a.owner >= 0, names[sp_a.owner], owners["added"])
        owners["removed"] = np.where(sp_r.owner >= 0, names[sp_r.owner], owners["removed"])
        for i in range(len(units)):
            rows.append(row(units.kind_label, units.codes[i], units.names[i], o_u[i], n_u[i], sp_a.real_m2[i],
                            sp_r.real_m2[i], sp_a.sliver_m2[i], sp_r.sliver_m2[i], int(sp_a.real_n[i]),
                            int(sp_r.real_n[i]), int(sp_a.sliver_n[i] + sp_r.sliver_n[i])))
    frames = []
    for change, pcs, owner in ((REMOVED, removed, owners["removed"]), (ADDED, added, owners["added"])):
        if len(pcs):
            frames.append(gpd.GeoDataFrame({
                "change": change, "sliver": pcs.sliver.astype(int), "area_m2": pcs.area_m2,
                "area_ha": pcs.area_m2 / 1e4, "area_mu": pcs.area_m2 / (1e4 / 15), "perimeter_m": pcs.perimeter_m,
                "mean_width_m": pcs.mean_width_m, "unit": owner,
            }, geometry=gpd.GeoSeries(pcs.geoms, crs=CGCS2000), crs=CGCS2000))
    cols = ["change", "sliver", "area_m2", "area_ha", "area_mu", "perimeter_m", "mean_width_m", "unit", "geometry"]
    pieces = (gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CGCS2000)
              if frames else gpd.GeoDataFrame(columns=cols, geometry="geometry", crs=CGCS2000))
    settings = {"area_method": method, "sliver_m2": sliver_m2, "sliver_width_m": sliver_width_m,
                "kind": kind_label, "rule": RULE, "overlay": "EPSG:4490, each version dissolved first (spatial.geo.area)"}
    return DiffResult(pd.DataFrame(rows, columns=_SUMMARY_COLUMNS), pieces, settings)


def _read(path: str | Path, layer: str | None) -> gpd.GeoDataFrame:
    return read_layer(path, layer).gdf


def diff_versions(
    old: str | Path | gpd.GeoDataFrame,
    new: str | Path | gpd.GeoDataFrame | None = None,
    *,
    old_layer: str | None = None,
    new_layer: str | None = None,
    kind: str = "ecological_redline",
    workspace: Workspace | None = None,
    by: str | None = None,
    method: AreaMethod = "official",
    sliver_m2: float | None = None,
    sliver_width_m: float | None = None,
) -> DiffResult:
    """Compare two versions (files or GeoDataFrames).  ``new`` None: the workspace's current layer of ``kind``.

    With a workspace, rows are added for its territory and, with ``by``, for each unit of that layer.
    """
    catalog: Catalog = workspace.catalog if workspace is not None else bundled_catalog()
    sliver_m2 = catalog.threshold("sliver_m2") if sliver_m2 is None else sliver_m2
    sliver_width_m = catalog.threshold("sliver_width_m") if sliver_width_m is None else sliver_width_m
    kind_obj = catalog.kind(kind)
    old_gdf = old if isinstance(old, gpd.GeoDataFrame) else _read(old, old_layer)
    if new is None:
        layer = workspace.layer(kind) if workspace is not None else None
        if layer is None:
            raise ValueError(f"no NEW version given and the workspace has no {kind!r} layer to compare with")
        new_gdf = layer.gdf
        new_name = f"workspace:{kind}"
    else:
        new_gdf = new if isinstance(new, gpd.GeoDataFrame) else _read(new, new_layer)
        new_name = str(new) if not isinstance(new, gpd.GeoDataFrame) else "NEW"
    unit_sets: list[Units] = []
    territory = None
    if workspace is not None:
        territory = territory_units(workspace, method)
        if territory is not None:
            unit_sets.append(territory)
    if by:
        if workspace is None:
            raise ValueError("--by needs a workspace holding the unit layer")
        unit_sets.append(units_of(workspace, by, method, territory))
    result = diff_layers(old_gdf, new_gdf, unit_sets, method, sliver_m2=sliver_m2, sliver_width_m=sliver_width_m,
                         kind_label=kind_obj.label)
    result.settings.update(old=str(old) if not isinstance(old, gpd.GeoDataFrame) else "OLD", new=new_name,
                           old_features=len(old_gdf), new_features=len(new_gdf), by=by or "")
    return result
