"""The local engine: how the overlay and the nearest-feature search run on this machine.

Projects are cut into chunks of about :data:`CHUNK_COORDS` vertices; chunks run on threads, because GEOS
(shapely 2) and GeographicLib's polygon routine (:mod:`spatial.geo.area`) release the GIL, so overlay and
measurement of two chunks overlap. Candidate pairs come from the constraint layer's STRtree (bounding boxes);
a project whose box lies in a feature's box and that is ``within`` it is its own overlap piece; the other
pairs are confirmed with ``intersects``; the features touching a project are unioned first (overlapping
features count once, QGIS's order), then intersected with it.

An engine is any object with ``overlay(targets, layer, dim, measure, own, tick)`` and
``nearest(geoms, layer, near_m)``; :func:`spatial.engine.get_engine` picks one by name.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import shapely

from spatial.engine.prepared import ConstraintLayer
from spatial.geo.area import CGCS2000_GEOD
from spatial.geo.ops import keep_dim
from spatial.geo.zones import local_plane, plane_origins

__all__ = ["LocalEngine", "threaded", "CHUNK_COORDS", "CHUNK_MAX", "CHUNK_THREADED"]

CHUNK_COORDS = 2_000_000         # projects are processed in chunks of about this many vertices

CHUNK_MAX = 50_000               # … and at most this many projects

CHUNK_THREADED = 5_000           # smaller chunks when several threads share the work



def threaded(func: Callable[..., np.ndarray], geoms: np.ndarray, workers: int, piece: int = 2_000) -> np.ndarray:
    """func(geoms) elementwise, split over threads (GEOS releases the GIL)."""
    if workers <= 1 or len(geoms) < 2 * piece:
        return func(geoms)
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

def _overlay_chunk(t: np.ndarray, layer: ConstraintLayer, dim: int, measure: Callable[[np.ndarray], np.ndarray],
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

def _overlay_pieces(t: np.ndarray, layer: ConstraintLayer, dim: int):
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
        # QGIS's order: dissolve the features touching the target, then intersect. Each feature is first cut
        # to a box a little larger than the target's, which spares uniting whole large features (a third of
        # the overlay at 100 000 projects) and changes nothing: the cut edges lie outside the target, so the
        # piece has the same vertices as with whole features (a vertex more on an edge would move its
        # geodesic, and the area with it)
        mq = uq[multi]
        in_multi = np.repeat(multi, counts)
        b = shapely.bounds(t[q[in_multi]])
        pad = 0.01 * np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[:, None] + 1e-7
        box = shapely.box(*(b + pad * np.array([-1.0, -1.0, 1.0, 1.0])).T)
        near = keep_dim(shapely.intersection(lg[l[in_multi]], box), 2)
        group = np.repeat(np.arange(len(mq)), counts[multi])
        pieces[mq] = shapely.intersection(t[mq], shapely.union_all(_grouped(near, group, len(mq)), axis=1))
    got = np.flatnonzero(~shapely.is_missing(pieces) & ~whole)
    if len(got):
        pieces[got] = keep_dim(pieces[got], dim)
    return pieces, whole, q, l

def _grouped(geoms: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """An (n, k) array holding, in row g, the geometries of group g (sorted ``group``), padded with None."""
    counts = np.bincount(group, minlength=n)
    rank = np.arange(len(group)) - np.repeat(np.cumsum(counts) - counts, counts)
    out = np.full((n, int(counts.max()) if len(counts) else 0), None, dtype=object)
    out[group, rank] = geoms
    return out

def _overlay(targets: np.ndarray, layer: ConstraintLayer, dim: int, tick: Callable[[int], None],
             workers: int, measure: Callable[[np.ndarray], np.ndarray],
             own: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Overlap pieces of each target with the union of the layer features it intersects, measured.

    Returns (pieces, values, hit_q, hit_l): pieces[i] is None where target i touches nothing;
    values[i] its area (dim 2) or length (dim 1), ``own[i]`` where the target is inside one feature;
    (hit_q, hit_l) are the intersecting (target, feature) pairs sorted by target then feature.
    Chunks run on ``workers`` threads: shapely releases the GIL inside GEOS, and GeographicLib's
    polygon routine (spatial.geo.area) does too, so overlay and measurement of two chunks overlap.
    """
    n = len(targets)
    pieces = np.full(n, None, dtype=object)
    values = np.zeros(n)
    all_q, all_l = [], []
    slices = _chunks(targets, max_n=CHUNK_MAX if workers <= 1 else CHUNK_THREADED)

    def run(sl: slice):
        return sl, _overlay_chunk(targets[sl], layer, dim, measure, own[sl])

    if workers > 1 and len(slices) > 1:
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

