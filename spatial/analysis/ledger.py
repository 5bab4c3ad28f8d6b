"""Versioned layer sets and the ledger (一张图 / 一本账, 002:44): a layer's area per unit and version.

A workspace declares the versions of a layer beside the layer itself::

    [layers.ecological_redline]                 # the current layer, as before
    path = "changshan.gpkg"
    layer = "ecological_redline"

    [layers.ecological_redline.versions.2020]
    path = "changshan.gpkg"                     # relative to the workspace; default: the layer's own file
    layer = "ecological_redline"                # layer inside the file (GeoPackage)
    date = "2020-12-31"                         # orders the versions (YYYY, YYYY-MM or YYYY-MM-DD)
    note = "划定方案 delineation scheme"

    [layers.ecological_redline.versions.2023]
    path = "compliance.gpkg"
    layer = "ecological_redline_2023"
    date = "2023-12-31"

Method (that of ``spatial diff``, :mod:`spatial.analysis.versions`, one step per pair of consecutive versions):

* versions are ordered by date (a version without ``date`` takes its name when that is a date or a
  year; a year sorts as its last day); each version is dissolved (overlaps counted once) in EPSG:4490;
* per unit: area = official area of (unit ∩ version); change = area − area of the previous version;
  added = (this − previous) ∩ unit, removed = (previous − this) ∩ unit, both measured officially;
* pieces thinner or smaller than the sliver thresholds (re-digitised boundaries) are counted in
  added/removed but not in the verdict, which is on the real net change (real added − real removed ≥ 0):
  面积不减少 area not reduced;
* units: the workspace territory (or, without one, the union of all versions: the whole layers), plus
  the features of ``by`` (a workspace layer) or of ``units`` (a file or GeoDataFrame).

Verdicts: each unit and step gets one.  A unit losing area is flagged even when the total grows
(``LedgerResult.flagged``); the **overall verdict is the territory's**: it fails when the territory total
is reduced at any step, and passes otherwise, whatever single units do.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.geo.area import AreaMethod
from spatial.analysis.territory import Units, territory_units, units_of
from spatial.analysis.versions import VERDICT_KEPT, VERDICT_OFFSET, VERDICT_REDUCED, change_verdict
from spatial.errors import InputError
from spatial.geo.crs import CGCS2000, to_workspace_crs
from spatial.geo.ops import Pieces, clip, difference, dissolve, layer_geoms, measure, pieces_of, polygonal, split_by_units
from spatial.rules.catalog import bundled_catalog
from spatial.sources.files import read_layer
from spatial.sources.names import feature_names

if TYPE_CHECKING:  # pragma: no cover
    from spatial.sources.workspace import Workspace

__all__ = ["Version", "LedgerResult", "ledger", "workspace_versions", "order_versions",
           "VERDICT_BASELINE", "HEADERS"]

VERDICT_BASELINE = "基准版本 baseline"
RULE = "生态保护红线面积不减少 red-line area not reduced (000:936; 001:207)"

HEADERS: dict[str, str] = {
    "unit_kind": "单位类型 unit kind",
    "unit": "单位 unit",
    "code": "代码 code",
    "version": "版本 version",
    "date": "日期 date",
    "previous": "上一版本 previous version",
    "area_m2": "面积 area m²",
    "area_ha": "面积 area 公顷 ha",
    "area_km2": "面积 area km²",
    "change_m2": "变化 change m²",
    "added_m2": "新增 added m²",
    "removed_m2": "减少 removed m²",
    "sliver_m2": "碎片净变化 sliver net m²",
    "verdict": "结论 verdict",
    "note": "说明 note",
    "step": "变化步 step",
    "change": "变化 change",
    "sliver": "碎片 sliver",
}
_ROW_COLUMNS = ["unit_kind", "unit", "code", "version", "date", "previous", "area_m2", "area_ha", "area_km2",
                "change_m2", "added_m2", "removed_m2", "sliver_m2", "verdict", "note"]
_DATE_FORMS = (r"\d{4}", r"\d{4}-\d{1,2}", r"\d{4}-\d{1,2}-\d{1,2}")


@dataclass
class Version:
    """One version of a layer: a GeoDataFrame, or a file (and layer) read on demand."""

    name: str
    gdf: gpd.GeoDataFrame | None = None
    path: Path | None = None
    layer: str | None = None
    date: str = ""
    note: str = ""
    encoding: str | None = None
    crs: str | None = None

    def load(self) -> gpd.GeoDataFrame:
        """The version's features (read with :func:`spatial.sources.files.read_layer` the first time)."""
        if self.gdf is None:
            if self.path is None:
                raise ValueError(f"version {self.name!r} has neither a GeoDataFrame nor a path")
            self.gdf = read_layer(self.path, self.layer, encoding=self.encoding, crs=self.crs).gdf
        return self.gdf

    @property
    def source(self) -> str:
        if self.path is None:
            return "<GeoDataFrame>"
        return f"{self.path}:{self.layer}" if self.layer else str(self.path)


