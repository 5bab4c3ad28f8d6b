"""The two inputs of a check made ready: constraint layers (polygonal, indexed) and projects (typed, measured).

Points stand for a circle of ``point_radius_m`` (128-sided), lines with ``line_width_m`` for a flat-ended
corridor of half the width each side, both built in each project's GK zone (:mod:`spatial.geo.zones`).
Project areas and line lengths are measured with :mod:`spatial.geo.area` (geodesic length on GRS80).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.engine.prepared import ConstraintLayer
from spatial.errors import InputError
from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000, to_workspace_crs
from spatial.geo.ops import _LINE_TYPES, _POINT_TYPES, _POLY_TYPES, keep_dim, measure, measure_length
from spatial.geo.zones import buffer_m
from spatial.rules.catalog import Catalog, LayerKind, load_catalog
from spatial.sources.files import degenerate_polygons
from spatial.sources.findings import ReadResult
from spatial.sources.names import feature_names, feature_numbers

__all__ = ["Projects", "prepare_projects", "constraint_layers", "PreparedLayers", "prepare_layers", "type_lookup", "POINT_QUAD_SEGS", "LINE_QUAD_SEGS"]

POINT_QUAD_SEGS = 32             # 128-sided circles: area within 0.04 % of πr²

LINE_QUAD_SEGS = 16              # round joins of corridors: 16 segments per quarter circle


@dataclass
class PreparedLayers:
    """Constraint layers made ready once (EPSG:4490, polygonal, indexed) and checked against many batches of
    projects, as a streamed check does; pass it to :func:`spatial.analysis.check.check` instead of a workspace."""

    catalog: Catalog
    layers: list[ConstraintLayer]
    meta: dict[str, Any]
    notes: list[str]


def prepare_layers(workspace_or_layers: Any, catalog: Catalog | None = None,
                   within: Mapping[str, float] | None = None) -> PreparedLayers:
    """The constraint layers of a workspace (or dict of layers) prepared once; see :func:`constraint_layers`."""
    notes: list[str] = []
    catalog, layers, meta = constraint_layers(workspace_or_layers, catalog, notes, within)
    return PreparedLayers(catalog, layers, meta, notes)


def constraint_layers(workspace_or_layers: Any, catalog: Catalog | None, notes: list[str],
                      within: Mapping[str, float] | None = None) -> tuple[Catalog, list[ConstraintLayer], dict[str, Any]]:
    """The constraint layers (kinds with rules) of a workspace or of a dict {kind: GeoDataFrame or Layer},
    in catalogue order, with the workspace's name and illustrative flag.

    ``within``: kind id -> metres, the user's distance for that kind's distance rules (the workspace's
    ``[within]`` table first, these on top).
    """
    if isinstance(workspace_or_layers, PreparedLayers):
        notes.extend(workspace_or_layers.notes)
        return workspace_or_layers.catalog, workspace_or_layers.layers, dict(workspace_or_layers.meta)
    catalog, items, meta = _layer_items(workspace_or_layers, catalog)
    distances = {**meta.pop("within", {}), **dict(within or {})}
    for kind_id, metres in distances.items():
        kind = catalog.kinds.get(kind_id) or catalog.kind_for_name(str(kind_id))
        if kind is None or not kind.has_distance_rule:
            have = ", ".join(k.id for k in catalog.kinds.values() if k.has_distance_rule)
            raise InputError(f"--within {kind_id}={metres}: {kind_id!r} has no distance rule in {catalog.path}; "
                             f"kinds with one: {have}")
        if not metres >= 0:
            raise InputError(f"--within {kind_id}={metres}: give a distance of 0 or more metres")
    layers: list[ConstraintLayer] = []
    for kind, gdf, name_field, src, checked in items:
        if not kind.is_constraint:
            if isinstance(workspace_or_layers, Mapping):
                notes.append(f"{kind.label}: an information layer without rules in the catalogue; not checked.")
            continue
        if kind.id in distances:
            kind = kind.with_distance(distances[kind.id])
        layers.append(_prepare_layer(kind, gdf, name_field, src, checked, notes))
    order = {k: i for i, k in enumerate(catalog.kinds)}
    layers.sort(key=lambda c: order.get(c.kind.id, 999))
    return catalog, layers, meta


def _layer_items(workspace_or_layers: Any, catalog: Catalog | None
                 ) -> tuple[Catalog, list[tuple[LayerKind, gpd.GeoDataFrame, str | None, str, bool]], dict[str, Any]]:
    """(kind, layer, name field, source label, validated on reading) of each layer given."""
    meta: dict[str, Any] = {}
    items: list[tuple[LayerKind, gpd.GeoDataFrame, str | None, str, bool]] = []
    if hasattr(workspace_or_layers, "layers") and hasattr(workspace_or_layers, "catalog"):
        ws = workspace_or_layers
        catalog = catalog or ws.catalog
        meta.update(workspace=ws.name, illustrative=bool(getattr(ws, "illustrative", False)),
                    within={k: float(v) for k, v in (getattr(ws, "raw", None) or {}).get("within", {}).items()})
        for kind_id, layer in ws.layers.items():
            read = getattr(layer, "read", None)
            src = f"{read.name}:{read.layer or ''}" if read is not None and getattr(read, "path", None) else kind_id
            items.append((catalog.kind(kind_id), layer.gdf, getattr(layer, "name_field", None), src, read is not None))
        return catalog, items, meta
    if not isinstance(workspace_or_layers, Mapping):
        raise TypeError("workspace_or_layers must be a Workspace or a dict {kind_id: GeoDataFrame}")
    catalog = catalog or load_catalog()
    for key, value in workspace_or_layers.items():
        kind = catalog.kind(key) if key in catalog.kinds else catalog.kind_for_name(str(key))
        if kind is None:
            raise InputError(f"layer {key!r}: not a catalogue kind; use one of {', '.join(catalog.kinds)}")
        gdf = getattr(value, "gdf", value)
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise TypeError(f"layer {key!r}: expected a GeoDataFrame or a workspace Layer, got {type(value).__name__}")
        if gdf.crs is None:
            raise InputError(f"layer {kind.id}: has no CRS; set it (e.g. gdf.set_crs('EPSG:4490')) "
                             f"or read it with spatial.sources.files.read_layer(..., crs=...)")
        items.append((kind, gdf, getattr(value, "name_field", None), str(key), getattr(value, "read", None) is not None))
    return catalog, items, meta


def _prepare_layer(kind: LayerKind, gdf: gpd.GeoDataFrame, name_field: str | None, src: str, checked: bool,
                   notes: list[str]) -> ConstraintLayer:
    """A layer in EPSG:4490 with its index: polygon kinds keep their polygonal parts; point and line kinds
    (receptors, rivers), which only distance rules judge, keep their geometries as they are."""
    gdf = to_workspace_crs(gdf)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    names = np.asarray(feature_names(gdf, name_field).astype(str), dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if kind.geometry == "polygon":
        geoms = keep_dim(geoms, 2)
        keep &= ~shapely.is_empty(geoms)
    if (~keep).any() and len(gdf):
        what = "polygon geometry" if kind.geometry == "polygon" else "geometry"
        notes.append(f"{kind.label}: {int((~keep).sum())} feature(s) without {what} were left out.")
    return ConstraintLayer.build(kind, geoms[keep], names[keep], src, checked)


def _feature_numbers(gdf: gpd.GeoDataFrame) -> np.ndarray:
    numbers = np.asarray(feature_numbers(gdf), dtype=np.int64)
    return numbers if len(np.unique(numbers)) == len(numbers) else np.arange(1, len(gdf) + 1)


def type_lookup(catalog: Catalog) -> dict[str, str]:
    """Normalised label -> project type id (ids, names and ``aliases_zh``; see Catalog.project_type_id)."""
    return catalog._project_type_keys


def _project_types(projects: gpd.GeoDataFrame, names: pd.Series, numbers: np.ndarray, project_type: str | None,
                   catalog: Catalog) -> np.ndarray:
    valid = catalog.project_type_choices()
    if project_type is not None:
        tid = catalog.project_type_id(project_type)
        if tid is None:
            raise InputError(f"unknown project type {project_type!r}; valid types: {valid}")
        return np.full(len(projects), tid, dtype=object)
    column = catalog.project_type_column(c for c in projects.columns if c != projects.geometry.name)
    if column is None:
        raise InputError(f"the projects have no project type column ({', '.join(catalog.project_type_columns)}); "
                         f"add one or pass a type (--type TYPE / project_type=...). Valid types: {valid}")
    out = np.empty(len(projects), dtype=object)
    for i, (raw, name) in enumerate(zip(projects[column], names)):
        tid = None if pd.isna(raw) else catalog.project_type_id(raw)
        if tid is None:
            shown = "empty" if pd.isna(raw) or not str(raw).strip() else repr(str(raw))
            raise InputError(f"project #{numbers[i]} {name!r}: {column} is {shown}; use one of: {valid} "
                             "(or pass --type TYPE for all projects)")
        out[i] = tid
    return out


def _degenerate_notes(gdf: gpd.GeoDataFrame, areas: np.ndarray, numbers: np.ndarray, names: pd.Series,
                      catalog: Catalog, notes: list[str]) -> None:
    """Name every project polygon below the catalogue's [validation] thresholds (its overlaps may vanish)."""
    limits = {k: float(v) for k, v in catalog.validation.items() if k in ("min_project_area_m2", "min_project_width_m")}
    bad = degenerate_polygons(gdf, min_area_m2=limits.get("min_project_area_m2", 1.0),
                              min_width_m=limits.get("min_project_width_m", 0.5), areas_m2=areas)
    for i, row in zip(bad.index, bad.itertuples()):
        notes.append(f"project #{numbers[i]} {names[i]} is degenerate ({row.reason}): a needle or sliver whose "
                     f"overlaps may be missed; check the drawing")


