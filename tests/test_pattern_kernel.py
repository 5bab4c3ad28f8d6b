"""Kernel of the ecological security pattern (spatial.analysis.pattern) on synthetic data and the demo DEM."""
from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import box

from spatial.analysis.pattern import circuit, corridors, sources
from spatial.analysis.pattern.grid import Grid, gk_crs_for, grid_for, read_raster, write_raster
from spatial.analysis.pattern.resistance import reproject_to_grid, slope_degrees

ROOT = Path(__file__).resolve().parents[1]
DEM = ROOT / "layers" / "changshan" / "dem.tif"


def brute_force_graph(resistance: np.ndarray, cell_m: float) -> sparse.csr_matrix:
    """Explicit 8-neighbour graph, edge weight mean(r_i, r_j) × step × cell (independent of MCP)."""
    rows, cols = resistance.shape
    ii, jj, ww = [], [], []
    for r in range(rows):
        for c in range(cols):
            if not np.isfinite(resistance[r, c]):
                continue
            for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < rows and 0 <= c2 < cols and np.isfinite(resistance[r2, c2]):
                    step = math.sqrt(dr * dr + dc * dc)
                    w = 0.5 * (resistance[r, c] + resistance[r2, c2]) * step * cell_m
                    ii += [r * cols + c, r2 * cols + c2]
                    jj += [r2 * cols + c2, r * cols + c]
                    ww += [w, w]
    n = rows * cols
    return sparse.csr_matrix((ww, (ii, jj)), shape=(n, n))


def brute_force_lcd(resistance, cell_m, a_mask, b_mask) -> float:
    g = brute_force_graph(resistance, cell_m)
    d = dijkstra(g, directed=False, indices=np.flatnonzero(a_mask.ravel()), min_only=True)
    return float(d[np.flatnonzero(b_mask.ravel())].min())