# ---------------------------------------------------------------------------------------- versions

def _date_key(text: str, name: str) -> _dt.date:
    """YYYY (its last day), YYYY-MM (its last day) or YYYY-MM-DD as a date."""
    t = text.strip()
    try:
        if re.fullmatch(_DATE_FORMS[0], t):
            return _dt.date(int(t), 12, 31)
        if re.fullmatch(_DATE_FORMS[1], t):
            y, m = (int(p) for p in t.split("-"))
            nxt = _dt.date(y + (m == 12), m % 12 + 1, 1)
            return nxt - _dt.timedelta(days=1)
        if re.fullmatch(_DATE_FORMS[2], t):
            y, m, d = (int(p) for p in t.split("-"))
            return _dt.date(y, m, d)
    except ValueError:
        pass
    raise ValueError(f"version {name!r}: date {text!r} is not YYYY, YYYY-MM or YYYY-MM-DD; fix its date")


def _looks_like_date(text: str) -> bool:
    return any(re.fullmatch(f, text.strip()) for f in _DATE_FORMS)


def order_versions(versions: Sequence[Version]) -> list[Version]:
    """Versions by date; a version without a date takes its name when that is a date or a year.

    All versions need a date, or none (then the given order is kept).
    """
    for v in versions:
        if not v.date and _looks_like_date(v.name):
            v.date = v.name
    dated = [v for v in versions if v.date]
    if dated and len(dated) < len(versions):
        missing = ", ".join(v.name for v in versions if not v.date)
        raise ValueError(f"versions {missing} have no date while others do; give every version a date "
                         f"(date = \"2020-12-31\") or none")
    if not dated:
        return list(versions)
    keys = [_date_key(v.date, v.name) for v in versions]
    order = sorted(range(len(versions)), key=lambda i: keys[i])
    return [versions[i] for i in order]


def workspace_versions(workspace: Workspace, layer: str = "ecological_redline") -> list[Version]:
    """The ``[layers.<layer>.versions.<name>]`` tables of a workspace as versions (not yet read)."""
    toml = workspace.path / "workspace.toml"
    entry = workspace.raw.get("layers", {}).get(layer, {})
    table = entry.get("versions") if isinstance(entry, dict) else None
    if not table:
        raise InputError(f"{toml}: no versions of {layer!r}; declare them as [layers.{layer}.versions.2020] with "
                         f"path = \"file.gpkg\", layer = \"…\", date = \"2020-12-31\" (one table per version)")
    out = []
    for name, spec in table.items():
        if not isinstance(spec, dict):
            raise InputError(f"{toml}: [layers.{layer}.versions] entry {name!r} must be a table with path/layer/date")
        if "path" not in spec and "layer" not in spec:
            raise InputError(f"{toml}: [layers.{layer}.versions.{name}] has neither path nor layer; add "
                             f"path = \"file.gpkg\" (relative to the workspace) and/or layer = \"…\"")
        path = spec.get("path", entry.get("path"))
        if path is None:
            raise InputError(f"{toml}: [layers.{layer}.versions.{name}] gives a layer but no path, and "
                             f"[layers.{layer}] has none either; add path = \"file.gpkg\"")
        lyr = spec.get("layer", entry.get("layer") if "path" not in spec else None)
        out.append(Version(name=str(name), path=workspace.path / path, layer=lyr, date=str(spec.get("date", "")),
                           note=str(spec.get("note", "")), encoding=spec.get("encoding"), crs=spec.get("crs")))
    return out


# ---------------------------------------------------------------------------------------- units

def _whole_layers(unions: Sequence[Any], method: AreaMethod) -> Units:
    geom = dissolve(list(unions))
    return Units("all", "全部 all", ["全部图层 whole layers"], [""], np.asarray([geom], dtype=object), [None],
                 measure([geom], method), np.ones(1))


