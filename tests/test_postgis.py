"""PostGIS as a source and a destination, against a throwaway PostgreSQL server started here (tests/pg_server.py).

The same layers are written to GeoPackage files and to PostGIS tables (a GK zone 39 table with SRID 4527, a
CGCS2000 table with SRID 4490, and a table with SRID 0 whose eastings carry the zone prefix); the check run on
the PostGIS layers must give exactly the overlaps of the check run on the files.
"""

from __future__ import annotations

import os
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from pandas.testing import assert_frame_equal
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from pg_server import PgServer, find_initdb, free_port
from spatial.analysis.check import check
from spatial.errors import InputError
from spatial.geo.crs import to_workspace_crs
from spatial.outputs.postgis import write_check_postgis
from spatial.sources.files import read_layer
from spatial.sources.postgis import mask_url, parse_url, read_postgis
from spatial.sources.workspace import Layer, load_workspace
from spatial.rules.catalog import load_catalog

if find_initdb() is None and not os.environ.get("CI"):
    pytest.skip("PostgreSQL's initdb is not installed (scripts/install.sh installs postgresql-15-postgis-3); "
                "in CI this module always runs", allow_module_level=True)

X0, Y0 = 118.40, 28.85


@pytest.fixture(scope="module")
def server():
    pg = PgServer.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="module")
def engine(server):
    eng = sa.create_engine(server.url.replace("postgresql://", "postgresql+psycopg://"))
    yield eng
    eng.dispose()


def _layers() -> dict[str, gpd.GeoDataFrame]:
    rng = np.random.default_rng(7)
    cx, cy = X0 + rng.random(60) * 0.25, Y0 + rng.random(60) * 0.15
    red = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(60)]},
                           geometry=[shapely.buffer(Point(x, y), 0.003 + r * 0.01, quad_segs=8)
                                     for x, y, r in zip(cx, cy, rng.random(60))], crs=4490).to_crs(4527)
    fx, fy = X0 + rng.random(50) * 0.25, Y0 + rng.random(50) * 0.15
    farm = gpd.GeoDataFrame({"name": [f"基本农田{i}" for i in range(50)]},
                            geometry=[box(x, y, x + 0.008, y + 0.006) for x, y in zip(fx, fy)], crs=4490)
    ux, uy = X0 + rng.random(20) * 0.25, Y0 + rng.random(20) * 0.15
    urban = gpd.GeoDataFrame({"name": [f"城镇{i}" for i in range(20)]},
                             geometry=[box(x, y, x + 0.01, y + 0.01) for x, y in zip(ux, uy)], crs=4490).to_crs(4527)
    return {"ecological_redline": red, "permanent_farmland": farm, "urban_boundary": urban}


def _projects() -> gpd.GeoDataFrame:
    rng = np.random.default_rng(8)
    n = 400
    x, y = X0 + rng.random(n) * 0.26, Y0 + rng.random(n) * 0.16
    geoms = [box(a, b, a + 0.002 + 0.004 * c, b + 0.002 + 0.003 * d)
             for a, b, c, d in zip(x, y, rng.random(n), rng.random(n))]
    geoms[3] = LineString([(x[3], y[3]), (x[3] + 0.03, y[3] + 0.01)])
    geoms[4] = Point(x[4], y[4])
    return gpd.GeoDataFrame({"XMMC": [f"项目{i}" for i in range(n)],
                             "project_type": rng.choice(["energy", "industrial", "urban"], n)},
                            geometry=geoms, crs=4490)


@pytest.fixture(scope="module")
def loaded(server, engine, tmp_path_factory):
    """The layers as GeoPackages and as PostGIS tables (urban_boundary with SRID 0), and the projects."""
    folder = tmp_path_factory.mktemp("pgfiles")
    layers = _layers()
    with engine.begin() as con:
        con.execute(sa.text("CREATE SCHEMA plan"))
    files = {}
    for kind, gdf in layers.items():
        path = folder / f"{kind}.gpkg"
        if kind == "urban_boundary":                       # no CRS at all: the zone prefix tells it
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gdf.set_crs(None, allow_override=True).to_file(path, driver="GPKG")
                gdf.set_crs(None, allow_override=True).to_postgis(kind, engine, schema="plan")
        else:
            gdf.to_file(path, driver="GPKG")
            gdf.to_postgis(kind, engine, schema="plan")
        files[kind] = path
    projects = _projects()
    projects.to_postgis("projects", engine, schema="plan")
    return files, projects