def _nearest(geoms: np.ndarray, layer: ConstraintLayer, near_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (m) to and index of the nearest layer feature within near_m; NaN / -1 beyond.

    Candidates: features whose boxes meet the project's box grown by near_m. Each is clipped to that
    box (whatever lies within near_m of the project lies inside it, so the distance is unchanged),
    the nearest is chosen on the plane tangent at the project's centre (:func:`local_plane`), and the
    distance reported is the geodesic one between the two nearest points.
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
    lon0, lat0 = plane_origins(geoms)
    uq, qi = np.unique(q, return_inverse=True)
    plane_a = local_plane(geoms[uq], lon0[uq], lat0[uq])[qi]
    plane_b = local_plane(near_parts, lon0[q], lat0[q])
    pair_d = shapely.distance(plane_a, plane_b)
    # nearest pair per project on its plane, then the geodesic distance between its nearest points
    order = np.lexsort((pair_d, q))
    _, first = np.unique(q[order], return_index=True)
    best = order[first]
    best = best[pair_d[best] <= near_m * 1.01]
    if len(best) == 0:
        return dist, which
    lines = local_plane(shapely.shortest_line(plane_a[best], plane_b[best]), lon0[q[best]], lat0[q[best]], inverse=True)
    ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    geo = CGCS2000_GEOD.inv(ends[:, 0, 0], ends[:, 0, 1], ends[:, 1, 0], ends[:, 1, 1])[2]
    ok = geo <= near_m
    dist[q[best[ok]]] = geo[ok]
    which[q[best[ok]]] = l[best[ok]]
    return dist, which


def _nearest_threaded(geoms: np.ndarray, layer: ConstraintLayer, near_m: float,
                      workers: int) -> tuple[np.ndarray, np.ndarray]:
    if workers <= 1 or len(geoms) < 2 * CHUNK_THREADED:
        return _nearest(geoms, layer, near_m)
    parts = np.array_split(np.arange(len(geoms)), int(np.ceil(len(geoms) / CHUNK_THREADED)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(lambda idx: _nearest(geoms[idx], layer, near_m), parts))
    return np.concatenate([d for d, _ in done]), np.concatenate([w for _, w in done])


@dataclass
class LocalEngine:
    """Overlay and nearest search in this process, on ``workers`` threads (default: the CPU count, at most 8).

    Parameters
    ----------
    workers : int, optional
        Threads; 1 runs everything in the calling thread.
    """

    workers: int = 0

    def __post_init__(self) -> None:
        self.workers = max(1, int(self.workers)) if self.workers else min(os.cpu_count() or 1, 8)

    name = "local"

    def overlay(self, targets: np.ndarray, layer: ConstraintLayer, dim: int, measure: Callable[[np.ndarray], np.ndarray],
                own: np.ndarray, tick: Callable[[int], None]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(pieces, measures, hit_q, hit_l) of ``targets`` against ``layer`` (see :func:`_overlay`)."""
        return _overlay(targets, layer, dim, tick, self.workers, measure, own)

    def nearest(self, geoms: np.ndarray, layer: ConstraintLayer, near_m: float) -> tuple[np.ndarray, np.ndarray]:
        """Geodesic distance to, and index of, the nearest feature of ``layer`` within ``near_m``."""
        return _nearest_threaded(geoms, layer, near_m, self.workers)

    def map(self, func: Callable[[np.ndarray], np.ndarray], geoms: np.ndarray, piece: int = 2_000) -> np.ndarray:
        """``func`` applied elementwise to ``geoms`` on the engine's threads."""
        return threaded(func, geoms, self.workers, piece)

    def close(self) -> None:
        """Nothing to release (threads end with each call); engines share this method."""

    def __enter__(self) -> "LocalEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