@dataclass
class Projects:
    """The projects of a check, as arrays aligned with ``gdf``."""

    gdf: gpd.GeoDataFrame          # EPSG:4490
    geoms: np.ndarray
    names: np.ndarray
    numbers: np.ndarray            # 1-based feature numbers (of the file, when read with spatial.sources.files)
    types: np.ndarray
    kind: np.ndarray               # 'polygon' | 'line' | 'point'
    area_target: np.ndarray        # polygon (project, corridor or circle) or None
    line_target: np.ndarray        # the line of a line project, else None
    length_m: np.ndarray
    area_m2: np.ndarray            # of the polygon / corridor / circle (0 for lines without width)



def prepare_projects(projects: gpd.GeoDataFrame | ReadResult, project_type: str | None, catalog: Catalog,
                      line_width_m: float | None, point_radius_m: float, method: AreaMethod,
                      notes: list[str], engine: Any) -> Projects:
    # read_layer made every polygon valid; unless converting to EPSG:4490 moves the vertices, that holds
    validated = isinstance(projects, ReadResult) and projects.gdf.crs is not None and projects.gdf.crs.equals(CGCS2000)
    projects = projects.gdf if isinstance(projects, ReadResult) else projects
    if not isinstance(projects, gpd.GeoDataFrame):
        raise TypeError("projects must be a GeoDataFrame or a ReadResult of spatial.sources.files.read_layer")
    if projects.crs is None:
        raise InputError("the projects have no CRS (coordinate reference system); set one, e.g. add the "
                         ".prj file, or pass --crs EPSG:4490 (CGCS2000) / EPSG:4527 (GK zone 39)")
    gdf = to_workspace_crs(projects).copy()
    names = feature_names(gdf).astype(str).reset_index(drop=True)
    numbers = _feature_numbers(gdf)          # 1-based numbers in the file (read_layer keeps file positions)
    gdf = gdf.reset_index(drop=True)
    types = _project_types(gdf, names, numbers, project_type, catalog)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    n = len(gdf)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise InputError(f"project #{numbers[i]} {names[i]!r} has no geometry; draw it or remove the feature "
                         f"({int(missing.sum())} such feature(s))")
    tid = shapely.get_type_id(geoms)
    kind = np.where(np.isin(tid, list(_POLY_TYPES)), "polygon",
                    np.where(np.isin(tid, list(_LINE_TYPES)), "line",
                             np.where(np.isin(tid, list(_POINT_TYPES)), "point", "other")))
    if (kind == "other").any():
        i = int(np.flatnonzero(kind == "other")[0])
        raise InputError(f"project #{numbers[i]} {names[i]!r} is a {geoms[i].geom_type}; split it into polygon, "
                         "line or point features")
    poly = kind == "polygon"
    needle = poly & (shapely.area(geoms) <= 0)  # a polygon enclosing nothing: checked as the line it draws
    if needle.any():
        geoms = geoms.copy()
        geoms[needle] = [shapely.line_merge(shapely.union_all(shapely.boundary(g))) for g in geoms[needle]]
        kind[needle], poly = "line", poly & ~needle
        notes.extend(f"project #{numbers[i]} {names[i]} is a polygon of zero area: checked as the line it draws "
                     f"({measure_length(geoms[i:i + 1])[0]:,.1f} m); redraw it as a polygon" for i in np.flatnonzero(needle))
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=CGCS2000, index=gdf.index))
    invalid = np.zeros(n, dtype=bool) if validated else poly & ~engine.map(shapely.is_valid, geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = keep_dim(shapely.make_valid(geoms[invalid]), 2)
        notes.append(f"{int(invalid.sum())} invalid project polygon(s) repaired with make_valid "
                     f"(first: #{numbers[int(np.flatnonzero(invalid)[0])]} {names[int(np.flatnonzero(invalid)[0])]}).")
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=CGCS2000, index=gdf.index))
    area_target = np.full(n, None, dtype=object)
    line_target = np.full(n, None, dtype=object)
    area_target[poly] = geoms[poly]
    line = kind == "line"
    line_target[line] = geoms[line]
    if line_width_m and line.any():
        if line_width_m <= 0:
            raise InputError(f"--width must be positive, not {line_width_m}")
        sel = np.flatnonzero(line)
        area_target[sel] = buffer_m(geoms[sel], np.full(len(sel), line_width_m / 2.0),
                                     cap_style="flat", join_style="round", quad_segs=LINE_QUAD_SEGS)
    point = kind == "point"
    if point.any():
        if not point_radius_m or point_radius_m <= 0:
            raise InputError(f"--radius must be positive for point projects, not {point_radius_m}")
        sel = np.flatnonzero(point)
        area_target[sel] = buffer_m(geoms[sel], np.full(len(sel), float(point_radius_m)),
                                     quad_segs=POINT_QUAD_SEGS)
    has_area = ~shapely.is_missing(area_target)
    lengths = np.zeros(n)
    if line.any():
        lengths[line] = engine.map(measure_length, geoms[line], piece=5_000)
    areas = np.zeros(n)
    areas[has_area] = engine.map(lambda g: measure(g, method), area_target[has_area], piece=5_000)
    _degenerate_notes(gdf.set_geometry(gpd.GeoSeries(geoms, crs=CGCS2000, index=gdf.index)), areas, numbers, names,
                      catalog, notes)
    return Projects(gdf=gdf, geoms=geoms, names=names.to_numpy(dtype=object), numbers=numbers, types=types, kind=kind,
                     area_target=area_target, line_target=line_target, length_m=lengths, area_m2=areas)
