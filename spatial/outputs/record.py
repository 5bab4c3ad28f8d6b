"""The reading record of a check: every repair, set-aside feature and warning of the projects file and of the
constraint layers checked, so that no output a reviewer reads can hide a project that was never checked.

:func:`record_from` turns :class:`~spatial.sources.files.ReadResult` findings into one table (a GeoDataFrame in
EPSG:4490 carrying the geometry of set-aside features where they have one); :func:`attach_record` puts it on a
:class:`~spatial.analysis.check.CheckResult`; :func:`summary_with_set_aside` adds the set-aside projects to the
summary as 未检查 not checked.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import geopandas as gpd
import pandas as pd

from spatial.geo.crs import CGCS2000
from spatial.sources.names import feature_names

__all__ = ["KIND_LABELS", "NOT_CHECKED", "NOT_CHECKED_LABEL", "PROJECT_SCOPE", "RECORD_COLUMNS", "attach_record",
           "kind_counts", "layer_scope", "record_from", "record_gpkg_layer", "record_table", "set_aside_count",
           "summary_with_set_aside"]

NOT_CHECKED = "not_checked"
NOT_CHECKED_LABEL = "未检查 not checked"
PROJECT_SCOPE = "项目 project"
RECORD_COLUMNS = ["scope", "file", "layer", "feature", "number", "kind", "finding", "reason", "message",
                  "area_before_m2", "area_after_m2", "attributes"]
KIND_LABELS = {"repaired": "修复 repaired", "set_aside": "剔除（未检查） set aside (not checked)",
               "warning": "提示 warning"}
_LISTS = (("repairs", "repaired"), ("set_aside", "set_aside"), ("warnings", "warning"))


def layer_scope(kind_id: str) -> str:
    """The scope of a constraint layer's rows (``图层 layer:ecological_redline``)."""
    return f"图层 layer:{kind_id}"


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


def _attributes(aside: gpd.GeoDataFrame | None, number: int | None) -> tuple[str, Any]:
    """The attributes (JSON) and geometry of the set-aside feature numbered ``number`` (1-based in the file)."""
    if aside is None or number is None or (number - 1) not in aside.index:
        return "", None
    row = aside.loc[number - 1]
    geom_col = aside.geometry.name
    attrs = {str(k): _plain(v) for k, v in row.items() if k != geom_col}
    return json.dumps(attrs, ensure_ascii=False), row[geom_col]


def _rows(read: Any, scope: str) -> tuple[list[dict[str, Any]], list[Any]]:
    aside = getattr(read, "set_aside_features", None)
    # a plain reprojection: the workspace's route (densify, repair) would empty the invalid shapes set aside,
    # and the record must show them as they are in the file
    aside4490 = aside.to_crs(CGCS2000) if aside is not None and len(aside) and aside.crs is not None else aside
    rows, geoms = [], []
    for attr, kind in _LISTS:
        for f in getattr(read, attr, ()) or ():
            attrs, geom = _attributes(aside4490, f.number) if kind == "set_aside" else ("", None)
            rows.append({"scope": scope, "file": str(read.path), "layer": read.layer or "", "feature": f.feature or "",
                         "number": f.number, "kind": kind, "finding": f.kind, "reason": f.reason or "",
                         "message": f.message, "area_before_m2": f.area_before_m2, "area_after_m2": f.area_after_m2,
                         "attributes": attrs})
            geoms.append(None if geom is None or geom.is_empty else geom)
    return rows, geoms


def record_from(projects: Any = None, layers: Mapping[str, Any] | None = None) -> gpd.GeoDataFrame:
    """One table of every repair, set-aside feature and warning from reading the projects and the layers.

    Parameters
    ----------
    projects : ReadResult, optional
        The projects file as read (:func:`spatial.sources.files.read_layer`).
    layers : mapping of str to Layer or ReadResult, optional
        Kind id → the workspace :class:`~spatial.sources.workspace.Layer` (or its ReadResult).

    Returns
    -------
    GeoDataFrame
        :data:`RECORD_COLUMNS` plus a geometry (EPSG:4490): the set-aside feature's own where it has one, else
        empty. ``scope`` is 项目 project or 图层 layer:KIND; ``kind`` is repaired, set_aside or warning;
        ``attributes`` holds a set-aside feature's attributes as JSON.
    """
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    sources: list[tuple[Any, str]] = [(projects, PROJECT_SCOPE)] if projects is not None else []
    sources += [(getattr(lyr, "read", lyr), layer_scope(k)) for k, lyr in (layers or {}).items()]
    for read, scope in sources:
        r, g = _rows(read, scope)
        rows += r
        geoms += g
    frame = pd.DataFrame(rows, columns=RECORD_COLUMNS)
    frame["number"] = frame["number"].astype("Int64")
    for col in ("area_before_m2", "area_after_m2"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CGCS2000), crs=CGCS2000)