def _as_layers(reads: dict) -> dict[str, Layer]:
    catalog = load_catalog()
    return {k: Layer(kind=catalog.kind(k), gdf=to_workspace_crs(r.gdf), read=r) for k, r in reads.items()}


def test_srids_as_stored(server, loaded):
    srids = server.sql("gis", "SELECT f_table_name || '=' || srid FROM geometry_columns WHERE f_table_schema = 'plan' "
                              "ORDER BY 1").split()
    assert srids == ["ecological_redline=4527", "permanent_farmland=4490", "projects=4490", "urban_boundary=0"]


def test_read_like_a_file(server, loaded):
    files, _ = loaded
    for kind, path in files.items():
        from_file = read_layer(path)
        from_db = read_layer(f"{server.url}?table=plan.{kind}")
        assert from_db.driver == "PostGIS" and from_db.layer == f"plan.{kind}"
        assert str(from_db.path) == f"{server.url}?table=plan.{kind}"
        assert from_db.gdf.crs.equals(from_file.gdf.crs)
        assert list(from_db.gdf["name"]) == list(from_file.gdf["name"])
        assert shapely.equals_exact(from_db.gdf.geometry.values, from_file.gdf.geometry.values, 0).all()
    srid0 = read_layer(f"{server.url}?table=plan.urban_boundary")
    assert srid0.gdf.crs.to_epsg() == 4527 and "zone prefix" in srid0.crs_source
    assert any(w.kind == "crs_detected" for w in srid0.warnings)
    assert read_layer(f"{server.url}?table=plan.permanent_farmland").crs_source == "database (SRID 4490)"
    # a query, with postgres:// and the table given as layer=
    sql = read_postgis(server.url.replace("postgresql://", "postgres://")
                       + "?sql=SELECT name, geometry::geometry(Polygon, 4490) AS geometry FROM plan.permanent_farmland "
                         "WHERE name LIKE '基本农田1%' AND ':x' = ':x'")            # casts and colons stay SQL
    assert sorted(sql.gdf["name"]) == sorted(n for n in read_layer(files["permanent_farmland"]).gdf["name"]
                                             if n.startswith("基本农田1"))
    assert len(read_layer(server.url, "plan.permanent_farmland").gdf) == 50


def test_check_on_postgis_equals_check_on_files(server, loaded):
    files, projects = loaded
    by_file = check(projects, _as_layers({k: read_layer(p) for k, p in files.items()}), near_m=500)
    by_db = check(projects, _as_layers({k: read_layer(f"{server.url}?table=plan.{k}") for k in files}), near_m=500)
    assert (by_file.overlaps["overlap_m2"] > 0).sum() > 50
    assert set(by_file.overlaps.loc[by_file.overlaps["overlap_m2"] > 0, "layer"]) == set(files)
    assert np.array_equal(by_file.overlaps["overlap_m2"].to_numpy(), by_db.overlaps["overlap_m2"].to_numpy())
    assert_frame_equal(by_file.overlaps, by_db.overlaps)
    assert_frame_equal(by_file.summary, by_db.summary)
    # projects from PostGIS too
    proj_db = read_layer(f"{server.url}?table=plan.projects").to_cgcs2000()
    by_db2 = check(proj_db, _as_layers({k: read_layer(f"{server.url}?table=plan.{k}") for k in files}), near_m=500)
    assert_frame_equal(by_file.overlaps, by_db2.overlaps)


