"""Check proposed projects against the ecological red line and every other constraint layer.

One project or a hundred thousand: for every project × constraint layer (every layer whose
catalogue kind has rules) we report the overlap (m², 公顷, 亩, share of the project), the layer
features touched, the overlap pieces, the distance to the nearest feature when there is no
overlap, and a verdict from the catalogue's rules for the project's type.

Method (see docs/check.md):

* Overlay is done in geographic CGCS2000 (EPSG:4490), as QGIS's "Overlap analysis"
  (native:calculatevectoroverlaps) does in the input layer's CRS: the layer features that
  intersect a project are unioned first (overlapping features count once), then intersected
  with the project. Areas of the pieces are measured only with :mod:`spatial.area`.
* Candidate pairs come from a shapely STRtree (bounding boxes); a project whose box lies in a
  feature's box and that is ``within`` it is its own overlap piece (its own area is the overlap);
  the other pairs are confirmed with ``intersects``; the union per project (where it touches more
  than one feature) and the intersections are vectorised shapely 2 calls over chunks of projects,
  run on threads (GEOS and GeographicLib release the GIL).
* Lines: the length inside a layer (geodesic, GRS80); with ``line_width_m`` also the area of the
  corridor (flat-ended buffer of half the width each side). Points: a circle of
  ``point_radius_m`` (default 50 m, 128-sided polygon). Buffers are built in the CGCS2000
  3-degree Gauss-Krüger zone of each project and brought back to EPSG:4490.
* Distances: the nearest feature within ``near_m`` is found in the project's GK zone; the
  distance reported is the geodesic (GRS80) distance between the two nearest points.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from spatial.area import AreaMethod, area_m2
from spatial.catalog import VERDICT_LABELS, Catalog, LayerKind, Rule, load_catalog
from spatial.crs import CGCS2000, gk_epsg, gk_zone_for_lon
from spatial.io import InputError, feature_names
from spatial.report import html_value
from spatial.units import convert_area

try:  # the contract names length_m; fall back to the same geodesic measure until it lands
    from spatial.area import length_m as _area_length_m
except ImportError:  # pragma: no cover - depends on the state of spatial.area
    _area_length_m = None

__all__ = [
    "DEFAULT_NEAR_M", "DEFAULT_POINT_RADIUS_M", "MIN_OVERLAP_M2", "MIN_OVERLAP_M", "VERDICT_RANK",
    "CheckResult", "check", "worst_verdict", "write_check_outputs", "check_report_html",
]

DEFAULT_NEAR_M = 1000.0          # report the nearest feature within 1 km when there is no overlap
DEFAULT_POINT_RADIUS_M = 50.0    # a point project stands for a site of this radius
MIN_OVERLAP_M2 = 0.01            # overlaps below 0.01 m² (the precision of land-survey areas) are touches
MIN_OVERLAP_M = 0.01             # line overlaps below 1 cm are crossings at a point
POINT_QUAD_SEGS = 32             # 128-sided circles: area within 0.04 % of πr²
LINE_QUAD_SEGS = 16              # round joins of corridors: 16 segments per quarter circle
CHUNK_COORDS = 2_000_000         # projects are processed in chunks of about this many vertices
CHUNK_MAX = 50_000               # … and at most this many projects
CHUNK_THREADED = 5_000           # smaller chunks when several threads share the work
VERDICT_RANK = {"no_conflict": 0, "allowed": 1, "needs_approval": 2, "prohibited": 3}
_FALLBACK_VERDICT = {"prohibited": "prohibited", "restricted": "needs_approval",
                     "conditional": "needs_approval", "information": "allowed"}
GEOD = Geod(ellps="GRS80")       # CGCS2000 ellipsoid
MAX_NAMES = 20                   # touched feature names listed per project and layer

Progress = Callable[[int, int, str], None]

DISTANCE_METHOD = ("geodesic (GRS80) distance between the nearest points, found in the project's "
                   "CGCS2000 3-degree Gauss-Krüger zone")
DISTANCE_METHOD_ZH = "最近点在项目所在的CGCS2000 3度带高斯-克吕格投影中求得，距离为两点间的椭球（GRS80）测地线距离"


def worst_verdict(verdicts) -> str:
    """prohibited > needs_approval > allowed > no_conflict."""
    best = "no_conflict"
    for v in verdicts:
        if VERDICT_RANK.get(v, 0) > VERDICT_RANK[best]:
            best = v
    return best


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
    """

    summary: pd.DataFrame
    overlaps: pd.DataFrame
    pieces: gpd.GeoDataFrame
    projects: gpd.GeoDataFrame
    layers: pd.DataFrame
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def verdict_counts(self) -> pd.Series:
        counts = self.summary["verdict"].value_counts()
        return pd.Series({v: int(counts.get(v, 0)) for v in VERDICT_RANK}, name="projects")


# ---------------------------------------------------------------------------------------- helpers

_POLY_TYPES = {3, 6}
_LINE_TYPES = {1, 2, 5}
_POINT_TYPES = {0, 4}


def _keep_dim(geoms: np.ndarray, dim: int) -> np.ndarray:
    """Keep only the parts of dimension ``dim`` (2 polygons, 1 lines) of each geometry."""
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    if len(geoms) == 0:
        return out
    types = shapely.get_type_id(geoms)
    wanted = _POLY_TYPES if dim == 2 else _LINE_TYPES
    mixed = np.flatnonzero(~np.isin(types, list(wanted)) & ~shapely.is_missing(geoms))
    if len(mixed) == 0:
        return out
    parts, idx = shapely.get_parts(geoms[mixed], return_index=True)
    keep = np.isin(shapely.get_type_id(parts), list(wanted)) & ~shapely.is_empty(parts)
    empty = shapely.from_wkt("MULTIPOLYGON EMPTY" if dim == 2 else "MULTILINESTRING EMPTY")
    rebuilt = np.full(len(mixed), empty, dtype=object)
    if keep.any():
        parts, idx = parts[keep], idx[keep]
        # flatten multi-parts (a collection can hold MultiPolygons)
        sub, sidx = shapely.get_parts(parts, return_index=True)
        owner = idx[sidx]
        make = shapely.multipolygons if dim == 2 else shapely.multilinestrings
        groups = np.unique(owner)
        rebuilt[groups] = make(sub, indices=np.searchsorted(groups, owner))
    out[mixed] = rebuilt
    return out


_TRANSFORMERS: dict[tuple[int, bool], Transformer] = {}


