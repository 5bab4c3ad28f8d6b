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
from spatial.analysis.pattern.grid import gk_crs_for, grid_for, read_raster
from spatial.analysis.pattern.resistance import reproject_to_grid, slope_degrees
from spatial.outputs.pattern_report import write_pattern_outputs

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


# ---------------------------------------------------------------- nodes
def test_junction_where_two_paths_cross_and_stepping_stone_near_a_path():
    from spatial.analysis.pattern import nodes

    labels = np.zeros((30, 30), "int32")
    labels[0:2, 14:16] = 1; labels[28:30, 14:16] = 2; labels[14:16, 0:2] = 3; labels[14:16, 28:30] = 4
    vertical = np.array([(r, 15) for r in range(1, 29)])
    horizontal = np.array([(15, c) for c in range(1, 29)])
    stepping = np.zeros((30, 30), "int32")
    stepping[5:8, 18:21] = 1      # 3 cells (300 m) from the vertical path at 100 m cells
    stepping[24:27, 24:27] = 2    # ≥ 9 cells away
    df = nodes.find_nodes({1: vertical, 2: horizontal}, labels, stepping, 100.0, stepping_distance_m=500.0)
    j = df[df.node_type == "junction"]
    assert len(j) == 1 and (j.row.iloc[0], j.col.iloc[0]) == (15, 15) and j.corridor_ids.iloc[0] == "1,2"
    s = df[df.node_type == "stepping_stone"]
    assert len(s) == 1 and s.distance_m.iloc[0] == pytest.approx(300.0) and s.patch_cells.iloc[0] == 9


def test_current_flow_betweenness_favours_the_hub():
    import pandas as pd

    from spatial.analysis.pattern import nodes

    links = pd.DataFrame({"from_id": [1, 1, 1], "to_id": [2, 3, 4], "cost": [1.0, 1.0, 1.0]})
    c = nodes.source_centrality([1, 2, 3, 4], links)
    assert c[1] > c[2] and c[2] == pytest.approx(c[3])


# ---------------------------------------------------------------- grid, resistance and files
def _box4490(lon0, lat0, dlon, dlat, **attrs):
    return gpd.GeoDataFrame(attrs or {"x": [0]}, geometry=[box(lon0, lat0, lon0 + dlon, lat0 + dlat)], crs="EPSG:4490")


def test_gk_zone_and_snapped_grid():
    assert gk_crs_for(118.5).to_epsg() == 4549   # zone 40, CM 120°E
    assert gk_crs_for(121.6).to_epsg() == 4550   # zone 41
    terr = _box4490(118.55, 28.90, 0.10, 0.06)
    g = grid_for(terr, 100.0)
    assert g.crs.to_epsg() == 4549
    x0, y0, x1, y1 = g.bounds
    assert x0 % 100 == 0 and y1 % 100 == 0 and (x1 - x0) / 100 == g.shape[1]
    tx0, ty0, tx1, ty1 = terr.to_crs(g.crs).total_bounds
    assert x0 <= tx0 and y0 <= ty0 and x1 >= tx1 and y1 >= ty1 and x1 - tx1 < 100


def test_resistance_priority_barrier_river_buffer_and_outside():
    from shapely.geometry import LineString

    from spatial.analysis.pattern.resistance import build_resistance

    terr = _box4490(118.55, 28.90, 0.10, 0.06)
    g = grid_for(terr, 100.0)
    table = {
        "default_resistance": 50,
        "resistance": [
            {"kind": "ecological_redline", "value": 1},
            {"kind": "mine_site", "barrier": True},
            {"kind": "river", "value": 5, "buffer_m": 150},
            {"kind": "urban_space", "value": 300},
        ],
    }
    layers = {
        "ecological_redline": _box4490(118.56, 28.91, 0.02, 0.02),
        "urban_space": _box4490(118.57, 28.92, 0.04, 0.03),   # overlaps the red line: red line listed first wins
        "mine_site": _box4490(118.62, 28.93, 0.01, 0.01),
        "river": gpd.GeoDataFrame(geometry=[LineString([(118.55, 28.955), (118.65, 28.955)])], crs="EPSG:4490"),
    }
    rs = build_resistance(table, layers, g, terr)
    v = rs.values
    from spatial.analysis.pattern.grid import rasterize

    red = rasterize(layers["ecological_redline"], g).astype(bool)
    urban = rasterize(layers["urban_space"], g).astype(bool)
    mine = rasterize(layers["mine_site"], g, all_touched=True).astype(bool)
    inside = rasterize(terr, g).astype(bool)
    river = rasterize(layers["river"], g, buffer_m=150).astype(bool) & inside
    assert (v[red] == 1).all()
    assert (v[urban & ~red & ~river] == 300).all()
    assert np.isnan(v[mine]).all()
    assert (v[river & ~red & ~mine] == 5).all()
    # a 300 m strip at 100 m cells is about 3 cells wide across the river
    col = g.shape[1] // 8
    assert river[:, col].sum() == 3
    assert (v[inside & ~red & ~urban & ~mine & ~river] == 50).all()
    assert np.isnan(v[~inside]).all()
    assert rs.class_names == ["ecological_redline", "mine_site", "river", "urban_space", "default"]