def test_workspace_toml_with_urls(server, loaded, tmp_path):
    files, projects = loaded
    (tmp_path / "workspace.toml").write_text(
        '[workspace]\nname_en = "PostGIS workspace"\n\n'
        f'[layers.ecological_redline]\nurl = "{server.url}"\ntable = "plan.ecological_redline"\nname_field = "name"\n\n'
        f'[layers.permanent_farmland]\nurl = "{server.url}"\n'
        'sql = "SELECT * FROM plan.permanent_farmland"\n\n'
        f'[projects]\nurl = "{server.url}"\ntable = "plan.projects"\n', encoding="utf-8")
    ws = load_workspace(tmp_path)
    assert set(ws.layers) == {"ecological_redline", "permanent_farmland"} and len(ws.projects.gdf) == 400
    assert ws.layers["ecological_redline"].gdf.crs.to_epsg() == 4490
    by_ws = check(ws.projects.to_cgcs2000(), ws, near_m=0)
    by_file = check(projects, _as_layers({k: read_layer(files[k]) for k in ws.layers}), near_m=0)
    assert_frame_equal(by_file.overlaps, by_ws.overlaps)


def test_write_results_and_read_them_back(server, loaded, engine):
    files, projects = loaded
    res = check(projects, _as_layers({k: read_layer(p) for k, p in files.items()}), near_m=500)
    tables = write_check_postgis(res, f"{server.url}?schema=check_out")
    assert tables == ["check_out.summary", "check_out.overlaps", "check_out.pieces"]
    with engine.connect() as con:
        summary = pd.read_sql("SELECT * FROM check_out.summary ORDER BY row_no", con, index_col="row_no")
        overlaps = pd.read_sql("SELECT * FROM check_out.overlaps ORDER BY row_no", con, index_col="row_no")
        pieces = gpd.read_postgis("SELECT * FROM check_out.pieces ORDER BY row_no", con, geom_col="geometry",
                                  index_col="row_no")
    summary.index.name = overlaps.index.name = pieces.index.name = None
    for back, ours in ((summary, res.summary), (overlaps, res.overlaps), (pieces, res.pieces)):
        for c in ours.columns:       # pandas reads a column of NULLs only as None: NaN in ours, double in the table
            if ours[c].dtype.kind == "f" and back[c].isna().all():
                back[c] = back[c].astype(float)
    types = dict(line.split("|") for line in server.sql(
        "gis", "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'check_out' "
               "AND table_name = 'pieces'").splitlines())
    assert types["overlap_length_m"] == "double precision" and types["overlap_m2"] == "double precision"
    assert_frame_equal(res.summary, summary, check_dtype=False)
    assert_frame_equal(res.overlaps, overlaps, check_dtype=False)
    assert pieces.crs.to_epsg() == 4490 and len(pieces) == len(res.pieces) > 50
    assert_frame_equal(pd.DataFrame(res.pieces.drop(columns="geometry")), pd.DataFrame(pieces.drop(columns="geometry")),
                       check_dtype=False)
    assert shapely.equals_exact(pieces.geometry.values, res.pieces.geometry.values, 0).all()
    assert server.sql("gis", "SELECT srid FROM geometry_columns WHERE f_table_schema = 'check_out'") == "4490\n"
    # read as a layer: in the result's order (the primary key)
    back = read_layer(f"{server.url}?table=check_out.pieces")
    assert list(back.gdf["project_no"]) == list(res.pieces["project_no"])
    # written again: replaced, not appended
    write_check_postgis(res, f"{server.url}?schema=check_out")
    assert server.sql("gis", "SELECT count(*) FROM check_out.summary") == f"{len(res.summary)}\n"


def test_missing_table_and_down_server_are_input_errors(server, loaded, monkeypatch):
    with pytest.raises(InputError) as exc:
        read_layer(f"{server.url}?table=plan.no_such_table")
    msg = str(exc.value)
    assert msg.startswith(f"{server.url}?table=plan.no_such_table: table plan.no_such_table not found")
    assert "plan.ecological_redline" in msg and "?table=SCHEMA.TABLE" in msg
    monkeypatch.setenv("PGPASSWORD", "pw-from-env-77")
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/gis?table=plan.ecological_redline"
    with pytest.raises(InputError) as exc:
        read_layer(down)
    msg = str(exc.value)
    assert msg.startswith(down) and "Connection refused" in msg and "start the PostgreSQL server" in msg
    assert "pw-from-env-77" not in msg
    with pytest.raises(InputError) as exc:
        write_check_postgis(None, down.replace("table=plan.ecological_redline", "schema=x"))
    assert "Connection refused" in str(exc.value)