def _zone_crs(zone: int) -> str:
    """CGCS2000 3-degree GK zone without prefix (EPSG:4534–4554 for zones 25–45, China); elsewhere
    the same transverse Mercator on the zone's central meridian."""
    if 25 <= zone <= 45:
        return f"EPSG:{gk_epsg(zone, False)}"
    return f"+proj=tmerc +lat_0=0 +lon_0={3 * zone} +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs +type=crs"


def _transformer(zone: int, inverse: bool) -> Transformer:
    key = (zone, inverse)
    if key not in _TRANSFORMERS:
        src, dst = (_zone_crs(zone), CGCS2000) if inverse else (CGCS2000, _zone_crs(zone))
        _TRANSFORMERS[key] = Transformer.from_crs(src, dst, always_xy=True)
    return _TRANSFORMERS[key]


def _reproject(geoms: np.ndarray, zone: int, inverse: bool = False) -> np.ndarray:
    tr = _transformer(zone, inverse)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def _to_cgcs2000(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """EPSG:4490 as the workspace holds layers (projected sources densified so plane edges survive)."""
    if gdf.crs is not None and gdf.crs.equals(CGCS2000):
        return gdf
    try:
        from spatial.workspace import to_workspace_crs
    except ImportError:  # pragma: no cover - older workspace module
        return gdf.to_crs(CGCS2000)
    return to_workspace_crs(gdf)


def _zones(geoms: np.ndarray) -> np.ndarray:
    """3-degree GK zone of each geometry's bounding-box centre."""
    b = shapely.bounds(geoms)
    lon = (b[:, 0] + b[:, 2]) / 2
    lon = np.where(np.isfinite(lon), lon, 117.0)
    uniq, inv = np.unique(np.floor(lon * 1000) / 1000, return_inverse=True)
    return np.array([gk_zone_for_lon(float(v)) for v in uniq], dtype=int)[inv]


def _buffer_m(geoms: np.ndarray, distance: np.ndarray, **kw: Any) -> np.ndarray:
    """Buffer geographic geometries by metres, in each geometry's own GK zone."""
    out = np.empty(len(geoms), dtype=object)
    zones = _zones(geoms)
    for z in np.unique(zones):
        sel = np.flatnonzero(zones == z)
        gk = _reproject(geoms[sel], int(z))
        out[sel] = _reproject(shapely.buffer(gk, distance[sel], **kw), int(z), inverse=True)
    return out


def _length_m(geoms: np.ndarray) -> np.ndarray:
    if len(geoms) == 0:
        return np.zeros(0)
    if _area_length_m is not None:
        return np.asarray(_area_length_m(gpd.GeoSeries(geoms, crs=CGCS2000)), dtype=float)
    return np.array([GEOD.geometry_length(g) if g is not None and not g.is_empty else 0.0 for g in geoms])


def _area(geoms: np.ndarray, method: AreaMethod) -> np.ndarray:
    """Area with spatial.area of the non-empty geometries; 0 for empty or missing ones."""
    return area_m2(gpd.GeoSeries(geoms, crs=CGCS2000), method)


def _threaded(func: Callable[..., np.ndarray], geoms: np.ndarray, workers: int, piece: int = 2_000) -> np.ndarray:
    """func(geoms) elementwise, split over threads (GEOS releases the GIL)."""
    if workers <= 1 or len(geoms) < 2 * piece:
        return func(geoms)
    from concurrent.futures import ThreadPoolExecutor

    parts = np.array_split(geoms, max(workers, len(geoms) // piece))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return np.concatenate(list(pool.map(func, parts)))


def _chunks(geoms: np.ndarray, max_coords: int = CHUNK_COORDS, max_n: int = CHUNK_MAX) -> list[slice]:
    """Consecutive slices holding at most ``max_coords`` vertices (and ``max_n`` features)."""
    n = len(geoms)
    if n == 0:
        return []
    csum = np.cumsum(shapely.get_num_coordinates(geoms))
    out, start = [], 0
    while start < n:
        base = csum[start - 1] if start else 0
        stop = int(np.searchsorted(csum, base + max_coords, side="right"))
        stop = min(max(stop, start + 1), start + max_n, n)
        out.append(slice(start, stop))
        start = stop
    return out


def _join_names(q: np.ndarray, names: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (project q, feature name) sorted by q: '、'-joined names and the count per project."""
    joined = np.full(n, "", dtype=object)
    counts = np.zeros(n, dtype=int)
    if len(q) == 0:
        return joined, counts
    uq, start, cnt = np.unique(q, return_index=True, return_counts=True)
    counts[uq] = cnt
    for p, s, c in zip(uq, start, cnt):
        seen = list(dict.fromkeys(names[s:s + c]))
        text = "、".join(seen[:MAX_NAMES])
        if len(seen) > MAX_NAMES:
            text += f" …(+{len(seen) - MAX_NAMES})"
        joined[p] = text
    return joined, counts


# ---------------------------------------------------------------------------------------- inputs

@dataclass
class _Constraint:
    kind: LayerKind
    geoms: np.ndarray      # polygonal, EPSG:4490
    names: np.ndarray
    source: str
    tree: shapely.STRtree
    bounds: np.ndarray
    checked: bool          # validated by spatial.io (a workspace Layer); else validated here when used

    def validate(self, targets: np.ndarray, workers: int, notes: list[str]) -> None:
        """Repair (make_valid) the invalid features among those whose boxes meet the targets'."""
        if self.checked or len(targets) == 0 or len(self.geoms) == 0:
            return
        _, used = self.tree.query(targets)
        used = np.unique(used)
        bad = used[~_threaded(shapely.is_valid, self.geoms[used], workers)]
        if len(bad):
            fixed = _keep_dim(shapely.make_valid(self.geoms[bad]), 2)
            self.geoms = self.geoms.copy()
            self.geoms[bad] = fixed
            notes.append(f"{self.kind.label}: {len(bad)} invalid feature(s) repaired with make_valid "
                         f"(first: {self.names[bad[0]]}).")


def _constraint_layers(workspace_or_layers: Any, catalog: Catalog | None,
                       notes: list[str]) -> tuple[Catalog, list[_Constraint], dict[str, Any]]:
    meta: dict[str, Any] = {}
    items: list[tuple[LayerKind, gpd.GeoDataFrame, str | None, str, bool]] = []
    if hasattr(workspace_or_layers, "layers") and hasattr(workspace_or_layers, "catalog"):
        ws = workspace_or_layers
        catalog = catalog or ws.catalog
        meta["workspace"] = ws.name
        meta["illustrative"] = bool(getattr(ws, "illustrative", False))
        for kind_id, layer in ws.layers.items():
            read = getattr(layer, "read", None)
            src = f"{read.path.name}:{read.layer or ''}" if read is not None and getattr(read, "path", None) else kind_id
            items.append((catalog.kind(kind_id), layer.gdf, getattr(layer, "name_field", None), src, read is not None))
    elif isinstance(workspace_or_layers, Mapping):
        catalog = catalog or load_catalog()
        for key, value in workspace_or_layers.items():
            kind = catalog.kind(key) if key in catalog.kinds else catalog.kind_for_name(str(key))
            if kind is None:
                raise InputError(f"layer {key!r}: not a catalogue kind; use one of {', '.join(catalog.kinds)}")
            gdf = getattr(value, "gdf", value)
            name_field = getattr(value, "name_field", None)
            if not isinstance(gdf, gpd.GeoDataFrame):
                raise TypeError(f"layer {key!r}: expected a GeoDataFrame or a workspace Layer, got {type(value).__name__}")
            if gdf.crs is None:
                raise InputError(f"layer {kind.id}: has no CRS; set it (e.g. gdf.set_crs('EPSG:4490')) "
                                 f"or read it with spatial.io.read_layer(..., crs=...)")
            items.append((kind, gdf, name_field, str(key), getattr(value, "read", None) is not None))
    else:
        raise TypeError("workspace_or_layers must be a Workspace or a dict {kind_id: GeoDataFrame}")
    layers: list[_Constraint] = []
    for kind, gdf, name_field, src, checked in items:
        if not kind.is_constraint:
            if isinstance(workspace_or_layers, Mapping):
                notes.append(f"{kind.label}: an information layer without rules in the catalogue; not checked.")
            continue
        gdf = _to_cgcs2000(gdf)
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        names = np.asarray(feature_names(gdf, name_field).astype(str), dtype=object)
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        geoms = _keep_dim(geoms, 2)
        keep &= ~shapely.is_empty(geoms)
        if (~keep).any() and len(gdf):
            dropped = int((~keep).sum())
            notes.append(f"{kind.label}: {dropped} feature(s) without polygon geometry were left out.")
        geoms, names = geoms[keep], names[keep]
        layers.append(_Constraint(kind=kind, geoms=geoms, names=names, source=src,
                                  tree=shapely.STRtree(geoms), bounds=shapely.bounds(geoms), checked=checked))
    order = {k: i for i, k in enumerate(catalog.kinds)}
    layers.sort(key=lambda c: order.get(c.kind.id, 999))
    return catalog, layers, meta


def _feature_numbers(gdf: gpd.GeoDataFrame) -> np.ndarray:
    try:
        from spatial.io import feature_numbers
    except ImportError:  # pragma: no cover
        return np.arange(1, len(gdf) + 1)
    numbers = np.asarray(feature_numbers(gdf), dtype=np.int64)
    return numbers if len(np.unique(numbers)) == len(numbers) else np.arange(1, len(gdf) + 1)


def _type_lookup(catalog: Catalog) -> dict[str, str]:
    return catalog._project_type_keys  # ids, names and aliases_zh: see Catalog.project_type_id


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
    from spatial.io import degenerate_polygons

    limits = {k: float(v) for k, v in catalog.validation.items() if k in ("min_project_area_m2", "min_project_width_m")}
    bad = degenerate_polygons(gdf, min_area_m2=limits.get("min_project_area_m2", 1.0),
                              min_width_m=limits.get("min_project_width_m", 0.5), areas_m2=areas)
    for i, row in zip(bad.index, bad.itertuples()):
        notes.append(f"project #{numbers[i]} {names[i]} is degenerate ({row.reason}): a needle or sliver whose "
                     f"overlaps may be missed; check the drawing")


@dataclass
class _Projects:
    gdf: gpd.GeoDataFrame          # EPSG:4490
    geoms: np.ndarray
    names: np.ndarray
    numbers: np.ndarray            # 1-based feature numbers (of the file, when read with spatial.io)
    types: np.ndarray
    kind: np.ndarray               # 'polygon' | 'line' | 'point'
    area_target: np.ndarray        # polygon (project, corridor or circle) or None
    line_target: np.ndarray        # the line of a line project, else None
    length_m: np.ndarray
    area_m2: np.ndarray            # of the polygon / corridor / circle (0 for lines without width)


def _prepare_projects(projects: gpd.GeoDataFrame, project_type: str | None, catalog: Catalog,
                      line_width_m: float | None, point_radius_m: float, method: AreaMethod,
                      notes: list[str], workers: int = 1) -> _Projects:
    if not isinstance(projects, gpd.GeoDataFrame):
        raise TypeError("projects must be a GeoDataFrame")
    if projects.crs is None:
        raise InputError("the projects have no CRS (coordinate reference system); set one, e.g. add the "
                         ".prj file, or pass --crs EPSG:4490 (CGCS2000) / EPSG:4527 (GK zone 39)")
    gdf = _to_cgcs2000(projects).copy()
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
                     f"({_length_m(geoms[i:i + 1])[0]:,.1f} m); redraw it as a polygon" for i in np.flatnonzero(needle))
        gdf = gdf.set_geometry(gpd.GeoSeries(geoms, crs=CGCS2000, index=gdf.index))
    invalid = poly & ~_threaded(shapely.is_valid, geoms, workers)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = _keep_dim(shapely.make_valid(geoms[invalid]), 2)
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
        area_target[sel] = _buffer_m(geoms[sel], np.full(len(sel), line_width_m / 2.0),
                                     cap_style="flat", join_style="round", quad_segs=LINE_QUAD_SEGS)
    point = kind == "point"
    if point.any():
        if not point_radius_m or point_radius_m <= 0:
            raise InputError(f"--radius must be positive for point projects, not {point_radius_m}")
        sel = np.flatnonzero(point)
        area_target[sel] = _buffer_m(geoms[sel], np.full(len(sel), float(point_radius_m)),
                                     quad_segs=POINT_QUAD_SEGS)
    has_area = ~shapely.is_missing(area_target)
    zero = poly & (shapely.area(geoms) <= 0)  # degenerate polygons (a test, not a measurement)
    if zero.any():
        i = int(np.flatnonzero(zero)[0])
        raise InputError(f"project #{numbers[i]} {names[i]!r} is a polygon of zero area; check its coordinates")
    lengths = np.zeros(n)
    if line.any():
        lengths[line] = _threaded(_length_m, geoms[line], workers, piece=5_000)
    areas = np.zeros(n)
    areas[has_area] = _threaded(lambda g: _area(g, method), area_target[has_area], workers, piece=5_000)
    _degenerate_notes(gdf.set_geometry(gpd.GeoSeries(geoms, crs=CGCS2000, index=gdf.index)), areas, numbers, names,
                      catalog, notes)
    return _Projects(gdf=gdf, geoms=geoms, names=names.to_numpy(dtype=object), numbers=numbers, types=types, kind=kind,
                     area_target=area_target, line_target=line_target, length_m=lengths, area_m2=areas)


# ---------------------------------------------------------------------------------------- overlay

def _overlay_chunk(t: np.ndarray, layer: _Constraint, dim: int, measure: Callable[[np.ndarray], np.ndarray],
                   own: np.ndarray):
    """One chunk of targets: (pieces, measures, q, l) with q relative to the chunk.

    measures: ``measure(piece)`` (area or length), or ``own`` (the target's own measure) where the
    target lies inside one feature and is therefore its own piece.
    """
    pieces, whole, q, l = _overlay_pieces(t, layer, dim)
    values = np.where(whole, own, 0.0)
    part = np.flatnonzero(~whole & ~shapely.is_missing(pieces))
    if len(part):
        values[part] = measure(pieces[part])
    return pieces, values, q, l


def _overlay_pieces(t: np.ndarray, layer: _Constraint, dim: int):
    """Pieces of one chunk of targets: (pieces, whole, q, l) with q relative to the chunk."""
    n = len(t)
    pieces = np.full(n, None, dtype=object)
    whole = np.zeros(n, dtype=bool)
    lg = layer.geoms
    q, l = layer.tree.query(t)                              # bounding boxes overlap
    if len(q) == 0:
        return pieces, whole, q, l
    order = np.lexsort((l, q))
    q, l = q[order], l[order]
    # a target inside one feature is its own overlap piece; only possible where its box is inside the feature's
    tb, lb = shapely.bounds(t[q]), layer.bounds[l]
    maybe = (tb[:, 0] >= lb[:, 0]) & (tb[:, 1] >= lb[:, 1]) & (tb[:, 2] <= lb[:, 2]) & (tb[:, 3] <= lb[:, 3])
    inside = np.zeros(len(q), dtype=bool)
    if dim == 2 and maybe.any():
        inside[maybe] = shapely.within(t[q[maybe]], lg[l[maybe]])
    hit = inside.copy()
    rest = ~inside
    if rest.any():
        hit[rest] = shapely.intersects(t[q[rest]], lg[l[rest]])
    q, l, inside = q[hit], l[hit], inside[hit]
    if len(q) == 0:
        return pieces, whole, q, l
    uq, start, counts = np.unique(q, return_index=True, return_counts=True)
    grp_whole = np.logical_or.reduceat(inside, start)
    whole[uq[grp_whole]] = True
    pieces[uq[grp_whole]] = t[uq[grp_whole]]
    single = ~grp_whole & (counts == 1)
    if single.any():
        sq = uq[single]
        pieces[sq] = shapely.intersection(t[sq], lg[l[start[single]]])
    multi = ~grp_whole & (counts > 1)
    if multi.any():
        # QGIS's order: dissolve the features touching the target, then intersect
        mq = uq[multi]
        pieces[mq] = shapely.intersection(t[mq], _unions(lg, l, start[multi], counts[multi]))
    got = np.flatnonzero(~shapely.is_missing(pieces) & ~whole)
    if len(got):
        pieces[got] = _keep_dim(pieces[got], dim)
    return pieces, whole, q, l


def _unions(lg: np.ndarray, l: np.ndarray, start: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``union_all(lg[l[s:s + c]])`` for each (s, c); each distinct set of features (neighbouring projects
    often touch the same ones) is unioned once, from the same features in the same order."""
    sets = [l[s:s + c].tobytes() for s, c in zip(start.tolist(), counts.tolist())]
    first: dict[bytes, int] = {}
    which = np.array([first.setdefault(k, len(first)) for k in sets], dtype=np.int64)
    keep = np.zeros(len(sets), dtype=bool)
    keep[np.unique(which, return_index=True)[1]] = True
    s_u, c_u = start[keep], counts[keep]
    members = np.concatenate([l[s:s + c] for s, c in zip(s_u.tolist(), c_u.tolist())])
    coll = shapely.geometrycollections(lg[members], indices=np.repeat(np.arange(len(s_u)), c_u))
    return shapely.union_all(coll[:, None], axis=1)[which]


def _overlay(targets: np.ndarray, layer: _Constraint, dim: int, tick: Callable[[int], None],
             workers: int, measure: Callable[[np.ndarray], np.ndarray],
             own: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Overlap pieces of each target with the union of the layer features it intersects, measured.

    Returns (pieces, values, hit_q, hit_l): pieces[i] is None where target i touches nothing;
    values[i] its area (dim 2) or length (dim 1), ``own[i]`` where the target is inside one feature;
    (hit_q, hit_l) are the intersecting (target, feature) pairs sorted by target then feature.
    Chunks run on ``workers`` threads: shapely releases the GIL inside GEOS, and GeographicLib's
    polygon routine (spatial.area) does too, so overlay and measurement of two chunks overlap.
    """
    n = len(targets)
    pieces = np.full(n, None, dtype=object)
    values = np.zeros(n)
    all_q, all_l = [], []
    slices = _chunks(targets, max_n=CHUNK_MAX if workers <= 1 else CHUNK_THREADED)

    def run(sl: slice):
        return sl, _overlay_chunk(targets[sl], layer, dim, measure, own[sl])

    if workers > 1 and len(slices) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = pool.map(run, slices)
            for sl, (pcs, wh, q, l) in results:
                pieces[sl], values[sl] = pcs, wh
                all_q.append(q + sl.start), all_l.append(l)
                tick(sl.stop - sl.start)
    else:
        for sl in slices:
            _, (pcs, wh, q, l) = run(sl)
            pieces[sl], values[sl] = pcs, wh
            all_q.append(q + sl.start), all_l.append(l)
            tick(sl.stop - sl.start)
    if all_q:
        return pieces, values, np.concatenate(all_q), np.concatenate(all_l)
    return pieces, values, np.zeros(0, dtype=int), np.zeros(0, dtype=int)


def _clip_to_boxes(geoms: np.ndarray, x0, y0, x1, y1) -> np.ndarray:
    """The parts of each geometry inside its box (fast rectangle clipping; only used for distances)."""
    clip = getattr(shapely.lib, "clip_by_rect", None)  # the ufunc behind shapely.clip_by_rect, on arrays
    if clip is not None:
        return clip(geoms, x0, y0, x1, y1)
    return shapely.intersection(geoms, shapely.box(x0, y0, x1, y1))  # pragma: no cover


def _nearest(geoms: np.ndarray, layer: _Constraint, near_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (m) to and index of the nearest layer feature within near_m; NaN / -1 beyond.

    Candidates: features whose boxes meet the project's box grown by near_m. Each is clipped to that
    box (whatever lies within near_m of the project lies inside it, so the distance is unchanged),
    the nearest is found in the project's GK zone, and the distance reported is the geodesic one
    between the two nearest points.
    """
    n = len(geoms)
    dist = np.full(n, np.nan)
    which = np.full(n, -1, dtype=int)
    if n == 0 or len(layer.geoms) == 0 or not near_m or near_m <= 0:
        return dist, which
    b = shapely.bounds(geoms)
    lat = np.maximum(np.abs(b[:, 1]), np.abs(b[:, 3]))
    pad_lat = near_m / 110_500.0 * 1.01
    pad_lon = near_m / (111_000.0 * np.cos(np.radians(np.minimum(lat + pad_lat, 89.0)))) * 1.01
    x0, y0, x1, y1 = b[:, 0] - pad_lon, b[:, 1] - pad_lat, b[:, 2] + pad_lon, b[:, 3] + pad_lat
    q, l = layer.tree.query(shapely.box(x0, y0, x1, y1))
    if len(q) == 0:
        return dist, which
    near_parts = _clip_to_boxes(layer.geoms[l], x0[q], y0[q], x1[q], y1[q])
    keep = ~(shapely.is_missing(near_parts) | shapely.is_empty(near_parts))
    q, l, near_parts = q[keep], l[keep], near_parts[keep]
    if len(q) == 0:
        return dist, which
    zones = _zones(geoms)
    pair_d = np.full(len(q), np.inf)
    gk_a = np.empty(len(q), dtype=object)
    gk_b = np.empty(len(q), dtype=object)
    for z in np.unique(zones[q]):
        sel = np.flatnonzero(zones[q] == z)
        uq, qi = np.unique(q[sel], return_inverse=True)
        gk_a[sel] = _reproject(geoms[uq], int(z))[qi]
        gk_b[sel] = _reproject(near_parts[sel], int(z))
        pair_d[sel] = shapely.distance(gk_a[sel], gk_b[sel])
    # nearest pair per project (planar GK distance), then the geodesic distance between its nearest points
    order = np.lexsort((pair_d, q))
    uq, first = np.unique(q[order], return_index=True)
    best = order[first]
    best = best[pair_d[best] <= near_m * 1.01]
    if len(best) == 0:
        return dist, which
    geo = np.zeros(len(best))
    bz = zones[q[best]]
    for z in np.unique(bz):
        sel = np.flatnonzero(bz == z)
        lines = shapely.shortest_line(gk_a[best[sel]], gk_b[best[sel]])
        coords = shapely.get_coordinates(_reproject(lines, int(z), inverse=True)).reshape(-1, 2, 2)
        geo[sel] = GEOD.inv(coords[:, 0, 0], coords[:, 0, 1], coords[:, 1, 0], coords[:, 1, 1])[2]
    ok = geo <= near_m
    dist[q[best[ok]]] = geo[ok]
    which[q[best[ok]]] = l[best[ok]]
    return dist, which


def _nearest_threaded(geoms: np.ndarray, layer: _Constraint, near_m: float,
                      workers: int) -> tuple[np.ndarray, np.ndarray]:
    if workers <= 1 or len(geoms) < 2 * CHUNK_THREADED:
        return _nearest(geoms, layer, near_m)
    from concurrent.futures import ThreadPoolExecutor

    parts = np.array_split(np.arange(len(geoms)), int(np.ceil(len(geoms) / CHUNK_THREADED)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(lambda idx: _nearest(geoms[idx], layer, near_m), parts))
    return np.concatenate([d for d, _ in done]), np.concatenate([w for _, w in done])


# ---------------------------------------------------------------------------------------- the check

def _rule_for(kind: LayerKind, project_type: str) -> Rule:
    rule = kind.rule_for(project_type)
    if rule is not None:
        return rule
    return Rule(id=f"{kind.id}:class", types=("*",), verdict=_FALLBACK_VERDICT.get(kind.rule_class, "needs_approval"),
                rule_zh=kind.rule_zh, rule_en=kind.rule_en, source=kind.source)


def check(
    projects: gpd.GeoDataFrame,
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
) -> CheckResult:
    """Check every project against every constraint layer.

    ``workspace_or_layers``: a :class:`spatial.workspace.Workspace`, or a dict {kind_id: GeoDataFrame
    or Layer} checked with ``catalog`` (default: the bundled catalogue). ``project_type`` overrides
    the ``project_type`` column. ``near_m``: search radius for the nearest feature when there is no
    overlap (0 or None: no search). ``line_width_m``: corridor width of line projects (area reported
    besides the length). ``point_radius_m``: radius of point projects. ``workers``: threads for the
    overlay (default: the CPU count, at most 8; 1 = no threads).
    """
    if area_method not in ("official", "geodesic"):
        raise ValueError(f"area_method must be 'official' or 'geodesic', not {area_method!r}")
    workers = max(1, int(workers)) if workers else min(os.cpu_count() or 1, 8)
    notes: list[str] = []
    catalog, layers, meta = _constraint_layers(workspace_or_layers, catalog, notes)
    if not layers:
        raise InputError("no constraint layer to check against: the workspace holds no layer whose catalogue "
                         "kind has rules (e.g. ecological_redline); add one with --layer ecological_redline=FILE")
    radius = float(point_radius_m) if point_radius_m else DEFAULT_POINT_RADIUS_M
    pr = _prepare_projects(projects, project_type, catalog, line_width_m, radius, area_method, notes, workers)
    n = len(pr.geoms)
    near = float(near_m) if near_m else 0.0

    has_area = ~shapely.is_missing(pr.area_target)
    has_line = ~shapely.is_missing(pr.line_target)
    n_steps = len(layers) * (int(has_area.sum()) + int(has_line.sum()) + (n if near > 0 else 0))
    done = 0

    def tick(k: int, label: str) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(min(done, n_steps), n_steps, label)

    rows: list[pd.DataFrame] = []
    piece_frames: list[gpd.GeoDataFrame] = []
    per_layer: dict[str, dict[str, np.ndarray]] = {}
    ptype_zh = {t: v.get("name_zh", t) for t, v in catalog.project_types.items()}
    area_idx, line_idx = np.flatnonzero(has_area), np.flatnonzero(has_line)

    for layer in layers:
        kind = layer.kind
        label = f"{kind.name_zh} {kind.name_en}"
        layer.validate(np.concatenate([pr.area_target[area_idx], pr.line_target[line_idx]]), workers, notes)
        overlap_m2 = np.zeros(n)
        overlap_len = np.zeros(n)
        area_pieces = np.full(n, None, dtype=object)
        line_pieces = np.full(n, None, dtype=object)
        hits_q: list[np.ndarray] = []
        hits_l: list[np.ndarray] = []
        if len(area_idx):
            # a project inside one feature overlaps it with its own area
            pcs, m2, q, l = _overlay(pr.area_target[area_idx], layer, 2, lambda k: tick(k, label), workers,
                                     lambda g: _area(g, area_method), pr.area_m2[area_idx])
            area_pieces[area_idx] = pcs
            overlap_m2[area_idx] = m2
            hits_q.append(area_idx[q]); hits_l.append(l)
        if len(line_idx):
            pcs, lens, q, l = _overlay(pr.line_target[line_idx], layer, 1, lambda k: tick(k, label), workers,
                                       _length_m, pr.length_m[line_idx])
            line_pieces[line_idx] = pcs
            overlap_len[line_idx] = lens
            hits_q.append(line_idx[q]); hits_l.append(l)
        hq = np.concatenate(hits_q) if hits_q else np.zeros(0, dtype=int)
        hl = np.concatenate(hits_l) if hits_l else np.zeros(0, dtype=int)
        if len(hq):
            order = np.lexsort((hl, hq))
            pairs = np.unique(np.column_stack([hq[order], hl[order]]), axis=0)
            hq, hl = pairs[:, 0], pairs[:, 1]
        features, feature_count = _join_names(hq, layer.names[hl] if len(hl) else np.zeros(0, dtype=object), n)

        conflict = (overlap_m2 > MIN_OVERLAP_M2) | ((pr.kind == "line") & (overlap_len > MIN_OVERLAP_M))
        pct = np.where(has_area, 100.0 * overlap_m2 / np.where(pr.area_m2 > 0, pr.area_m2, 1.0),
                       100.0 * overlap_len / np.where(pr.length_m > 0, pr.length_m, 1.0))

        # nearest feature where there is no overlap
        distance = np.full(n, np.nan)
        nearest_name = np.full(n, "", dtype=object)
        distance[conflict] = 0.0
        if near > 0:
            free = np.flatnonzero(~conflict)
            d, w = _nearest_threaded(pr.geoms[free], layer, near, workers)
            distance[free] = d
            found = w >= 0
            nearest_name[free[found]] = layer.names[w[found]]
            tick(n, label)

        verdicts = np.full(n, "no_conflict", dtype=object)
        rule_id = np.full(n, "", dtype=object)
        rule_zh = np.full(n, "", dtype=object)
        rule_en = np.full(n, "", dtype=object)
        source = np.full(n, "", dtype=object)
        source_title = np.full(n, "", dtype=object)
        for t in np.unique(pr.types[conflict]) if conflict.any() else []:
            rule = _rule_for(kind, t)
            sel = conflict & (pr.types == t)
            verdicts[sel] = rule.verdict
            rule_id[sel] = rule.id
            rule_zh[sel] = rule.rule_zh
            rule_en[sel] = rule.rule_en
            source[sel] = rule.source
            source_title[sel] = catalog.source_title(rule.source) if rule.source else ""
        per_layer[kind.id] = {"m2": overlap_m2, "pct": pct, "verdict": verdicts, "length": overlap_len}
        rows.append(pd.DataFrame({
            "project_no": pr.numbers,
            "project": pr.names,
            "project_type": pr.types,
            "layer": kind.id,
            "layer_zh": kind.name_zh,
            "layer_en": kind.name_en,
            "overlap_m2": overlap_m2,
            "overlap_ha": convert_area(overlap_m2, "ha"),
            "overlap_mu": convert_area(overlap_m2, "mu"),
            "project_pct": pct,
            "overlap_length_m": np.where(pr.kind == "line", overlap_len, np.nan),
            "features": features,
            "feature_count": feature_count,
            "distance_m": distance,
            "nearest_feature": nearest_name,
            "verdict": verdicts,
            "verdict_label": [VERDICT_LABELS[v] for v in verdicts],
            "rule": rule_id,
            "rule_zh": rule_zh,
            "rule_en": rule_en,
            "source": source,
            "source_title": source_title,
        }))
        # overlap pieces: the corridor/polygon pieces, else the line pieces
        for pcs, measure, what in ((area_pieces, overlap_m2, "area"), (line_pieces, overlap_len, "line")):
            least = MIN_OVERLAP_M2 if what == "area" else MIN_OVERLAP_M
            sel = np.flatnonzero(conflict & ~shapely.is_missing(pcs) & (measure > least))
            if len(sel) == 0:
                continue
            piece_frames.append(gpd.GeoDataFrame({
                "project_no": pr.numbers[sel],
                "project": pr.names[sel],
                "project_type": pr.types[sel],
                "layer": kind.id,
                "layer_zh": kind.name_zh,
                "layer_en": kind.name_en,
                "piece": what,
                "overlap_m2": overlap_m2[sel],
                "overlap_length_m": np.where(pr.kind[sel] == "line", overlap_len[sel], np.nan),
                "project_pct": pct[sel],
                "verdict": verdicts[sel],
                "rule": rule_id[sel],
            }, geometry=gpd.GeoSeries(pcs[sel], crs=CGCS2000)))

    overlaps = pd.concat(rows, ignore_index=True)
    overlaps = overlaps.sort_values(["project_no"], kind="stable", ignore_index=True)
    ranks = np.zeros(n, dtype=int)
    for d in per_layer.values():
        ranks = np.maximum(ranks, pd.Series(d["verdict"]).map(VERDICT_RANK).to_numpy(dtype=int))
    by_rank = {r: v for v, r in VERDICT_RANK.items()}
    overall = np.array([by_rank[r] for r in ranks], dtype=object)
    conflicts = np.full(n, "", dtype=object)
    for layer in layers:
        v = per_layer[layer.kind.id]["verdict"]
        for i in np.flatnonzero(v != "no_conflict"):
            item = f"{layer.kind.name_zh}：{VERDICT_LABELS[v[i]]}"
            conflicts[i] = f"{conflicts[i]}；{item}" if conflicts[i] else item

    area_or_nan = np.where(has_area, pr.area_m2, np.nan)   # lines without a width have no area
    summary = pd.DataFrame({
        "project_no": pr.numbers,
        "project": pr.names,
        "project_type": pr.types,
        "project_type_zh": [ptype_zh.get(t, t) for t in pr.types],
        "geometry": pr.kind,
        "verdict": overall,
        "verdict_label": [VERDICT_LABELS[v] for v in overall],
        "area_m2": area_or_nan,
        "area_ha": convert_area(area_or_nan, "ha"),
        "area_mu": convert_area(area_or_nan, "mu"),
        "length_m": np.where(pr.kind == "line", pr.length_m, np.nan),
        "conflicts": conflicts,
    }).rename(columns={"geometry": "geometry_type"})
    for layer in layers:
        summary[f"{layer.kind.id}_m2"] = per_layer[layer.kind.id]["m2"]

    # projects with results (user attributes kept; clashing names prefixed src_)
    res = pr.gdf.copy()
    geom_col = res.geometry.name
    added = summary.copy()
    for layer in layers:
        added[f"{layer.kind.id}_pct"] = per_layer[layer.kind.id]["pct"]
        added[f"{layer.kind.id}_verdict"] = per_layer[layer.kind.id]["verdict"]
    res = res.drop(columns=[c for c in ("project_type",) if c in res.columns])  # replaced by the resolved type
    clash = {c: f"src_{c}" for c in res.columns if c != geom_col and c in added.columns}
    res = res.rename(columns=clash)
    for c in added.columns:
        res[c] = added[c].to_numpy()
    if geom_col != "geometry":
        res = res.rename_geometry("geometry")
    res = res[[c for c in res.columns if c != "geometry"] + ["geometry"]]

    if piece_frames:
        pieces = pd.concat(piece_frames, ignore_index=True)
        pieces = gpd.GeoDataFrame(pieces, geometry="geometry", crs=CGCS2000)
        pieces = pieces.sort_values(["project_no"], kind="stable", ignore_index=True)
    else:
        pieces = gpd.GeoDataFrame({c: [] for c in ("project_no", "project", "project_type", "layer", "layer_zh",
                                                   "layer_en", "piece", "overlap_m2", "overlap_length_m",
                                                   "project_pct", "verdict", "rule")},
                                  geometry=gpd.GeoSeries([], crs=CGCS2000))

    layer_table = pd.DataFrame({
        "layer": [c.kind.id for c in layers],
        "layer_zh": [c.kind.name_zh for c in layers],
        "layer_en": [c.kind.name_en for c in layers],
        "rule_class": [c.kind.rule_class for c in layers],
        "features": [len(c.geoms) for c in layers],
        "source": [c.source for c in layers],
    })
    settings = {
        "area_method": area_method,
        "near_m": near,
        "line_width_m": float(line_width_m) if line_width_m else None,
        "point_radius_m": radius,
        "project_type": project_type,
        "overlay_crs": f"{CGCS2000} (CGCS2000 geographic), features touching a project unioned, then intersected",
        "distance_method": DISTANCE_METHOD,
        "distance_method_zh": DISTANCE_METHOD_ZH,
        "min_overlap_m2": MIN_OVERLAP_M2,
        "min_overlap_m": MIN_OVERLAP_M,
        "catalog": str(catalog.path),
        **meta,
    }
    return CheckResult(summary=summary, overlaps=overlaps, pieces=pieces, projects=res,
                       layers=layer_table, settings=settings, notes=notes)


# ---------------------------------------------------------------------------------------- writers

XLSX_MAX_ROWS = 1_048_575
HTML_MAX_PROJECTS = 200

_AREA_METHOD_LABEL = {
    "official": "国土调查椭球面积（official land-survey ellipsoidal area）",
    "geodesic": "椭球测地线面积 GRS80（geodesic ellipsoidal area, as QGIS with ellipsoid EPSG:7019）",
}




def _verdict_span(v: str) -> str:
    return f'<span class="{html.escape(v)}">{html.escape(VERDICT_LABELS.get(v, v))}</span>'


def check_report_html(result: CheckResult, *, title: str | None = None, map_html: str | None = None,
                      max_projects: int = HTML_MAX_PROJECTS) -> str:
    """The bilingual planner's report as one self-contained HTML page.

    ``map_html``: an HTML fragment (e.g. a folium map from the maps package) placed in the
    ``<section id="check-map">`` hook; without it the section says no map was attached.
    """
    from spatial.report import html_page, html_table

    s = result.settings
    title = title or "项目生态保护红线及管控图层冲突检查 Project check against the red line and constraint layers"
    parts: list[str] = []
    if s.get("workspace"):
        parts.append(f"<p>工作空间 Workspace: <b>{html.escape(str(s['workspace']))}</b></p>")
    if s.get("illustrative"):
        parts.append('<p class="prohibited">注意：本工作空间含示意数据（非官方数据），结论仅供演示。 '
                     "Note: this workspace holds illustrative layers, not official data; verdicts are for demonstration.</p>")
    counts = result.summary["verdict"].value_counts()
    parts.append("<h2>结论汇总 Verdicts</h2><table class=\"data\"><thead><tr><th>结论 Verdict</th><th>项目数 Projects</th>"
                 "</tr></thead><tbody>" + "".join(
                     f"<tr><td>{_verdict_span(v)}</td><td>{int(counts.get(v, 0)):,d}</td></tr>" for v in VERDICT_RANK) + "</tbody></table>")
    parts.append('<h2>地图 Map</h2><section id="check-map">' + (
        map_html if map_html else "<p><i>未附地图 No map attached (maps package hook: map_html).</i></p>") + "</section>")

    # project overview
    summ = result.summary
    order = summ.assign(_r=summ["verdict"].map(VERDICT_RANK)).sort_values(["_r", "project_no"], ascending=[False, True])
    shown = order.head(max_projects)
    parts.append("<h2>项目一览 Projects</h2>")
    if len(order) > len(shown):
        parts.append(f"<p>仅列出最严重的 {len(shown):,d} 个项目（共 {len(order):,d} 个），完整结果见 summary.csv / check.xlsx。 "
                     f"Only the {len(shown):,d} most serious of {len(order):,d} projects are listed; see summary.csv / check.xlsx.</p>")
    overview = pd.DataFrame({
        "序号 No.": shown["project_no"],
        "项目 Project": shown["project"],
        "类型 Type": shown["project_type_zh"] + " " + shown["project_type"],
        "结论 Verdict": shown["verdict_label"],
        "面积 Area (ha)": shown["area_ha"],
        "长度 Length (m)": shown["length_m"],
        "冲突 Conflicts": shown["conflicts"],
    })
    parts.append(html_table(overview))

    # per project detail
    ov = result.overlaps
    detail_ids = set(shown.loc[shown["verdict"] != "no_conflict", "project_no"])
    ov = ov[ov["project_no"].isin(detail_ids)]
    if len(ov):
        parts.append("<h2>逐项说明 Project details</h2>")
    for pno, grp in ov.groupby("project_no", sort=False):
        row = shown.loc[shown["project_no"] == pno].iloc[0]
        parts.append(f"<h3>{html.escape(str(row['project']))} — {_verdict_span(row['verdict'])}</h3>"
                     f"<p>类型 Type: {html.escape(str(row['project_type_zh']))} ({html.escape(str(row['project_type']))})；"
                     f"面积 Area: {html_value(row['area_ha'], 4)} 公顷 ha = {html_value(row['area_mu'])} 亩 mu"
                     + (f"；长度 Length: {html_value(row['length_m'], 1)} m" if pd.notna(row["length_m"]) else "") + "</p>")
        items = []
        for r in grp.itertuples(index=False):
            if r.verdict == "no_conflict":
                where = (f"无重叠；最近 nearest {html_value(r.distance_m, 1)} m（{html.escape(str(r.nearest_feature))}）"
                         if pd.notna(r.distance_m) else "无重叠 no overlap")
                items.append(f"<tr><td>{html.escape(r.layer_zh)}<br>{html.escape(r.layer_en)}</td><td>{where}</td>"
                             f"<td>{_verdict_span(r.verdict)}</td><td></td></tr>")
                continue
            length = f"<br>长度 length {html_value(r.overlap_length_m, 1)} m" if pd.notna(r.overlap_length_m) else ""
            items.append(
                f"<tr><td>{html.escape(r.layer_zh)}<br>{html.escape(r.layer_en)}</td>"
                f"<td>{html_value(r.overlap_m2)} m² = {html_value(r.overlap_ha, 4)} 公顷 ha = {html_value(r.overlap_mu)} 亩 mu"
                f"（占项目 {html_value(r.project_pct)} % of the project）{length}<br>涉及图斑 features: {html.escape(str(r.features))}</td>"
                f"<td>{_verdict_span(r.verdict)}</td>"
                f"<td><b>{html.escape(str(r.rule))}</b> {html.escape(str(r.rule_zh))}<br><i>{html.escape(str(r.rule_en))}</i>"
                f"<br><small>来源 Source: {html.escape(str(r.source_title))}</small></td></tr>")
        parts.append('<table class="data"><thead><tr><th>图层 Layer</th><th>重叠 Overlap</th><th>结论 Verdict</th>'
                     "<th>依据 Rule (source)</th></tr></thead><tbody>" + "".join(items) + "</tbody></table>")

    # layers and method
    lt = result.layers.rename(columns={"layer": "图层 kind", "layer_zh": "名称", "layer_en": "Name",
                                       "rule_class": "管控类别 rule class", "features": "要素数 features",
                                       "source": "来源 source"})
    parts.append("<h2>检查图层 Layers checked</h2>" + html_table(lt))
    method = [
        f"面积算法 Area method: {html.escape(_AREA_METHOD_LABEL.get(s['area_method'], s['area_method']))}",
        "叠加分析：与项目相交的同一图层要素先合并（重叠部分只计一次），再与项目求交，坐标为CGCS2000地理坐标（EPSG:4490），与QGIS“叠加分析”(native:calculatevectoroverlaps)一致。"
        " Overlay: the features of a layer touching a project are unioned first (overlaps counted once), then intersected "
        "with the project, in CGCS2000 geographic coordinates, as QGIS's Overlap analysis does.",
        f"距离 Distance: {html.escape(s['distance_method_zh'])}；{html.escape(s['distance_method'])}；"
        f"搜索半径 search radius {html_value(s['near_m'], 0)} m.",
        f"点状项目按半径 {html_value(s['point_radius_m'], 0)} m 的圆计算 Point projects: circle of radius {html_value(s['point_radius_m'], 0)} m.",
        ("线状项目按宽度 {w} m 的廊道计算面积，并报告相交长度 Line projects: corridor of width {w} m for the area, "
         "plus the length inside.".format(w=html_value(s["line_width_m"], 1)) if s.get("line_width_m") else
         "线状项目报告相交长度（未给宽度，不计面积） Line projects: length inside each layer (no width given, so no area)."),
        f"重叠小于 {s['min_overlap_m2']} m²（线状 {s['min_overlap_m']} m）视为接触 Overlaps below {s['min_overlap_m2']} m² "
        f"({s['min_overlap_m']} m for lines) count as touching, not overlapping.",
        f"管控规则来自图层目录 Rules from the catalogue: {html.escape(str(s['catalog']))}",
    ]
    parts.append("<h2>方法 Method</h2><ul>" + "".join(f"<li>{m}</li>" for m in method) + "</ul>")
    if result.notes:
        parts.append("<h2>提示 Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in result.notes) + "</ul>")
    return html_page(title, "\n".join(parts))


def write_check_outputs(result: CheckResult, out_dir: str | Path, *, map_html: str | None = None,
                        xlsx: bool = True) -> dict[str, Path]:
    """summary.csv, overlaps.csv, check.xlsx, overlaps.gpkg (projects, overlap_pieces[, overlap_lines]), report.html."""
    from spatial.report import write_csv, write_excel, write_gpkg

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {
        "summary.csv": write_csv(result.summary, out / "summary.csv"),
        "overlaps.csv": write_csv(result.overlaps, out / "overlaps.csv"),
    }
    if xlsx:
        ov = result.overlaps
        if len(ov) > XLSX_MAX_ROWS:  # Excel's sheet limit: keep the rows that say something
            ov = ov[(ov["verdict"] != "no_conflict") | ov["distance_m"].notna()]
            result.notes.append(f"check.xlsx: overlaps sheet limited to {min(len(ov), XLSX_MAX_ROWS):,d} rows with an "
                                "overlap or a near feature (Excel's row limit); overlaps.csv has them all.")
            ov = ov.head(XLSX_MAX_ROWS)
        files["check.xlsx"] = write_excel({"summary": result.summary.head(XLSX_MAX_ROWS), "overlaps": ov,
                                           "layers": result.layers}, out / "check.xlsx")
    pieces = result.pieces
    layers = {"projects": result.projects}
    poly = pieces[pieces["piece"] == "area"] if len(pieces) else pieces
    layers["overlap_pieces"] = poly.assign(geometry=poly.geometry.apply(
        lambda g: shapely.multipolygons([g]) if g is not None and g.geom_type == "Polygon" else g)) if len(poly) else poly
    if len(pieces) and (pieces["piece"] == "line").any():
        layers["overlap_lines"] = pieces[pieces["piece"] == "line"]
    files["overlaps.gpkg"] = write_gpkg(layers, out / "overlaps.gpkg")
    path = out / "report.html"
    path.write_text(check_report_html(result, map_html=map_html), encoding="utf-8")
    files["report.html"] = path
    return files
