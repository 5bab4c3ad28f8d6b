"""Validation of the features of a layer: nothing is dropped silently. Invalid geometries are repaired (overlapping
parts unioned, areas before and after), unusable ones set aside and named, repeated vertices removed, Z/M dropped,
duplicates and mixed types warned; each step is a :class:`~spatial.sources.findings.Finding`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.geo.area import area_m2, length_m
from spatial.sources.names import LazyLabels, feature_numbers
from spatial.sources.findings import Finding

_POLY, _LINE, _POINT = "polygon", "line", "point"
_FAMILY_OF_TYPE = {"Polygon": _POLY, "MultiPolygon": _POLY, "LineString": _LINE, "MultiLineString": _LINE,
                   "LinearRing": _LINE, "Point": _POINT, "MultiPoint": _POINT}
_MULTI = {_POLY: shapely.MultiPolygon, _LINE: shapely.MultiLineString, _POINT: shapely.MultiPoint}
_DIM = {_POLY: 2, _LINE: 1, _POINT: 0}


# --- validation -------------------------------------------------------------------------------------------

def _family(geoms: np.ndarray) -> np.ndarray:
    types = shapely.get_type_id(geoms)
    fam = np.full(len(geoms), None, dtype=object)
    fam[np.isin(types, [3, 6])] = _POLY
    fam[np.isin(types, [1, 2, 5])] = _LINE
    fam[np.isin(types, [0, 4])] = _POINT
    fam[types == 7] = "collection"
    return fam


def _declared_family(geometry_type: str | None) -> str | None:
    if not geometry_type:
        return None
    t = geometry_type.replace("3D ", "").replace("Measured ", "").replace(" Z", "").replace(" M", "").strip()
    for key, fam in _FAMILY_OF_TYPE.items():
        if t == key:
            return fam
    if "Polygon" in t or "Surface" in t:
        return _POLY
    if "Line" in t or "Curve" in t:
        return _LINE
    if "Point" in t:
        return _POINT
    return None


def _parts_of(geom: Any) -> list[Any]:
    out = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if g is None or g.is_empty:
            continue
        if shapely.get_type_id(g) in (4, 5, 6, 7):
            stack.extend(reversed(list(g.geoms)))
        else:
            out.append(g)
    return out


def _keep_family(geom: Any, fam: str) -> Any:
    """The parts of ``geom`` of one family as a single or multi geometry (None if there are none)."""
    parts = [p for p in _parts_of(geom) if _FAMILY_OF_TYPE.get(p.geom_type) == fam]
    if fam == _LINE:
        parts = [shapely.LineString(p.coords) if p.geom_type == "LinearRing" else p for p in parts]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return _MULTI[fam](parts)


# Below this many vertices one thread validates as fast as several.
_PARALLEL_COORDS = 200_000


def _parallel(func: Any, geoms: np.ndarray) -> np.ndarray:
    """``func(geoms)`` for an element-wise shapely function, over threads on big inputs (GEOS releases
    the GIL); the pieces hold about the same number of vertices."""
    workers = min(os.cpu_count() or 1, 8)
    if workers <= 1 or len(geoms) < 2 * workers:
        return func(geoms)
    csum = np.cumsum(shapely.get_num_coordinates(geoms))
    if csum[-1] < _PARALLEL_COORDS:
        return func(geoms)
    n_parts = 4 * workers
    cuts = np.unique(np.r_[0, np.searchsorted(csum, csum[-1] * np.arange(1, n_parts) / n_parts), len(geoms)])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda ab: func(geoms[ab[0]:ab[1]]), zip(cuts[:-1], cuts[1:])))
    return np.concatenate(parts)


def _may_be_duplicates(geoms: np.ndarray) -> np.ndarray:
    """False where a geometry certainly has no exact duplicate among ``geoms``: same vertices in whatever
    order means the same type, vertex count and bounding box.  Non-finite boxes always count as possible."""
    b = shapely.bounds(geoms) + 0.0  # -0.0 -> 0.0
    keys = pd.DataFrame({"t": shapely.get_type_id(geoms), "n": shapely.get_num_coordinates(geoms),
                         "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2], "y1": b[:, 3]})
    return keys.duplicated(keep=False).to_numpy() | ~np.isfinite(b).all(axis=1)


def _scan_vertices(geoms: np.ndarray, piece: int = 50_000) -> tuple[np.ndarray, np.ndarray]:
    """Per geometry: how many x/y coordinates are NaN or infinite, and whether two consecutive vertices may be
    the same point (a ring's closing vertex followed by the next ring's first counts too: only a candidate).
    One pass over the coordinates, in pieces: a big layer's coordinates are not copied all at once."""
    bad_n = np.zeros(len(geoms), dtype=np.int64)
    repeats = np.zeros(len(geoms), dtype=bool)
    for start in range(0, len(geoms), piece):
        part = geoms[start:start + piece]
        coords, idx = shapely.get_coordinates(part, return_index=True)
        x, y = coords[:, 0], coords[:, 1]
        with np.errstate(over="ignore", invalid="ignore"):
            bad = ~np.isfinite(x + y)      # a NaN or an infinity in either makes the sum one (cheaper than .all)
        if bad.any():
            bad[bad] = ~(np.isfinite(x[bad]) & np.isfinite(y[bad]))     # not a finite sum that overflowed
            bad_n[start:start + len(part)] = np.bincount(idx[bad], minlength=len(part))
        same = (x[1:] == x[:-1]) & (y[1:] == y[:-1]) & (idx[1:] == idx[:-1])
        repeats[start + np.unique(idx[1:][same])] = True
    return bad_n, repeats