def units_from_layer(source: str | Path | gpd.GeoDataFrame, method: AreaMethod = "official",
                     name_field: str | None = None) -> Units:
    """Units from a polygon layer (file or GeoDataFrame): names from the usual name fields, codes from ``code``."""
    gdf = source if isinstance(source, gpd.GeoDataFrame) else read_layer(source).gdf
    if gdf.crs is None:
        raise InputError("the units layer has no CRS; set it first, e.g. gdf.set_crs('EPSG:4490')")
    geo = gdf if gdf.crs.equals(CGCS2000) else to_workspace_crs(gdf)
    geoms = polygonal(np.asarray(geo.geometry.values, dtype=object))
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = polygonal(shapely.make_valid(geoms[bad]))
    codes = [str(c) for c in gdf["code"]] if "code" in gdf.columns else [""] * len(gdf)
    label = "单位 units" if isinstance(source, gpd.GeoDataFrame) else f"单位 units ({Path(source).name})"
    return Units("units", label, [str(n) for n in feature_names(gdf, name_field)], codes, geoms,
                 [None] * len(gdf), measure(geoms, method), np.full(len(gdf), np.nan))


def _unit_sets(workspace: Workspace | None, unions: Sequence[Any], by: str | None,
               units: str | Path | gpd.GeoDataFrame | None, method: AreaMethod) -> list[Units]:
    if by and units is not None:
        raise ValueError("give either by (a workspace layer) or units (a file), not both")
    territory = territory_units(workspace, method) if workspace is not None else None
    sets = [territory if territory is not None else _whole_layers(unions, method)]
    if by:
        if workspace is None:
            raise ValueError("by= needs a workspace holding the unit layer; or pass units= a file")
        sets.append(units_of(workspace, by, method, territory))
    elif units is not None:
        sets.append(units_from_layer(units, method))
    return sets


# ---------------------------------------------------------------------------------------- the ledger

@dataclass
class LedgerResult:
    """``rows``: one per unit set × unit × version (columns: see HEADERS); ``pieces``: added and removed
    polygons of every step; ``flagged``: units (not the territory) that lost area at some step."""

    rows: pd.DataFrame
    pieces: gpd.GeoDataFrame
    verdict: str
    flagged: list[str]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def area_not_reduced(self) -> bool:
        return self.verdict != VERDICT_REDUCED

    def to_dict(self) -> dict[str, Any]:
        """``{"rows": [...], "verdict": ..., "area_not_reduced": bool, "flagged_units": [...], "settings": {...}}``."""
        rows = [{k: _plain(v) for k, v in r.items()} for r in self.rows.to_dict(orient="records")]
        return {"rows": rows, "verdict": self.verdict, "area_not_reduced": self.area_not_reduced,
                "flagged_units": list(self.flagged), "settings": {k: _plain(v) for k, v in self.settings.items()}}


def _plain(v: Any) -> Any:
    if hasattr(v, "item"):
        v = v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


@dataclass
class _Step:
    added: Pieces
    removed: Pieces


def _steps(unions: Sequence[Any], method: AreaMethod, sliver_m2: float, sliver_width_m: float) -> list[_Step]:
    return [_Step(pieces_of(difference(new, old), method, sliver_m2, sliver_width_m),
                  pieces_of(difference(old, new), method, sliver_m2, sliver_width_m))
            for old, new in zip(unions[:-1], unions[1:])]


def _unit_rows(units: Units, versions: Sequence[Version], unions: Sequence[Any], steps: Sequence[_Step],
               method: AreaMethod) -> list[dict[str, Any]]:
    areas = [measure(clip(units.geoms, u), method) for u in unions]
    splits = [(split_by_units(s.added, units.geoms, method), split_by_units(s.removed, units.geoms, method))
              for s in steps]
    rows = []
    for i in range(len(units)):
        for k, v in enumerate(versions):
            row = {"unit_kind": units.kind_label, "unit": units.names[i], "code": units.codes[i], "version": v.name,
                   "date": v.date, "previous": "", "area_m2": float(areas[k][i]), "area_ha": areas[k][i] / 1e4,
                   "area_km2": areas[k][i] / 1e6, "change_m2": math.nan, "added_m2": math.nan,
                   "removed_m2": math.nan, "sliver_m2": math.nan, "verdict": VERDICT_BASELINE, "note": v.note}
            if k:
                add, rem = splits[k - 1]
                row.update(previous=versions[k - 1].name, change_m2=float(areas[k][i] - areas[k - 1][i]),
                           added_m2=float(add.real_m2[i] + add.sliver_m2[i]),
                           removed_m2=float(rem.real_m2[i] + rem.sliver_m2[i]),
                           sliver_m2=float(add.sliver_m2[i] - rem.sliver_m2[i]),
                           verdict=change_verdict(float(add.real_m2[i]), float(rem.real_m2[i])))
            rows.append(row)
    return rows