def random_surface(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(1.0, 20.0, size=shape)


# ---------------------------------------------------------------- least cost = brute-force Dijkstra
def test_least_cost_equals_brute_force_dijkstra():
    r = random_surface((30, 40), 1)
    r[10:20, 18:22] = np.nan  # an impassable block the paths must go around
    labels = np.zeros(r.shape, dtype="int32")
    labels[3:8, 2:6] = 1
    labels[22:27, 33:38] = 2
    labels[2:5, 30:34] = 3
    cell = 30.0
    res = corridors.least_cost_corridors(r, cell, labels, cutoff=5000.0, pairs=[(1, 2), (1, 3), (2, 3)])
    assert len(res.table) == 3
    for row in res.table.itertuples():
        expected = brute_force_lcd(r, cell, labels == row.from_id, labels == row.to_id)
        assert row.cost == pytest.approx(expected, rel=1e-9)
        # the path re-costed edge by edge gives the same least cost
        p = res.paths[row.corridor_id]
        steps = np.sqrt((np.diff(p, axis=0) ** 2).sum(axis=1))
        recost = np.sum(0.5 * (r[p[:-1, 0], p[:-1, 1]] + r[p[1:, 0], p[1:, 1]]) * steps * cell)
        assert recost == pytest.approx(expected, rel=1e-9)
        assert row.length_m == pytest.approx(steps.sum() * cell, rel=1e-12)
        assert row.cost_per_m == pytest.approx(row.cost / row.length_m)
        # path starts on source A, ends on source B, never passes an impassable cell
        assert labels[tuple(p[0])] == row.from_id and labels[tuple(p[-1])] == row.to_id
        assert np.isfinite(r[p[:, 0], p[:, 1]]).all()
    # NLCC is 0 on a path and the corridor mosaic is min over corridors within the cutoff
    assert np.nanmin(res.nlcc) == pytest.approx(0.0, abs=1e-6)
    assert np.nanmax(res.nlcc) <= 5000.0


def test_min_of_cwd_sum_is_the_least_cost():
    """No half-cell double count: min over cells of CWD_A + CWD_B equals the least cost A→B."""
    r = random_surface((25, 25), 2)
    a = np.zeros(r.shape, bool); a[2:5, 2:5] = True
    b = np.zeros(r.shape, bool); b[19:23, 18:22] = True
    costs = corridors.step_costs(r, 10.0)
    cwd_a, _ = corridors.cost_distance(costs, a)
    cwd_b, _ = corridors.cost_distance(costs, b)
    expected = brute_force_lcd(r, 10.0, a, b)
    assert (cwd_a + cwd_b).min() == pytest.approx(expected, rel=1e-9)
    assert cwd_a[b].min() == pytest.approx(expected, rel=1e-9)


def test_corridor_avoids_high_resistance_block():
    r = np.ones((40, 40))
    r[5:35, 15:25] = 1000.0  # a wall with gaps at the top and the bottom
    labels = np.zeros(r.shape, dtype="int32")
    labels[18:22, 2:6] = 1
    labels[18:22, 34:38] = 2
    res = corridors.least_cost_corridors(r, 100.0, labels, cutoff=500.0)
    assert list(res.table[["from_id", "to_id"]].itertuples(index=False, name=None)) == [(1, 2)]
    p = res.paths[1]
    assert not (r[p[:, 0], p[:, 1]] > 1).any()
    # straight through the block would cost > 10 cells × 1000 × 100 m; going round costs far less
    assert res.table.cost.iloc[0] < 1000.0 * 100 * 10


def test_adjacency_by_allocation_zones_and_intermediate_source():
    r = np.ones((20, 60))
    labels = np.zeros(r.shape, dtype="int32")
    labels[8:12, 2:6] = 1     # A
    labels[8:12, 28:32] = 2   # B, between A and C
    labels[8:12, 54:58] = 3   # C
    costs = corridors.step_costs(r, 10.0)
    _, zone = corridors.allocate(costs, labels)
    # allocation zone of a cell = nearest source by cost: check a few cells against per-source CWD
    cwd = np.stack([corridors.cost_distance(costs, labels == s)[0] for s in (1, 2, 3)])
    nearest = cwd.argmin(axis=0) + 1
    unique = np.sort(cwd, axis=0)[1] - np.sort(cwd, axis=0)[0] > 1e-9  # cells without ties
    assert (zone[unique] == nearest[unique]).all()
    assert corridors.adjacent_pairs(zone) == [(1, 2), (2, 3)]
    # forcing the A–C pair: its least-cost path crosses B, so it is dropped
    res = corridors.least_cost_corridors(r, 10.0, labels, cutoff=100.0, pairs=[(1, 2), (1, 3), (2, 3)])
    assert sorted(zip(res.table.from_id, res.table.to_id)) == [(1, 2), (2, 3)]
    assert list(zip(res.dropped.from_id, res.dropped.to_id)) == [(1, 3)]
    assert "intermediate source" in res.dropped.reason.iloc[0]


# ---------------------------------------------------------------- MSPA sources
def test_mspa_core_and_min_area():
    habitat = np.zeros((60, 80), bool)
    habitat[5:35, 5:45] = True      # 30 × 40 cells = 12 km² at 100 m
    habitat[45:55, 60:70] = True    # 10 × 10 cells = 1 km²: core 6 × 6 = 0.36 km² < 2 km²
    s = sources.sources_from_habitat(habitat, 100.0, edge_width_m=200.0, min_source_km2=2.0, stepping_stone_min_km2=0.1)
    assert len(s.table) == 1
    row = s.table.iloc[0]
    assert row.id == 1 and row.cells == (30 - 4) * (40 - 4)
    assert row.area_m2 == pytest.approx(26 * 36 * 1e4)
    assert (s.labels == 1).sum() == 26 * 36 and s.labels[5, 5] == 0 and s.labels[7, 7] == 1
    assert len(s.dropped) == 1 and s.dropped.cells.iloc[0] == 36
    assert "core < min area" in s.dropped.reason.iloc[0]
    # the small patch (1 km², ≥ 0.1 km², no source) is a stepping-stone candidate
    assert s.stepping.max() == 1 and (s.stepping == 1).sum() == 100


def test_connectivity_importance_chain():
    df = sources.connectivity_importance(np.array([4.0, 1.0, 4.0]), [(0, 1, 1.0), (1, 2, 1.0)], 10.0, d50=1.0)
    # analytic PC: p* = ½ between neighbours, ¼ end to end
    pc = (16 + 1 + 16 + 2 * (4 * 0.5 + 4 * 0.5 + 16 * 0.25)) / 100.0
    pc_without_1 = (16 + 16) / 100.0
    assert df.dPC[1] == pytest.approx(100 * (pc - pc_without_1) / pc)
    assert df.dPC[1] > 0 and df.dIIC[1] > 0


# ---------------------------------------------------------------- circuit theory
@pytest.mark.parametrize("n_cols, m_rows", [(10, 4), (25, 7)])
def test_effective_resistance_of_uniform_strip(n_cols, m_rows):
    r = np.ones((m_rows, n_cols))
    mask = np.ones(r.shape, bool)
    a = np.zeros(r.shape, bool); a[:, 0] = True
    b = np.zeros(r.shape, bool); b[:, -1] = True
    sol = circuit.solve_pair(r, mask, a, b, neighbours=4)
    # m parallel rows of n − 1 unit resistors (g = 1 / mean(1, 1)); vertical resistors carry nothing
    assert sol.effective_resistance == pytest.approx((n_cols - 1) / m_rows, rel=1e-6)
    # every interior cell carries 1/m A (Σ|I|/2 = max(in, out)); voltage falls linearly
    assert np.allclose(sol.current[:, 1:-1], 1.0 / m_rows, rtol=1e-6)
    assert np.allclose(sol.voltage[0], np.linspace(sol.effective_resistance, 0, n_cols), atol=1e-8)


def test_effective_resistance_doubles_with_resistance_and_8_neighbours_lower():
    r = np.ones((6, 12))
    mask = np.ones(r.shape, bool)
    a = np.zeros(r.shape, bool); a[:, 0] = True
    b = np.zeros(r.shape, bool); b[:, -1] = True
    r4 = circuit.solve_pair(r, mask, a, b, neighbours=4).effective_resistance
    r4x2 = circuit.solve_pair(2 * r, mask, a, b, neighbours=4).effective_resistance
    r8 = circuit.solve_pair(r, mask, a, b, neighbours=8).effective_resistance
    assert r4x2 == pytest.approx(2 * r4, rel=1e-8)
    assert r8 < r4  # diagonals add parallel paths


def test_pinch_point_at_the_neck_of_an_hourglass():
    rows, cols = 41, 61
    rr, cc = np.mgrid[0:rows, 0:cols]
    half_width = 2 + 0.6 * np.abs(cc - 30)          # a sharp neck 5 cells wide at col 30, 41 at the ends
    mask = np.abs(rr - 20) <= half_width
    r = np.ones((rows, cols))
    labels = np.zeros((rows, cols), "int32")
    labels[:, :3] = 1
    labels[:, -3:] = 2
    sol = circuit.solve_pair(r, mask, (labels == 1) & mask, (labels == 2) & mask, neighbours=8)
    pp = circuit.pinch_points(sol.current, mask, labels > 0, 95.0, 100.0)
    assert len(pp) >= 1
    top = pp.iloc[0]
    assert abs(top.col - 30) <= 1 and abs(top.row - 20) <= 2
    neck_cells = int(mask[:, 30].sum())                 # 5 cells
    assert top.width_m == pytest.approx(neck_cells * 100.0, rel=0.35)
    # all pinch cells lie near the neck, none in the wide ends
    assert (pp.col.between(22, 38)).all()


def test_disconnected_mask_gives_infinite_resistance():
    r = np.ones((5, 9))
    mask = np.ones(r.shape, bool); mask[:, 4] = False
    a = np.zeros(r.shape, bool); a[:, 0] = True
    b = np.zeros(r.shape, bool); b[:, -1] = True
    assert math.isinf(circuit.solve_pair(r, mask, a, b).effective_resistance)
