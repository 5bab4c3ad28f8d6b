"""The ecological security pattern derived on the bundled Changshan workspace: computed, written, re-read,
checked against an independent Dijkstra over the written resistance.tif, and drawn in Chromium."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.features
from scipy import sparse
from scipy.sparse.csgraph import dijkstra
from typer.testing import CliRunner

from browser import ALL_ON_JS, COUNT_JS
from maps.render import pattern_map
from spatial.analysis.security_pattern import pattern
from spatial.cli.main import app
from spatial.outputs.pattern_report import write_pattern_outputs
from spatial.sources.workspace import load_workspace

@pytest.fixture(scope="module")
def ws():
    return load_workspace()


@pytest.fixture(scope="module")
def derived(ws):
    return pattern(ws)


@pytest.fixture(scope="module")
def written(derived, tmp_path_factory):
    out = tmp_path_factory.mktemp("pattern")
    return out, write_pattern_outputs(derived, out)


def _graph(r: np.ndarray, cell_m: float) -> sparse.csr_matrix:
    """8-neighbour graph, edge weight mean(r_i, r_j) × step × cell (ArcGIS Cost Distance), NaN impassable."""
    h, w = r.shape
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = idx[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
        b = idx[max(0, dy):max(0, dy) + a.shape[0], max(0, dx):max(0, dx) + a.shape[1]]
        ra, rb = r.ravel()[a.ravel()], r.ravel()[b.ravel()]
        ok = np.isfinite(ra) & np.isfinite(rb)
        weight = (ra[ok] + rb[ok]) / 2 * np.hypot(dy, dx) * cell_m
        rows += [a.ravel()[ok], b.ravel()[ok]]
        cols += [b.ravel()[ok], a.ravel()[ok]]
        vals += [weight, weight]
    return sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(h * w, h * w))


def test_demo_pattern_is_derived(derived):
    assert len(derived.sources) >= 3 and len(derived.corridors) >= 3
    assert set(derived.corridors["from_id"]) | set(derived.corridors["to_id"]) <= set(derived.sources["id"])
    assert (derived.corridors["cost"] > 0).all() and (derived.corridors["length_m"] > 0).all()
    np.testing.assert_allclose(derived.corridors["cost_per_m"],
                               derived.corridors["cost"] / derived.corridors["length_m"], rtol=1e-12)
    assert len(derived.pinch_points) > 0
    assert derived.grid.crs.to_epsg() == 4549          # CGCS2000 GK zone 40 without prefix (Changshan ≈ 118.5°E)
    assert derived.grid.cell_m == 100.0
    assert all(step in derived.timings for step in ("resistance", "sources", "corridors", "circuit"))


def test_written_rasters_reread_with_crs_and_transform(derived, written):
    out, files = written
    assert {p.name for p in files} >= {"pattern.gpkg", "resistance.tif", "cost_distance.tif", "current.tif"}
    for name in ("resistance.tif", "cost_distance.tif", "current.tif"):
        with rasterio.open(out / name) as src:
            assert src.crs.to_epsg() == 4549 and src.transform == derived.grid.transform
            assert src.dtypes[0] == "float32" and src.nodata is not None
            assert src.shape == derived.grid.shape
    for layer in ("sources", "corridors", "corridor_zones", "pinch_points", "nodes"):
        gdf = gpd.read_file(out / "pattern.gpkg", layer=layer)
        assert gdf.crs.to_epsg() == 4490 and len(gdf) == len(getattr(derived, layer))


def test_corridor_costs_equal_an_independent_dijkstra(derived, written):
    out, _ = written
    with rasterio.open(out / "resistance.tif") as src:
        r = src.read(1, masked=True).filled(np.nan).astype(float)
        transform, cell = src.transform, src.res[0]
    sources = gpd.read_file(out / "pattern.gpkg", layer="sources").to_crs(epsg=4549)
    labels = rasterio.features.rasterize(zip(sources.geometry, sources["id"]), out_shape=r.shape,
                                         transform=transform, fill=0, dtype="int32")
    graph = _graph(r, cell)
    for c in derived.corridors.itertuples(index=False):
        start = np.flatnonzero(labels.ravel() == c.from_id)
        dist = dijkstra(graph, indices=start, min_only=True)
        best = dist[labels.ravel() == c.to_id].min()
        assert best == pytest.approx(c.cost, rel=1e-6), (c.from_id, c.to_id)


def test_cli_pattern_writes_outputs(tmp_path):
    result = CliRunner().invoke(app, ["pattern", "--cell", "250", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "生态廊道 Corridors" in result.output
    with rasterio.open(tmp_path / "resistance.tif") as src:
        assert src.res == (250.0, 250.0)
    assert len(gpd.read_file(tmp_path / "pattern.gpkg", layer="corridors")) >= 1
    bad = CliRunner().invoke(app, ["pattern", "--cell", "-5"])
    assert bad.exit_code == 2 and "--cell" in bad.output


def test_pattern_map_draws_the_computed_pattern_beside_the_plan(ws, derived, tmp_path):
    from browser import browser, open_page

    m = pattern_map(ws, offline=True, computed=derived)
    path = m.save(tmp_path / "pattern.html")
    with browser() as b:
        page, log = open_page(b, path)
        page.evaluate(ALL_ON_JS)
        page.wait_for_timeout(300)
        counts = page.evaluate(COUNT_JS)
        control = page.evaluate("() => document.querySelector('.leaflet-control-layers').textContent")
    assert not log.errors and not log.external_requests
    assert "计算格局 Computed pattern" in control and "生态源地 Ecological source" in control
    assert counts.get("computed_sources") == len(derived.sources)
    assert counts.get("computed_corridors") == len(derived.corridors)
    assert counts.get("computed_pinch_points") == len(derived.pinch_points)
    assert counts.get("eco_source", 0) > 0             # the plan's own sources are drawn too