def test_user_resistance_reprojected_with_nodata_kept(tmp_path):
    from affine import Affine

    from spatial.analysis.pattern.resistance import load_resistance

    terr = _box4490(118.55, 28.90, 0.10, 0.06)
    g = grid_for(terr, 200.0)
    arr = np.full((40, 60), 7.0, dtype="float32")
    arr[:, :10] = -1.0  # nodata band at the west
    path = tmp_path / "user.tif"
    with rasterio.open(path, "w", driver="GTiff", height=40, width=60, count=1, dtype="float32", crs="EPSG:4490",
                       transform=Affine(0.002, 0, 118.54, 0, -0.002, 28.97), nodata=-1.0) as dst:
        dst.write(arr, 1)
    v = load_resistance(path, g)
    assert np.nanmin(v) == 7.0 and np.nanmax(v) == 7.0
    assert np.isnan(v[:, 0]).all() and np.isfinite(v[:, -1]).all()   # west edge falls in the nodata band


def test_derive_pattern_and_written_files(tmp_path):
    from spatial.analysis.pattern import derive_pattern

    terr = _box4490(118.55, 28.90, 0.12, 0.05)
    layers = {
        "ecological_redline": gpd.GeoDataFrame(
            {"name": ["w", "e"]},
            geometry=[box(118.552, 28.905, 118.580, 28.945), box(118.640, 28.905, 118.668, 28.945)], crs="EPSG:4490"),
        "urban_space": _box4490(118.60, 28.90, 0.02, 0.035),   # a town between them, open to the north
    }
    table = {"cell_m": 100, "cutoff": 5000, "edge_width_m": 200, "min_source_km2": 2.0, "default_resistance": 10,
             "source_kinds": ["ecological_redline"],
             "resistance": [{"kind": "ecological_redline", "value": 1}, {"kind": "urban_space", "value": 500}]}
    seen = []
    res = derive_pattern(layers, terr, table, progress=lambda s, d, n: seen.append((s, d, n)))
    assert [s for s, _, _ in seen] == list(__import__("spatial.analysis.pattern", fromlist=["STEPS"]).STEPS)
    assert set(res.timings) == {s for s, _, _ in seen}
    assert len(res.sources) == 2 and len(res.corridors) == 1
    urban = res.corridors.to_crs(res.grid.crs).intersects(layers["urban_space"].to_crs(res.grid.crs).geometry.iloc[0])
    assert not urban.iloc[0]  # the corridor goes round the town
    files = write_pattern_outputs(res, tmp_path)
    assert sorted(p.name for p in files) == ["corridors.csv", "cost_distance.tif", "current.tif", "pattern.gpkg", "resistance.tif",
                                            "summary.csv"]
    import pyogrio

    assert sorted(n for n, _ in pyogrio.list_layers(tmp_path / "pattern.gpkg")) == sorted(
        ["sources", "corridors", "corridor_zones", "pinch_points", "nodes"])
    for name in ("sources", "corridors", "corridor_zones", "pinch_points"):
        gdf = gpd.read_file(tmp_path / "pattern.gpkg", layer=name)
        assert gdf.crs.to_epsg() == 4490 and len(gdf) >= 1 and (gdf["computed"] == 1).all()
    for name in ("resistance", "cost_distance", "current"):
        with rasterio.open(tmp_path / f"{name}.tif") as src:
            assert src.crs.to_epsg() == 4549 and src.transform == res.grid.transform and src.nodata == -9999.0
            assert src.dtypes[0] == "float32"
    back, g2, nodata = read_raster(tmp_path / "resistance.tif")
    assert nodata == -9999.0 and g2.shape == res.grid.shape
    assert np.array_equal(np.isnan(back), np.isnan(res.resistance))
    assert np.allclose(back[np.isfinite(back)], res.resistance[np.isfinite(res.resistance)])
    summary = (tmp_path / "summary.csv").read_text(encoding="utf-8-sig").splitlines()
    assert summary[0].startswith("指标,metric")


# ---------------------------------------------------------------- the real demo DEM
def test_demo_dem_reprojected_slope_on_gk_grid():
    terr = _box4490(118.25, 28.75, 0.50, 0.45)
    g = grid_for(terr, 1000.0)
    assert g.crs.to_epsg() == 4549 and 45 <= g.shape[0] <= 55 and 45 <= g.shape[1] <= 55
    dem = reproject_to_grid(DEM, g)
    assert np.isfinite(dem).mean() > 0.9  # the DEM is clipped to Quzhou: the south-west corner is outside
    assert 30 < np.nanmin(dem) < 150 and 700 < np.nanmax(dem) < 1300
    slope = slope_degrees(dem, g.cell_m)
    assert 0 <= np.nanmin(slope) and np.nanmax(slope) < 60 and 3 < np.nanmax(slope)
    # metres, not degrees, as horizontal spacing: a 1 km grid over hills of a few hundred metres relief
    assert 1 < np.nanmedian(slope) < 25