def test_password_in_url_is_refused_and_masked(server):
    url = f"postgresql://postgres:s3cret-pw@127.0.0.1:{server.port}/gis?table=plan.projects"
    assert mask_url(url) == f"postgresql://postgres:***@127.0.0.1:{server.port}/gis?table=plan.projects"
    with pytest.raises(InputError) as exc:
        read_layer(url)
    assert "s3cret-pw" not in str(exc.value) and "postgres:***@" in str(exc.value)
    assert "PGPASSWORD" in str(exc.value) and "~/.pgpass" in str(exc.value)
    src = parse_url(f"{server.url}?table=projects")
    assert src.table == ("public", "projects") and src.port == server.port and src.database == "gis"


def _cli():
    from spatial.cli.main import app

    return app


def test_cli_check_from_and_to_postgis(server, loaded, engine, tmp_path):
    files, projects = loaded
    args = ["check", f"{server.url}?table=plan.projects", "--layer",
            f"ecological_redline={server.url}?table=plan.ecological_redline", "--layer",
            f"permanent_farmland={files['permanent_farmland']}", "--near", "500"]
    result = CliRunner().invoke(_cli(), [*args, "--out", f"{server.url}?schema=cli_out"])
    assert result.exit_code == 0, result.output
    expected = check(projects, _as_layers({k: read_layer(files[k]) for k in ("ecological_redline",
                                                                             "permanent_farmland")}), near_m=500)
    with engine.connect() as con:
        overlaps = pd.read_sql("SELECT * FROM cli_out.overlaps ORDER BY row_no", con, index_col="row_no")
    overlaps.index.name = None
    # a column that is NULL in every row (within_m without a distance rule) reads back as None, not NaN
    overlaps = overlaps.astype({c: "float64" for c, t in expected.overlaps.dtypes.items() if t.kind == "f"})
    assert_frame_equal(expected.overlaps, overlaps, check_dtype=False)
    # to files, from PostGIS
    result = CliRunner().invoke(_cli(), [*args, "--out", str(tmp_path / "o"), "--no-map", "--no-xlsx"])
    assert result.exit_code == 0, result.output
    summary = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig")
    assert np.allclose(summary["ecological_redline_m2"], expected.summary["ecological_redline_m2"], rtol=1e-12)
    # a missing table: exit code 2, the message, no traceback
    result = CliRunner().invoke(_cli(), ["check", f"{server.url}?table=plan.nope", "--layer",
                                         f"ecological_redline={files['ecological_redline']}"])
    said = " ".join(result.output.split())                  # rich wraps long lines
    assert result.exit_code == 2 and f"{server.url}?table=plan.nope: table plan.nope not found" in said
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    result = CliRunner().invoke(_cli(), [*args, "--out", server.url])
    assert result.exit_code == 2 and "?schema=NAME" in " ".join(result.output.split())
    # a server that does not answer: exit code 2, the URL and the fix
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/gis"
    result = CliRunner().invoke(_cli(), ["check", f"{down}?table=plan.projects", "--layer",
                                         f"ecological_redline={files['ecological_redline']}"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and f"{down}?table=plan.projects: connecting to database 'gis' failed" in said
    assert "start the PostgreSQL server" in said and "Traceback" not in said


def test_cli_inspect_a_table(server, loaded):
    import json

    files, _ = loaded
    by_db = CliRunner().invoke(_cli(), ["inspect", f"{server.url}?table=plan.urban_boundary", "--json"])
    by_file = CliRunner().invoke(_cli(), ["inspect", str(files["urban_boundary"]), "--json"])
    assert by_db.exit_code == 0 and by_file.exit_code == 0, by_db.output + by_file.output
    db, fl = json.loads(by_db.output), json.loads(by_file.output)
    assert db["file"] == f"{server.url}?table=plan.urban_boundary" and db["driver"] == "PostGIS"
    assert db["crs"] == fl["crs"] == "EPSG:4527" and db["feature_count"] == fl["feature_count"] == 20
    assert db["total_area_m2"] == fl["total_area_m2"] and db["features"] == fl["features"]