def _pieces_frame(versions: Sequence[Version], steps: Sequence[_Step]) -> gpd.GeoDataFrame:
    frames = []
    for k, step in enumerate(steps, 1):
        label = f"{versions[k - 1].name} → {versions[k].name}"
        for change, pcs in (("新增 added", step.added), ("减少 removed", step.removed)):
            if len(pcs):
                frames.append(gpd.GeoDataFrame(
                    {"step": label, "change": change, "sliver": pcs.sliver.astype(int), "area_m2": pcs.area_m2,
                     "area_ha": pcs.area_m2 / 1e4},
                    geometry=gpd.GeoSeries([shapely.MultiPolygon([g]) for g in pcs.geoms], crs=CGCS2000),
                    crs=CGCS2000))
    if not frames:
        return gpd.GeoDataFrame(columns=["step", "change", "sliver", "area_m2", "area_ha", "geometry"],
                                geometry="geometry", crs=CGCS2000)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=CGCS2000)


def _overall(rows: pd.DataFrame, territory_kind: str) -> tuple[str, list[str]]:
    steps = rows[rows["verdict"] != VERDICT_BASELINE]
    terr = steps[steps["unit_kind"] == territory_kind]
    if (terr["verdict"] == VERDICT_REDUCED).any():
        overall = VERDICT_REDUCED
    elif (terr["verdict"] == VERDICT_OFFSET).any():
        overall = VERDICT_OFFSET
    else:
        overall = VERDICT_KEPT
    others = steps[(steps["unit_kind"] != territory_kind) & (steps["verdict"] == VERDICT_REDUCED)]
    return overall, list(dict.fromkeys(others["unit"]))


def ledger(
    versions: Sequence[Version] | Workspace,
    *,
    layer: str = "ecological_redline",
    by: str | None = None,
    units: str | Path | gpd.GeoDataFrame | None = None,
    workspace: Workspace | None = None,
    method: AreaMethod = "official",
    sliver_m2: float | None = None,
    sliver_width_m: float | None = None,
) -> LedgerResult:
    """The ledger (一本账) of a layer's versions: area per unit and version, change, added, removed, verdict.

    Parameters
    ----------
    versions
        :class:`Version` objects, or a workspace whose ``[layers.<layer>.versions.*]`` tables declare them.
    layer
        The catalogue kind the versions are of (for a workspace, whose versions to read).
    by
        A workspace layer (admin_county, strategic_zone …) whose features are the units.
    units
        Or a polygon file / GeoDataFrame of units (names from the usual name fields, ``code``).
    workspace
        For ``by`` and the territory row when ``versions`` is a list.
    method
        ``"official"`` (图斑椭球面积) or ``"geodesic"``.
    sliver_m2, sliver_width_m
        Pieces smaller or thinner than this are slivers: counted in added/removed, not in the verdict.

    Returns
    -------
    LedgerResult
        Rows (territory first, then the units), change pieces, the overall (territory) verdict and the
        units flagged for losing area.
    """
    if method not in ("official", "geodesic"):
        raise ValueError(f"area method must be 'official' or 'geodesic', not {method!r}")
    if not isinstance(versions, (list, tuple)):
        workspace = versions  # a Workspace
        versions = workspace_versions(workspace, layer)
    if not versions:
        raise ValueError("no versions to put in the ledger; give at least one")
    ordered = order_versions(list(versions))
    unions = [dissolve(layer_geoms(v.load())) for v in ordered]
    catalog = workspace.catalog if workspace is not None else bundled_catalog()
    sliver_m2 = catalog.threshold("sliver_m2") if sliver_m2 is None else sliver_m2
    sliver_width_m = catalog.threshold("sliver_width_m") if sliver_width_m is None else sliver_width_m
    steps = _steps(unions, method, sliver_m2, sliver_width_m)
    sets = _unit_sets(workspace, unions, by, units, method)
    rows = pd.DataFrame([r for s in sets for r in _unit_rows(s, ordered, unions, steps, method)],
                        columns=_ROW_COLUMNS)
    overall, flagged = _overall(rows, sets[0].kind_label)
    settings = {"layer": layer, "area_method": method, "rule": RULE, "by": by or "",
                "units": "" if units is None or isinstance(units, gpd.GeoDataFrame) else str(units),
                "versions": "; ".join(f"{v.name} ({v.date or 'no date'}): {v.source}" for v in ordered),
                "sliver_m2": sliver_m2, "sliver_width_m": sliver_width_m,
                "overall": "territory total, every step (a unit losing area is flagged, not failing the total)"}
    return LedgerResult(rows=rows, pieces=_pieces_frame(ordered, steps), verdict=overall, flagged=flagged,
                        settings=settings)
