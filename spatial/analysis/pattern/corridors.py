"""Least-cost corridors (廊道提取), following Linkage Mapper's Linkage Pathways tool.

Steps, as in Linkage Mapper (McRae & Kavanagh 2011; scripts ``s1_getAdjacencies.py``,
``s3_calcCwds.py``, ``s5_calcLccs.py`` of github.com/linkagescape/linkage-mapper):

1. **Cost-weighted distance** (CWD) from each source with scikit-image's ``MCP_Geometric``
   (``fully_connected=True``, 8 neighbours). The cost of a step between neighbouring cells i, j
   is ``(c_i + c_j) / 2 × step`` where step is 1 or √2 and ``c = resistance × cell_m``: the
   ArcGIS Cost Distance convention Linkage Mapper relies on, so costs are in resistance × metres.
   Every cell of the source starts at 0 (``skimage/graph/_mcp.pyx``: starts get cumulative cost
   0, ``MCP_Geometric._travel_cost`` is the mean of the two costs times the offset length).
2. **Cost allocation**: one multi-source MCP run from all sources; each cell is assigned the
   source its least-cost path starts from, found by pointer jumping on MCP's traceback array.
3. **Adjacency**: two sources are linked only if their allocation zones touch (8-neighbour), as
   Linkage Mapper's cost-weighted adjacency; not all pairs.
4. **Least-cost distance and path** of a pair (A, B): ``LCD = min over B's cells of CWD_A``, the
   least cost from any cell of A to any cell of B: exactly the multi-source Dijkstra on the
   8-neighbour graph with the edge weights of step 1. The path is MCP's traceback from that
   cell. It runs from A's boundary cell to B's boundary cell (inner source cells cost 0 and are
   never on it). A corridor whose path crosses a third source is dropped (Linkage Mapper's
   "intermediate core" rule: the two links through that source already represent it).
5. **Normalised least-cost corridor**: ``NLCC = CWD_A + CWD_B − LCD`` (s5_calcLccs.py). With
   edge-based step costs, ``CWD_A(x) + CWD_B(x)`` is exactly the cost of the best path A → x → B:
   each edge is counted once, the cell x contributes only through its two edges (half its cost to
   each). So NLCC is 0 along the least-cost path and ≥ 0 elsewhere: no half-cell double count
   arises, and ``min(CWD_A + CWD_B) = LCD`` to rounding (checked in the tests). Cells with
   ``NLCC ≤ cutoff`` form the corridor zone (Linkage Mapper's "width cutoff"), mosaicked over all
   corridors by the minimum.

Corridor attributes: ``cost`` = LCD (resistance × m), ``length_m`` = path length through cell
centres (steps × cell_m, diagonals × √2), ``cost_per_m`` = cost / length_m (Linkage Mapper's
"cwd to path length ratio", the mean resistance met along the path).

scikit-image 0.26's ``find_costs(max_cost=...)`` bounds each *step*, not the cumulative cost,
so every CWD run covers the whole grid (≈ 0.6 s per 10⁶ cells).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from skimage.graph import MCP_Geometric

SQRT2 = float(np.sqrt(2.0))


@dataclass
class Corridors:
    """Least-cost corridors between adjacent sources.

    Attributes
    ----------
    table : pandas.DataFrame
        corridor_id, from_id, to_id, cost, length_m, cost_per_m, zone_cells.
    paths : dict of int to numpy.ndarray
        corridor_id → (k, 2) array of (row, col) from source ``from_id`` to ``to_id``.
    zones : dict of int to numpy.ndarray
        corridor_id → flat indices of its corridor-zone cells (NLCC ≤ cutoff).
    nlcc : numpy.ndarray
        Mosaic of NLCC by minimum over corridors, NaN outside every corridor zone.
    dropped : pandas.DataFrame
        Adjacent pairs without a corridor and why.
    pairs : list of (int, int)
        Adjacent source pairs (by allocation zones).
    allocation : numpy.ndarray
        int32 source id whose zone each cell falls in (0 = unreachable).
    """

    table: pd.DataFrame
    paths: dict = field(default_factory=dict)
    zones: dict = field(default_factory=dict)
    nlcc: np.ndarray | None = None
    dropped: pd.DataFrame | None = None
    pairs: list = field(default_factory=list)
    allocation: np.ndarray | None = None


def step_costs(resistance: np.ndarray, cell_m: float) -> np.ndarray:
    """Per-cell cost for MCP: resistance × cell metres; NaN (impassable) → +inf."""
    c = np.asarray(resistance, dtype="float64") * cell_m
    c[~np.isfinite(c)] = np.inf
    return c


def cost_distance(costs: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, MCP_Geometric]:
    """Cost-weighted distance from all cells of `start` (cost 0 there).

    Parameters
    ----------
    costs : numpy.ndarray
        From :func:`step_costs`.
    start : numpy.ndarray of bool

    Returns
    -------
    cwd : numpy.ndarray
        inf where unreachable.
    mcp : skimage.graph.MCP_Geometric
        Holds the traceback for :meth:`MCP_Geometric.traceback`.
    """
    mcp = MCP_Geometric(costs, fully_connected=True)
    cwd, _ = mcp.find_costs(np.argwhere(start))
    return cwd, mcp


def allocate(costs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost allocation: nearest source (by cost) of every cell, from one multi-source MCP run.

    Returns
    -------
    cwd : numpy.ndarray
        Cost distance to the nearest source.
    zone : numpy.ndarray
        int32 id of that source (0 where unreachable).
    """
    mcp = MCP_Geometric(costs, fully_connected=True)
    cwd, tb = mcp.find_costs(np.argwhere(labels > 0))
    offsets = np.asarray(mcp.offsets, dtype=np.int64)  # MCP stores them as int8
    cols = costs.shape[1]
    flat_step = offsets[:, 0] * cols + offsets[:, 1]
    tb = tb.ravel()
    idx = np.arange(tb.size)
    # traceback holds the offset that reached each cell (predecessor = cell − offset); starts
    # (-1) and unreached cells (-2) point to themselves. Pointer jumping finds every root in
    # log2(longest path) vectorised passes instead of one Python traceback per cell.
    pred = np.where(tb >= 0, idx - flat_step[np.maximum(tb, 0)], idx)
    while True:
        nxt = pred[pred]
        if np.array_equal(nxt, pred):
            break
        pred = nxt
    zone = labels.ravel()[pred].reshape(labels.shape).astype("int32")
    return cwd, zone