def attach_record(result: Any, projects: Any = None, layers: Mapping[str, Any] | None = None) -> Any:
    """Set ``result.record`` from the projects as read and the layers ``result`` checked (others are left out).

    Parameters
    ----------
    result : CheckResult
        The check to complete.
    projects : ReadResult, optional
        The projects file as read.
    layers : mapping of str to Layer, optional
        The layers the check was given (a Workspace's ``layers``); only the kinds in ``result.layers`` count.

    Returns
    -------
    CheckResult
        ``result`` itself.
    """
    checked = set(result.layers["layer"]) if len(result.layers) else set()
    result.record = record_from(projects, {k: v for k, v in (layers or {}).items() if k in checked})
    return result


def _record(result: Any) -> pd.DataFrame:
    rec = getattr(result, "record", None)
    return rec if rec is not None and len(rec) else pd.DataFrame(columns=RECORD_COLUMNS)


def set_aside_count(result: Any) -> dict[str, int]:
    """Set-aside features per scope (项目 project, 图层 layer:KIND), only scopes with any."""
    rec = _record(result)
    return {str(k): int(v) for k, v in rec.loc[rec["kind"] == "set_aside", "scope"].value_counts().items()}


def _set_aside_projects(result: Any) -> pd.DataFrame:
    """Summary rows for the projects set aside when reading: verdict 未检查 not checked, the reason as conflicts."""
    rec = _record(result)
    rec = rec[(rec["scope"] == PROJECT_SCOPE) & (rec["kind"] == "set_aside")]
    names: list[str] = []
    types: list[str] = []
    for r in rec.itertuples(index=False):
        attrs = json.loads(r.attributes) if r.attributes else {}
        found = feature_names(pd.DataFrame([attrs])).iloc[0] if attrs else ""
        names.append(found if found and found != "1" else (r.feature or f"#{r.number}"))
        given = result.settings.get("project_type") if isinstance(getattr(result, "settings", None), dict) else None
        types.append(str(given or attrs.get("project_type") or ""))
    return pd.DataFrame({"project_no": rec["number"].to_numpy(dtype=object), "project": names,
                         "project_type": types, "verdict": NOT_CHECKED, "verdict_label": NOT_CHECKED_LABEL,
                         "conflicts": rec["message"].to_numpy(dtype=object)})


def summary_with_set_aside(result: Any) -> pd.DataFrame:
    """``result.summary`` plus one 未检查 not checked row per project set aside when reading, by project number.

    Parameters
    ----------
    result : CheckResult
        A check with its ``record`` (see :func:`attach_record`).

    Returns
    -------
    DataFrame
        The summary itself when no project was set aside.
    """
    extra = _set_aside_projects(result)
    if len(extra) == 0:
        return result.summary
    out = pd.concat([result.summary, extra.reindex(columns=result.summary.columns)], ignore_index=True)
    out["project_no"] = pd.to_numeric(out["project_no"]).astype(int)
    return out.sort_values("project_no", kind="stable", ignore_index=True)


def record_gpkg_layer(result: Any) -> pd.DataFrame:
    """The record for the GeoPackage: spatial where any set-aside feature has a geometry (multi-part types, as
    the other layers), else a plain attribute table."""
    rec = _record(result)
    if not isinstance(rec, gpd.GeoDataFrame) or rec.geometry.isna().all():
        return pd.DataFrame(rec[[c for c in RECORD_COLUMNS if c in rec.columns]])
    return rec


def record_table(result: Any) -> pd.DataFrame:
    """The record without geometry, for CSV, the workbook and the report."""
    rec = _record(result)
    return pd.DataFrame(rec[[c for c in RECORD_COLUMNS if c in rec.columns]]).reset_index(drop=True)


def kind_counts(result: Any) -> dict[str, int]:
    """Rows of the record per kind: {"repaired": n, "set_aside": n, "warning": n}."""
    counts = _record(result)["kind"].value_counts()
    return {k: int(counts.get(k, 0)) for _, k in _LISTS}
