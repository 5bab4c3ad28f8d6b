"""engine="dask" gives the same check as engine="local", table for table, on a few thousand synthetic parcels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pandas.testing import assert_frame_equal
from shapely.geometry import LineString, Point, box

import geopandas as gpd

from spatial.analysis.check import check
from spatial.engine import DaskEngine, get_engine
from spatial.engine.dask import hilbert_partitions
from spatial.errors import InputError

X0, Y0 = 118.40, 28.85      # near Changshan, on the GK zone 39/40 border (118.5 °E)


def _constraints(rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    """Overlapping blobs (red line) and rectangles (farmland) over a 0.3° × 0.2° area."""
    cx, cy = X0 + rng.random(150) * 0.3, Y0 + rng.random(150) * 0.2
    red = [shapely.buffer(Point(x, y), r, quad_segs=6) for x, y, r in zip(cx, cy, 0.002 + rng.random(150) * 0.01)]
    fx, fy = X0 + rng.random(120) * 0.3, Y0 + rng.random(120) * 0.2
    farm = [box(x, y, x + w, y + h) for x, y, w, h in zip(fx, fy, 0.003 + rng.random(120) * 0.01,
                                                          0.003 + rng.random(120) * 0.008)]
    return {
        "ecological_redline": gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(len(red))]}, geometry=red, crs=4490),
        "permanent_farmland": gpd.GeoDataFrame({"name": [f"基本农田{i}" for i in range(len(farm))]}, geometry=farm,
                                               crs=4490),
    }


def _projects(rng: np.random.Generator, n: int = 3_000) -> gpd.GeoDataFrame:
    """``n`` parcels: mostly rectangles of 50–500 m, a few lines and points; mixed project types."""
    x, y = X0 - 0.01 + rng.random(n) * 0.32, Y0 - 0.01 + rng.random(n) * 0.22
    w, h = 0.0005 + rng.random(n) * 0.004, 0.0005 + rng.random(n) * 0.004
    geoms = [box(a, b, a + c, b + d) for a, b, c, d in zip(x, y, w, h)]
    for i in range(0, n, 37):
        geoms[i] = LineString([(x[i], y[i]), (x[i] + 0.01, y[i] + 0.004), (x[i] + 0.02, y[i] - 0.002)])
    for i in range(5, n, 53):
        geoms[i] = Point(x[i], y[i])
    types = rng.choice(["energy", "industrial", "linear_infrastructure", "ecological_restoration"], n)
    return gpd.GeoDataFrame({"name": [f"地块{i}" for i in range(n)], "project_type": types}, geometry=geoms,
                            crs=4490)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    return _projects(rng), _constraints(rng)


def test_hilbert_partitions_cover_every_project_once(data):
    projects, _ = data
    geoms = np.asarray(projects.geometry.values, dtype=object)
    parts = hilbert_partitions(geoms, 700)
    assert len(parts) == 5 and max(len(p) for p in parts) <= 700
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(geoms)))
    # neighbours along the curve: a partition's box is much smaller than the whole extent's
    whole = shapely.area(shapely.box(*shapely.total_bounds(geoms)))
    assert max(shapely.area(shapely.box(*shapely.total_bounds(geoms[p]))) for p in parts) < 0.6 * whole


def test_dask_engine_gives_the_local_tables(data):
    projects, layers = data
    local = check(projects, layers, engine="local", line_width_m=12.0, near_m=800)
    with DaskEngine(workers=2, partition=400) as engine:   # 8 partitions over 2 workers
        dask = check(projects, layers, engine=engine, line_width_m=12.0, near_m=800)
        assert engine.workers == 2 and len(engine._scattered) == 2   # each layer broadcast once
    assert (local.overlaps["overlap_m2"] > 0).sum() > 500           # a real overlay, not an empty one
    assert local.overlaps["distance_m"].gt(0).sum() > 100           # and a real nearest search
    assert_frame_equal(local.summary, dask.summary)
    assert_frame_equal(local.overlaps, dask.overlaps)
    assert_frame_equal(pd.DataFrame(local.pieces.drop(columns="geometry")),
                       pd.DataFrame(dask.pieces.drop(columns="geometry")))
    assert shapely.equals_exact(local.pieces.geometry.values, dask.pieces.geometry.values, 0).all()


def test_engine_by_name_starts_and_closes_a_local_cluster(data):
    projects, layers = data
    few = projects.iloc[:300]
    by_name = check(few, layers, engine="dask", workers=1)
    assert_frame_equal(check(few, layers, engine="local").overlaps, by_name.overlaps)
    with get_engine("dask", 1) as engine:
        assert isinstance(engine, DaskEngine) and engine.cluster is not None
    assert engine.cluster is None


def test_unreachable_scheduler_is_an_input_error():
    with pytest.raises(InputError, match=r"tcp://127\.0\.0\.1:9.*no Dask scheduler answers.*dask scheduler"):
        DaskEngine(scheduler="tcp://127.0.0.1:9", timeout=2)


def test_engine_connects_to_a_running_scheduler(data):
    from distributed import LocalCluster

    projects, layers = data
    few = projects.iloc[:600]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with DaskEngine(scheduler=cluster.scheduler_address, partition=150) as engine:
            assert engine.cluster is None and engine.workers == 2
            remote = check(few, layers, engine=engine)
            geoms = np.asarray(few.geometry.values, dtype=object)
            assert not engine.in_process
            assert np.array_equal(engine.map(shapely.area, geoms, piece=50), shapely.area(geoms))   # 4 partitions
    assert_frame_equal(check(few, layers, engine="local").overlaps, remote.overlaps)


def test_cli_engine_dask(data, tmp_path):
    from typer.testing import CliRunner

    from spatial.cli.main import app

    projects, layers = data
    projects.iloc[:500].to_file(tmp_path / "p.gpkg", driver="GPKG")
    layers["ecological_redline"].to_file(tmp_path / "red.gpkg", driver="GPKG")
    base = ["check", str(tmp_path / "p.gpkg"), "--layer", f"ecological_redline={tmp_path / 'red.gpkg'}",
            "--no-map", "--no-xlsx"]
    for engine in ("local", "dask"):
        result = CliRunner().invoke(app, [*base, "--engine", engine, "--workers", "2", "--out", str(tmp_path / engine)])
        assert result.exit_code == 0, result.output
    assert_frame_equal(pd.read_csv(tmp_path / "local" / "overlaps.csv"), pd.read_csv(tmp_path / "dask" / "overlaps.csv"))
    result = CliRunner().invoke(app, [*base, "--scheduler", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2 and "--engine dask" in " ".join(result.output.split())
    result = CliRunner().invoke(app, [*base, "--engine", "spark"])
    assert result.exit_code == 2 and "local, dask" in " ".join(result.output.split())