def adjacent_pairs(zone: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (a < b) of source ids whose allocation zones touch (8-neighbour)."""
    pairs = set()
    for a, b in _neighbour_views(zone):
        m = (a != b) & (a > 0) & (b > 0)
        if m.any():
            lo = np.minimum(a[m], b[m])
            hi = np.maximum(a[m], b[m])
            pairs.update(zip(lo.tolist(), hi.tolist()))
    return sorted(pairs)


def _neighbour_views(arr: np.ndarray):
    # four offsets cover all eight neighbours once each (the other four are the same pairs reversed)
    yield arr[:, :-1], arr[:, 1:]
    yield arr[:-1, :], arr[1:, :]
    yield arr[:-1, :-1], arr[1:, 1:]
    yield arr[:-1, 1:], arr[1:, :-1]


def path_length_m(path: np.ndarray, cell_m: float) -> float:
    """Length through cell centres: straight steps × cell_m, diagonal steps × √2 × cell_m."""
    if len(path) < 2:
        return 0.0
    d = np.abs(np.diff(path, axis=0)).sum(axis=1)
    return float(cell_m * (np.sum(d == 1) + SQRT2 * np.sum(d == 2)))


def least_cost_corridors(
    resistance: np.ndarray,
    cell_m: float,
    labels: np.ndarray,
    *,
    cutoff: float | None,
    pairs: list[tuple[int, int]] | None = None,
    allocation: np.ndarray | None = None,
    progress=None,
) -> Corridors:
    """Linkage Mapper corridors between adjacent sources.

    Parameters
    ----------
    resistance : numpy.ndarray
        Resistance per cell, NaN = impassable.
    cell_m : float
    labels : numpy.ndarray
        int source ids (0 = none), e.g. ``Sources.labels``.
    cutoff : float or None
        Corridor width as cost (resistance × m): cells with NLCC ≤ cutoff form the zone.
        None keeps every reachable cell.
    pairs : list of (int, int), optional
        Source pairs to link; default the pairs whose allocation zones touch.
    allocation : numpy.ndarray, optional
        Allocation zones from :func:`allocate`, when already computed.
    progress : callable, optional
        ``progress(step, done, total)`` after each source's CWD.

    Returns
    -------
    Corridors
    """
    costs = step_costs(resistance, cell_m)
    zone = allocation
    if zone is None and pairs is None:
        _, zone = allocate(costs, labels)
    if pairs is None:
        pairs = adjacent_pairs(zone)
    cwds, found = _cwds_and_paths(costs, labels, pairs, progress)
    table, paths, zones, nlcc, dropped = _corridors_from_cwds(cwds, found, labels, cell_m, cutoff)
    return Corridors(table, paths, zones, nlcc, dropped, list(pairs), zone)


def _cwds_and_paths(costs, labels, pairs, progress):
    ids = sorted({i for p in pairs for i in p})
    cwds, found = {}, {}
    for n, s in enumerate(ids, 1):
        cwd, mcp = cost_distance(costs, labels == s)
        cwds[s] = cwd
        for a, b in pairs:
            if a != s:
                continue
            target = np.flatnonzero((labels == b).ravel())
            at = target[np.argmin(cwd.ravel()[target])]
            lcd = float(cwd.ravel()[at])
            if np.isfinite(lcd):
                end = np.unravel_index(at, labels.shape)
                found[(a, b)] = (lcd, np.array(mcp.traceback(end)))
            else:
                found[(a, b)] = (np.inf, None)
        if progress:
            progress("cost distance", n, len(ids))
    return cwds, found


def _corridors_from_cwds(cwds, found, labels, cell_m, cutoff):
    rows, drops, paths, zones = [], [], {}, {}
    nlcc_mosaic = np.full(labels.shape, np.inf)
    for (a, b), (lcd, path) in sorted(found.items()):
        if path is None:
            drops.append(dict(from_id=a, to_id=b, reason="unreachable (impassable between the sources)"))
            continue
        on = labels[path[:, 0], path[:, 1]]
        third = sorted(set(on.tolist()) - {0, a, b})
        if third:
            drops.append(dict(from_id=a, to_id=b, reason=f"least-cost path crosses intermediate source(s) {third}"))
            continue
        nlcc = np.maximum(cwds[a] + cwds[b] - lcd, 0.0)  # rounding can leave −1e-12 on the path
        in_zone = np.isfinite(nlcc) if cutoff is None else (nlcc <= cutoff)
        cid = len(rows) + 1
        zones[cid] = np.flatnonzero(in_zone.ravel())
        paths[cid] = path
        np.fmin(nlcc_mosaic, np.where(in_zone, nlcc, np.inf), out=nlcc_mosaic)
        length = path_length_m(path, cell_m)
        rows.append(dict(corridor_id=cid, from_id=a, to_id=b, cost=lcd, length_m=length,
                         cost_per_m=lcd / length if length > 0 else np.nan, zone_cells=int(in_zone.sum())))
    cols = ["corridor_id", "from_id", "to_id", "cost", "length_m", "cost_per_m", "zone_cells"]
    nlcc_mosaic[~np.isfinite(nlcc_mosaic)] = np.nan
    return (pd.DataFrame(rows, columns=cols), paths, zones, nlcc_mosaic,
            pd.DataFrame(drops, columns=["from_id", "to_id", "reason"]))
