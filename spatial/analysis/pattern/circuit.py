"""Circuit theory in corridors and pinch points (夹点), as Circuitscape / Linkage Mapper's Pinchpoint Mapper.

**Graph.** Every passable cell of the mask is a node. Neighbours (4 or 8) are joined by a
resistor of ``mean(r_i, r_j) × step`` (step 1, or √2 for diagonals), i.e. conductance
``g_ij = 1 / (mean(r_i, r_j) × step)``. This is Circuitscape's ``avg_resistances = True``
option (``res_cardinal_avg = (x + y) / 2``, ``res_diagonal_avg = (x + y)√2 / 2`` in
Circuitscape's SpatialGraphs; Circuitscape.jl ``construct_graph``) and the same edge weight as
the least-cost step of :mod:`.corridors`, so circuit and cost distance see one landscape. Like
Circuitscape, resistances are not multiplied by the cell size: effective resistance is in
resistance units (a uniform strip of unit cells, n columns × m rows, has (n − 1)/m).

**Solve.** Source A's cells are tied into one node (a focal region, short-circuited as in
Circuitscape) that receives 1 A; B's cells are grounded (V = 0). The graph Laplacian L (CSR) is
reduced to the unknown nodes and ``L v = b`` is solved by conjugate gradients preconditioned by
pyamg smoothed aggregation (one V-cycle per iteration; fallback: Jacobi-preconditioned CG when
pyamg is missing), relative residual ``rtol = 1e-10``. Nodes in pieces of the mask connected to
neither A nor B carry no current and are left out.

**Currents.** Branch current ``I_ij = g_ij (v_i − v_j)``. Current density of a cell = the larger
of the total current flowing in and the total flowing out (Circuitscape.jl ``out.jl``,
``get_node_currents`` = max(pos, neg)); for a cell that is neither source nor ground this equals
``Σ|I_ij| / 2``. Effective resistance between A and B = ``v_A`` (1 A, B at 0 V).

**Pinch points.** Inside each corridor, cells (outside sources) whose current density is at or
above the ``percentile``-th percentile of that corridor's cells, grouped into 8-connected
components; each component is summarised by its maximum-current cell. ``width_m = cell_m / I_max``
is the width of a uniform 1 A flow with that density per cell (a neck w cells wide carrying the
whole current gives ≈ w × cell_m).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import LinearOperator, cg

try:  # pyamg is a declared dependency; the fallback keeps the kernel usable without it
    import pyamg
except ImportError:  # pragma: no cover
    pyamg = None

SQRT2 = float(np.sqrt(2.0))
RTOL = 1e-10


@dataclass
class CircuitSolution:
    """One A → B solve.

    Attributes
    ----------
    voltage : numpy.ndarray
        Volts per cell (NaN outside the solved graph).
    current : numpy.ndarray
        Current density per cell (A), 0 outside.
    effective_resistance : float
        v_A for 1 A (inf when A and B are not connected within the mask).
    iterations : int
    solver : str
        ``"pyamg-sa+cg"`` or ``"jacobi+cg"``.
    """

    voltage: np.ndarray
    current: np.ndarray
    effective_resistance: float
    iterations: int
    solver: str


def edges(resistance: np.ndarray, nodes: np.ndarray, neighbours: int = 8):
    """Edges between neighbouring node cells: flat indices (i, j) and conductance g.

    Parameters
    ----------
    resistance : numpy.ndarray
    nodes : numpy.ndarray of bool
        Cells in the graph (must have finite positive resistance).
    neighbours : {4, 8}

    Returns
    -------
    i, j : numpy.ndarray of int64
    g : numpy.ndarray of float64
        ``1 / (mean(r_i, r_j) × step)``.
    """
    rows, cols = resistance.shape
    flat = np.arange(rows * cols).reshape(rows, cols)
    offsets = [(0, 1, 1.0), (1, 0, 1.0)]
    if neighbours == 8:
        offsets += [(1, 1, SQRT2), (1, -1, SQRT2)]
    elif neighbours != 4:
        raise ValueError("neighbours must be 4 or 8")
    ii, jj, gg = [], [], []
    for dr, dc, step in offsets:
        c0, c1 = (0, cols - dc) if dc >= 0 else (-dc, cols)
        a = (slice(0, rows - dr), slice(c0, c1))
        b = (slice(dr, rows), slice(c0 + dc, c1 + dc))
        both = nodes[a] & nodes[b]
        ii.append(flat[a][both])
        jj.append(flat[b][both])
        gg.append(1.0 / (0.5 * (resistance[a][both] + resistance[b][both]) * step))
    return np.concatenate(ii), np.concatenate(jj), np.concatenate(gg)


def solve_pair(
    resistance: np.ndarray,
    mask: np.ndarray,
    source: np.ndarray,
    ground: np.ndarray,
    *,
    neighbours: int = 8,
    rtol: float = RTOL,
) -> CircuitSolution:
    """Inject 1 A into the tied cells of `source`, ground `ground`, solve within `mask`.

    Parameters
    ----------
    resistance : numpy.ndarray
        Resistance per cell; NaN or ≤ 0 cells are not in the graph.
    mask : numpy.ndarray of bool
        Cells that may carry current (e.g. a corridor zone).
    source, ground : numpy.ndarray of bool
        Source cells (tied into one node) and grounded cells (V = 0), within `mask`.
    neighbours : {4, 8}
    rtol : float
        CG relative residual tolerance.

    Returns
    -------
    CircuitSolution

    Examples
    --------
    >>> r = np.ones((3, 5)); m = np.ones_like(r, bool)
    >>> a = np.zeros_like(m); a[:, 0] = True; b = np.zeros_like(m); b[:, -1] = True
    >>> round(solve_pair(r, m, a, b, neighbours=4).effective_resistance, 9)   # (5 − 1) / 3
    1.333333333
    """
    system = pair_system(resistance, mask, source, ground, neighbours=neighbours)
    voltage = np.full(resistance.shape, np.nan)
    current = np.zeros(resistance.shape)
    if system is None:
        return CircuitSolution(voltage, current, np.inf, 0, "none")
    x, iters, solver = _solve(system.laplacian, system.rhs, rtol)
    v_cell = system.cell_voltages(x)
    voltage = v_cell.reshape(resistance.shape)
    current = node_currents(system.i, system.j, system.g, v_cell, resistance.size).reshape(resistance.shape)
    return CircuitSolution(voltage, current, float(x[0]), iters, solver)


@dataclass
class PairSystem:
    """The reduced Laplacian system ``laplacian @ x = rhs`` of one A → B circuit.

    Unknown 0 is the tied source node. ``cell_voltages(x)`` maps a solution back to cells (0 V on
    ground, NaN off the solved graph). ``i, j, g`` are the cell edges and their conductances.
    """

    laplacian: sparse.csr_matrix
    rhs: np.ndarray
    i: np.ndarray
    j: np.ndarray
    g: np.ndarray
    node_of: np.ndarray
    solvable: np.ndarray
    idx: np.ndarray

    def cell_voltages(self, x: np.ndarray) -> np.ndarray:
        v_node = np.full(len(self.solvable), np.nan)
        v_node[self.solvable] = x[self.idx[self.solvable]]
        node_of = self.node_of
        return np.where(node_of >= 0, v_node[np.maximum(node_of, 0)], np.where(node_of == -1, 0.0, np.nan))


def pair_system(resistance, mask, source, ground, *, neighbours: int = 8) -> PairSystem | None:
    """Build the reduced Laplacian of an A → B circuit (None when A and B are not connected).

    Parameters are those of :func:`solve_pair`. Useful to hand the same system to another solver
    (the benchmark's direct ``spsolve`` baseline).
    """
    nodes = mask & np.isfinite(resistance) & (resistance > 0)
    source = source & nodes
    ground = ground & nodes & ~source
    if not source.any() or not ground.any():
        return None
    i, j, g = edges(resistance, nodes, neighbours)
    # node numbering: 0 = the tied source, then free cells; grounded cells → −1 (eliminated)
    node_of = np.full(resistance.size, -2, dtype=np.int64)
    node_of[source.ravel()] = 0
    free = nodes & ~source & ~ground
    node_of[free.ravel()] = 1 + np.arange(int(free.sum()))
    node_of[ground.ravel()] = -1
    n = 1 + int(free.sum())
    u, v = node_of[i], node_of[j]
    keep = u != v  # edges inside the tied source or inside the ground carry no current
    u, v, gk = u[keep], v[keep], g[keep]
    solvable = _connected_to_ground(u, v, n)
    if not solvable[0]:
        return None
    lap, idx = _reduced_laplacian(u, v, gk, n, solvable)
    rhs = np.zeros(lap.shape[0])
    rhs[0] = 1.0  # the tied source is unknown 0 and solvable, so its reduced index is 0
    return PairSystem(lap, rhs, i, j, g, node_of, solvable, idx)


def _connected_to_ground(u, v, n):
    # a component of unknown nodes with no edge to ground makes L singular: find who reaches ground
    gnode = n  # one extra node stands for all grounded cells
    uu = np.where(u < 0, gnode, u)
    vv = np.where(v < 0, gnode, v)
    adj = sparse.coo_matrix((np.ones(len(uu)), (uu, vv)), shape=(n + 1, n + 1))
    _, comp = connected_components(adj, directed=False)
    return comp[:n] == comp[gnode]


def _reduced_laplacian(u, v, g, n, solvable):
    idx = np.cumsum(solvable) - 1
    m = int(solvable.sum())
    diag = np.bincount(u[u >= 0], weights=g[u >= 0], minlength=n) + np.bincount(v[v >= 0], weights=g[v >= 0], minlength=n)
    inner = (u >= 0) & (v >= 0)
    uu, vv, gg = idx[u[inner]], idx[v[inner]], g[inner]
    rows = np.concatenate([uu, vv, idx[solvable]])
    cols = np.concatenate([vv, uu, idx[solvable]])
    vals = np.concatenate([-gg, -gg, diag[solvable]])
    lap = sparse.csr_matrix((vals, (rows, cols)), shape=(m, m))
    return lap, idx


def _solve(lap, b, rtol):
    count = [0]

    def cb(_):
        count[0] += 1

    if pyamg is not None:
        ml = pyamg.smoothed_aggregation_solver(lap, symmetry="symmetric", max_coarse=500)
        M = ml.aspreconditioner(cycle="V")
        solver = "pyamg-sa+cg"
    else:  # pragma: no cover
        d = lap.diagonal()
        M = LinearOperator(lap.shape, matvec=lambda x: x / d)
        solver = "jacobi+cg"
    x, info = cg(lap, b, rtol=rtol, atol=0.0, M=M, maxiter=5000, callback=cb)
    if info != 0:
        raise RuntimeError(f"CG did not converge to rtol={rtol} ({solver}, info={info})")
    return x, count[0], solver


def node_currents(i, j, g, v_cell, n_cells) -> np.ndarray:
    """Current density per cell: max(total inflow, total outflow) (Circuitscape.jl out.jl)."""
    ok = np.isfinite(v_cell[i]) & np.isfinite(v_cell[j])
    i, j = i[ok], j[ok]
    flow = g[ok] * (v_cell[i] - v_cell[j])  # > 0: from i to j
    pos = np.maximum(flow, 0.0)
    neg = np.maximum(-flow, 0.0)
    out_ = np.bincount(i, weights=pos, minlength=n_cells) + np.bincount(j, weights=neg, minlength=n_cells)
    in_ = np.bincount(j, weights=pos, minlength=n_cells) + np.bincount(i, weights=neg, minlength=n_cells)
    return np.maximum(out_, in_)


def pinch_points(current: np.ndarray, zone: np.ndarray, exclude: np.ndarray, percentile: float, cell_m: float) -> pd.DataFrame:
    """Pinch points of one corridor.

    Parameters
    ----------
    current : numpy.ndarray
        Current density of the corridor's solve.
    zone : numpy.ndarray of bool
        Corridor-zone cells.
    exclude : numpy.ndarray of bool
        Cells never reported (source cells, where the tied injection concentrates current).
    percentile : float
        E.g. 95: cells at or above the 95th percentile of the zone's current density.
    cell_m : float

    Returns
    -------
    pandas.DataFrame
        row, col, current (A, the component's maximum), cells, width_m (= cell_m / current).
    """
    cand = zone & ~exclude & (current > 0)
    cols = ["row", "col", "current", "cells", "width_m"]
    if not cand.any():
        return pd.DataFrame(columns=cols)
    thr = np.percentile(current[cand], percentile)
    top = cand & (current >= thr)
    lab, n = ndimage.label(top, structure=np.ones((3, 3), bool))
    flat_cur = np.where(top, current, -np.inf).ravel()
    rows = []
    for k, sl in enumerate(ndimage.find_objects(lab), 1):
        sub = np.where(lab[sl] == k, current[sl], -np.inf)
        r, c = np.unravel_index(np.argmax(sub), sub.shape)
        r, c = r + sl[0].start, c + sl[1].start
        cur = float(flat_cur[r * current.shape[1] + c])
        rows.append(dict(row=int(r), col=int(c), current=cur, cells=int((lab[sl] == k).sum()), width_m=cell_m / cur))
    return pd.DataFrame(rows, columns=cols).sort_values("current", ascending=False).reset_index(drop=True)


@dataclass
class CorridorCircuits:
    """Circuits of all corridors: current mosaic (max over corridors), per-corridor table, pinch points."""

    current: np.ndarray
    table: pd.DataFrame
    pinch: pd.DataFrame


def corridor_circuits(
    resistance: np.ndarray,
    labels: np.ndarray,
    corridors,
    *,
    cell_m: float,
    neighbours: int = 8,
    percentile: float = 95.0,
    progress=None,
) -> CorridorCircuits:
    """Solve every corridor zone from its source A to its source B; pinch points per corridor.

    Each solve is cropped to its zone's bounding box. The current mosaic takes the maximum over
    corridors (as Pinchpoint Mapper's adjacent-pair mosaic), so one corridor's values are not
    inflated where zones overlap.

    Parameters
    ----------
    resistance : numpy.ndarray
    labels : numpy.ndarray
        Source ids per cell.
    corridors : Corridors
        From :func:`.corridors.least_cost_corridors`.
    cell_m : float
    neighbours : {4, 8}
    percentile : float
    progress : callable, optional

    Returns
    -------
    CorridorCircuits
    """
    shape = resistance.shape
    mosaic = np.zeros(shape)
    rows, pinch = [], []
    total = len(corridors.table)
    for n, c in enumerate(corridors.table.itertuples(), 1):
        zone = np.zeros(shape, bool)
        zone.ravel()[corridors.zones[c.corridor_id]] = True
        sl = _bbox(zone)
        z, lab, r = zone[sl], labels[sl], resistance[sl]
        sol = solve_pair(r, z, lab == c.from_id, lab == c.to_id, neighbours=neighbours)
        np.fmax(mosaic[sl], sol.current, out=mosaic[sl])
        rows.append(dict(corridor_id=c.corridor_id, effective_resistance=sol.effective_resistance,
                         cg_iterations=sol.iterations, nodes=int(z.sum()), solver=sol.solver))
        pp = pinch_points(sol.current, z, lab > 0, percentile, cell_m)
        if len(pp):
            pp["row"] += sl[0].start
            pp["col"] += sl[1].start
            pp.insert(0, "corridor_id", c.corridor_id)
            pp.insert(1, "from_id", c.from_id)
            pp.insert(2, "to_id", c.to_id)
            pinch.append(pp)
        if progress:
            progress("circuit", n, total)
    cols = ["corridor_id", "from_id", "to_id", "row", "col", "current", "cells", "width_m"]
    pinch_df = pd.concat(pinch, ignore_index=True) if pinch else pd.DataFrame(columns=cols)
    return CorridorCircuits(mosaic, pd.DataFrame(rows, columns=["corridor_id", "effective_resistance", "cg_iterations", "nodes", "solver"]), pinch_df)


def _bbox(mask: np.ndarray):
    rr = np.flatnonzero(mask.any(axis=1))
    cc = np.flatnonzero(mask.any(axis=0))
    return slice(rr[0], rr[-1] + 1), slice(cc[0], cc[-1] + 1)