def _without_repeats(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with exactly repeated consecutive vertices removed; a geometry whose ring would fall
    below 3 points is left as it is (step 4 repairs or sets it aside)."""
    try:
        return shapely.remove_repeated_points(geoms, 0.0)
    except shapely.errors.GEOSException:
        out = geoms.copy()
        for k, g in enumerate(geoms):
            try:
                out[k] = shapely.remove_repeated_points(g, 0.0)
            except shapely.errors.GEOSException:
                pass
        return out


def _overlapping_parts(geom: Any) -> bool:
    """Whether a MultiPolygon is invalid only because its (each valid) parts overlap."""
    if shapely.get_type_id(geom) != 6:
        return False
    parts = shapely.get_parts(geom)
    return bool(shapely.is_valid(parts).all())


def _extent_m(geom: Any, crs: Any) -> float:
    """Half the geodesic perimeter: the length of a polygon that encloses no area."""


    return float(length_m(gpd.GeoSeries([geom], crs=crs))[0]) / 2.0


def _geodesic_m2(geoms: list[Any], crs: Any) -> np.ndarray:

    if not geoms:
        return np.zeros(0)
    return area_m2(gpd.GeoSeries(geoms, crs=crs), method="geodesic")


@dataclass
class _Validation:
    """What the validation steps share: the geometries being repaired, which are set aside, and the findings."""

    src: str
    labels: Any
    nums: pd.Series
    crs: Any
    geoms: np.ndarray
    aside: np.ndarray
    repairs: list[Finding]
    set_aside: list[Finding]
    warnings: list[Finding]
    fam: np.ndarray | None = None
    repeats: np.ndarray | None = None   # may repeat a vertex (from the coordinate scan); None: not scanned

    def label(self, i: int) -> str:
        return self.labels.iloc[i]

    def put_aside(self, i: int, kind: str, message: str, **kw: Any) -> None:
        self.aside[i] = True
        self.set_aside.append(Finding(self.src, self.label(i), kind, message, number=int(self.nums.iloc[i]), **kw))

    def live(self) -> np.ndarray:
        return np.flatnonzero(~self.aside)


def _validate(gdf: gpd.GeoDataFrame, src: str, declared_type: str | None, name_field: str | None,
              repairs: list[Finding], set_aside: list[Finding], warnings: list[Finding]
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The features that can be used, repaired where they can be, and those set aside; every step a finding."""
    v = _Validation(src, LazyLabels(gdf, name_field), feature_numbers(gdf), gdf.crs,
                    np.asarray(gdf.geometry.values, dtype=object).copy(), np.zeros(len(gdf), dtype=bool),
                    repairs, set_aside, warnings)
    _set_aside_empty(v)
    _set_aside_non_finite(v)
    _drop_z(v)
    _settle_geometry_types(v, _declared_family(declared_type))
    _remove_repeated_vertices(v)
    _repair_invalid(v)
    _flag_duplicates(v)
    out = gdf.set_geometry(gpd.GeoSeries(v.geoms, index=gdf.index, crs=v.crs))
    return out[~v.aside], out[v.aside]


def _set_aside_empty(v: _Validation) -> None:
    empty = shapely.is_missing(v.geoms) | shapely.is_empty(v.geoms)
    for i in np.flatnonzero(empty):
        what = "no geometry (NULL)" if v.geoms[i] is None else f"an empty {v.geoms[i].geom_type}"
        v.put_aside(i, "empty_geometry", f"{v.src}: feature {v.label(i)} has {what}; set aside (not used)")


def _set_aside_non_finite(v: _Validation) -> None:
    """NaN / Inf coordinates: GEOS cannot compute with them and no repair can guess the true value."""
    live = v.live()
    counts, repeats = _scan_vertices(v.geoms[live]) if len(live) else (np.zeros(0, dtype=np.int64), None)
    if repeats is not None:
        v.repeats = np.zeros(len(v.geoms), dtype=bool)
        v.repeats[live] = repeats
    for i, count in zip(live[counts > 0], counts[counts > 0]):
        v.put_aside(i, "non_finite_coordinates",
                    f"{v.src}: feature {v.label(i)} has {int(count)} coordinate(s) that are NaN or infinite (not a "
                    f"number); set aside — correct those vertices in the source (re-digitise or re-export the "
                    f"feature)", details={"count": int(count)})


def _drop_z(v: _Validation) -> None:
    live = ~v.aside
    has_zm = np.zeros(len(v.geoms), dtype=bool)
    has_zm[live] = shapely.has_z(v.geoms[live])
    if hasattr(shapely, "has_m"):
        has_zm[live] |= shapely.has_m(v.geoms[live])
    if has_zm.any():
        v.geoms[has_zm] = shapely.force_2d(v.geoms[has_zm])
        v.warnings.append(Finding(v.src, None, "z_dropped",
                                  f"{v.src}: {int(has_zm.sum())} of {int(live.sum())} features carry Z (height) or M "
                                  f"values; dropped — areas and overlays are 2-D", details={"count": int(has_zm.sum())}))


def _settle_geometry_types(v: _Validation, layer_fam: str | None) -> None:
    """One geometry family per feature: collections unpacked, unusable types set aside, mixed layers warned."""
    fam = _family(v.geoms)
    fam[v.aside] = None
    if layer_fam is None:
        counts = pd.Series(fam[~v.aside & (fam != "collection")]).value_counts()
        if len(counts):
            layer_fam = str(counts.index[0])
    for i in np.flatnonzero(fam == "collection"):
        fam[i] = _unpack_collection(v, i, layer_fam)
    for i in np.flatnonzero(~v.aside & (fam == None)):  # noqa: E711 - element-wise on an object array
        v.put_aside(i, "unusable_geometry", f"{v.src}: feature {v.label(i)} is a {v.geoms[i].geom_type}, which "
                                            f"cannot be used; set aside")
    rings = ~v.aside & (shapely.get_type_id(v.geoms) == 2)
    if rings.any():
        v.geoms[rings] = [shapely.LineString(g.coords) for g in v.geoms[rings]]
    live = ~v.aside
    present = pd.Series(fam[live]).value_counts()
    if len(present) > 1:
        minority = [f for f in present.index if f != layer_fam]
        examples = [v.label(i) for i in np.flatnonzero(live & np.isin(fam, minority))[:5]]
        v.warnings.append(Finding(v.src, None, "mixed_geometry_types",
                                  f"{v.src}: mixed geometry types: " + ", ".join(f"{n} {f}" for f, n in present.items())
                                  + f"; e.g. {', '.join(examples)} — check the layer (split it by type if needed)",
                                  details={str(k): int(n) for k, n in present.items()}))
    v.fam = fam


def _unpack_collection(v: _Validation, i: int, layer_fam: str | None) -> str | None:
    """A GeometryCollection read as the layer's family (other parts dropped, said), else set aside."""
    parts = _parts_of(v.geoms[i])
    fams = {_FAMILY_OF_TYPE.get(p.geom_type) for p in parts}
    target = layer_fam if layer_fam in fams else (fams.pop() if len(fams) == 1 else None)
    kept = _keep_family(v.geoms[i], target) if target else None
    if kept is None or None in fams:
        held = ", ".join(sorted(p.geom_type for p in parts)) or "nothing"
        v.put_aside(i, "unusable_geometry", f"{v.src}: feature {v.label(i)} is a GeometryCollection of {held} that "
                                            f"cannot be used as a {layer_fam or 'single-type'} feature; set aside")
        return None
    dropped = [p.geom_type for p in parts if _FAMILY_OF_TYPE.get(p.geom_type) != target]
    msg = f"{v.src}: feature {v.label(i)} is a GeometryCollection; read as {kept.geom_type}"
    if dropped:
        msg += f" (its {', '.join(dropped)} part(s) dropped)"
    v.repairs.append(Finding(v.src, v.label(i), "collection_unpacked", msg, number=int(v.nums.iloc[i])))
    v.geoms[i] = kept
    return target


def _remove_repeated_vertices(v: _Validation) -> None:
    """Repeated consecutive vertices: valid for GEOS but digitising noise; removed and counted."""
    live = ~v.aside & np.isin(v.fam, [_POLY, _LINE])
    if v.repeats is not None:  # only those the coordinate scan found repeating: the rest cannot change
        live &= v.repeats
    live = np.flatnonzero(live)
    if not len(live):
        return
    cleaned = _without_repeats(v.geoms[live])
    removed = shapely.get_num_coordinates(v.geoms[live]) - shapely.get_num_coordinates(cleaned)
    hit = np.flatnonzero(removed > 0)
    before = _geodesic_m2(list(v.geoms[live[hit]]), v.crs)
    after = _geodesic_m2(list(cleaned[hit]), v.crs)
    for j, k in enumerate(hit):
        i = live[k]
        v.geoms[i] = cleaned[k]
        v.repairs.append(Finding(v.src, v.label(i), "duplicate_vertices",
                                 f"{v.src}: feature {v.label(i)} repeats {int(removed[k])} vertex(es) right after "
                                 f"themselves; removed (the shape is unchanged: geodesic area {before[j]:,.2f} m² "
                                 f"before, {after[j]:,.2f} m² after)",
                                 number=int(v.nums.iloc[i]), area_before_m2=float(before[j]),
                                 area_after_m2=float(after[j]), details={"removed": int(removed[k])}))


def _repair_invalid(v: _Validation) -> None:
    """Invalid geometries repaired with make_valid (areas before and after), or set aside when nothing is left."""
    live = v.live()
    invalid = live[~_parallel(shapely.is_valid, v.geoms[live])] if len(live) else live
    if not len(invalid):
        return
    before_geoms = list(v.geoms[invalid])
    reasons = shapely.is_valid_reason(v.geoms[invalid])
    kept = _made_valid(v.geoms[invalid], v.fam[invalid])
    overlap = [_overlapping_parts(g) for g in before_geoms]
    before = _geodesic_m2(before_geoms, v.crs)
    after = _geodesic_m2([k if k is not None else shapely.Polygon() for k in kept], v.crs)
    for j, i in enumerate(invalid):
        label, poly = v.label(i), v.fam[i] == _POLY
        if kept[j] is None:
            what = (f"encloses no area (a sliver {_extent_m(before_geoms[j], v.crs):,.1f} m long); set aside — "
                    f"redraw it as a polygon, or deliver it in a line layer if it is a line"
                    if poly else f"has no usable {v.fam[i]} left after repair; set aside")
            v.put_aside(i, "collapsed", f"{v.src}: feature {label} is invalid ({reasons[j]}) and {what} — area before "
                                        f"{before[j]:,.2f} m²", reason=str(reasons[j]),
                        area_before_m2=float(before[j]), area_after_m2=0.0)
            continue
        v.geoms[i] = kept[j]
        area_text = f"; geodesic area {before[j]:,.2f} m² before, {after[j]:,.2f} m² after" if poly else ""
        msg = (f"{v.src}: feature {label} was invalid ({reasons[j]}); repaired with make_valid into "
               f"a {kept[j].geom_type}{area_text}")
        if overlap[j]:
            msg = (f"{v.src}: feature {label} has parts that overlap ({reasons[j]}); merged into their union, a "
                   f"{kept[j].geom_type}, so the overlap counts once — geodesic area {before[j]:,.2f} m² "
                   f"(sum of the parts) before, {after[j]:,.2f} m² after; if the parts are separate parcels, "
                   f"deliver them as separate features")
        v.repairs.append(Finding(v.src, label, "overlapping_parts" if overlap[j] else "repaired", msg,
                                 number=int(v.nums.iloc[i]), reason=str(reasons[j]),
                                 area_before_m2=float(before[j]) if poly else None,
                                 area_after_m2=float(after[j]) if poly else None))


def _made_valid(geoms: np.ndarray, fams: np.ndarray) -> list[Any]:
    """make_valid, kept to each feature's family (None when nothing of it is left).

    Polygons use 'structure', which unions the shells (overlapping parts count once, as drawn) and subtracts
    the holes; the default 'linework' would cut an overlap out as a hole.
    """
    poly = fams == _POLY
    fixed = np.empty(len(geoms), dtype=object)
    if poly.any():
        fixed[poly] = shapely.make_valid(geoms[poly], method="structure", keep_collapsed=False)
    if (~poly).any():
        fixed[~poly] = shapely.make_valid(geoms[~poly])
    return [_keep_family(g, f) for g, f in zip(fixed, fams)]


def _flag_duplicates(v: _Validation) -> None:
    """Exact duplicates (same vertices, whatever the ring start or orientation): kept, and warned."""
    live = v.live()
    if len(live) <= 1:
        return
    # only features agreeing in type, vertex count and bounding box can be duplicates: compare those
    cand = live[_may_be_duplicates(v.geoms[live])]
    keys = pd.Series(shapely.to_wkb(shapely.normalize(v.geoms[cand])), index=cand)
    dup = keys[keys.duplicated(keep=False)]
    for _, group in dup.groupby(dup, sort=False):
        members = [v.label(i) for i in group.index]
        v.warnings.append(Finding(v.src, members[0], "duplicate_geometry",
                                  f"{v.src}: features {', '.join(members)} have identical geometry; all kept "
                                  f"(remove duplicates if they are not intended: overlapping areas are counted "
                                  f"once in unions but twice in sums)",
                                  number=int(v.nums.iloc[group.index[0]]),
                                  details={"features": [int(v.nums.iloc[i]) for i in group.index]}))


# --- degenerate polygons ----------------------------------------------------------------------------------

# No geodesic on GRS80 is longer than its chord in degrees times this (the largest radius of curvature, at
# the poles, a / sqrt(1 - e²) = 6 399 594 m, in metres per degree), so it bounds a perimeter from above.
_MAX_M_PER_DEGREE = 111_695.0


def _perimeters_of_thin(polys: gpd.GeoDataFrame, area: np.ndarray, min_width_m: float,
                        also: np.ndarray) -> np.ndarray:
    """Geodesic perimeters, measured where the polygon may be thinner than ``min_width_m`` or ``also`` holds;
    elsewhere an upper bound (from the perimeter in degrees) that already clears the width test. The geodesic
    perimeter of every project took two seconds of a 100 000-project check."""
    if polys.crs is None or not polys.crs.is_geographic:
        return length_m(polys)
    bound = shapely.length(np.asarray(polys.geometry.values, dtype=object)) * _MAX_M_PER_DEGREE * 1.001
    maybe = (2.0 * area < min_width_m * bound) | also
    out = bound.copy()
    if maybe.any():
        out[maybe] = length_m(polys[maybe])
    return out

def degenerate_polygons(gdf: gpd.GeoDataFrame, *, min_area_m2: float = 1.0, min_width_m: float = 0.5,
                        areas_m2: np.ndarray | None = None) -> pd.DataFrame:
    """Polygons too small or too thin to be what they claim (drawing errors whose overlaps can vanish).

    Parameters
    ----------
    gdf : GeoDataFrame with a CRS; only its (multi)polygons are looked at.
    min_area_m2 : a polygon whose official area (:mod:`spatial.geo.area`) is below this is degenerate.
    min_width_m : a polygon whose mean width, 2 × area / perimeter (geodesic), is below this is a needle.
    areas_m2 : the areas, when the caller has them already (one per row of ``gdf``).

    Returns
    -------
    DataFrame indexed like the degenerate rows of ``gdf``: ``area_m2``, ``length_m`` (half the perimeter,
    the length of a needle), ``width_m`` and ``reason`` (a phrase naming the threshold crossed).
    Thresholds come from the catalogue's ``[validation]`` table.
    """


    poly = np.isin(shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)), [3, 6])
    cols = ["area_m2", "length_m", "width_m", "reason"]
    if not poly.any():
        return pd.DataFrame(columns=cols)
    sub = gdf[poly]
    area = np.asarray(areas_m2, dtype=float)[poly] if areas_m2 is not None else area_m2(sub, "official")
    perimeter = _perimeters_of_thin(sub, area, min_width_m, also=area < min_area_m2)
    width = np.divide(2.0 * area, perimeter, out=np.zeros(len(sub)), where=perimeter > 0)
    small, thin = area < min_area_m2, width < min_width_m
    reasons = [" and ".join(filter(None, [f"area {a:,.3f} m² below {min_area_m2:g} m²" if s else "",
                                          f"mean width {w:,.3f} m below {min_width_m:g} m over {p / 2:,.1f} m"
                                          if t else ""]))
               for a, w, p, s, t in zip(area, width, perimeter, small, thin)]
    out = pd.DataFrame({"area_m2": area, "length_m": perimeter / 2.0, "width_m": width, "reason": reasons},
                       index=sub.index)
    return out[small | thin]
