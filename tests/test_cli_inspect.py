"""`spatial inspect` and `spatial layers`: the JSON contract, areas against pyproj.Geod, input errors on stderr."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from factories import (
    NAMES,
    bowtie,
    demo_layer,
    geodesic_area_m2,
    lonlat_square,
    write_gpkg,
    write_shapefile,
)
from typer.testing import CliRunner

from spatial.cli.main import app

pytestmark = pytest.mark.filterwarnings("ignore:'crs' was not provided")


def _runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click ≥ 8.2 keeps stderr apart by itself


def test_inspect_json_of_a_gbk_shapefile(tmp_path):
    src = demo_layer()
    path = write_shapefile(tmp_path / "红线.shp", src.rename(columns={"name": "HXMC"}), encoding="GBK", cpg=False)
    result = _runner().invoke(app, ["inspect", str(path), "--json", "--area", "geodesic"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["crs"] == "EPSG:4490" and info["encoding"] == "GB18030"
    assert [f["name"] for f in info["features"]] == NAMES
    for feat, geom in zip(info["features"], src.geometry):
        assert feat["area_m2"] == pytest.approx(geodesic_area_m2(geom), rel=1e-9)
        assert feat["area_mu"] == pytest.approx(feat["area_m2"] * 15 / 10_000, rel=1e-12)
    assert info["total_area_m2"] == pytest.approx(sum(geodesic_area_m2(g) for g in src.geometry), rel=1e-9)
    assert info["repairs"] == [] and info["set_aside"] == []


def test_inspect_reports_repairs_and_counts_overlaps_once(tmp_path):
    a, b = lonlat_square(118.40, 28.90), lonlat_square(118.405, 28.90)  # half of b overlaps a
    gdf = gpd.GeoDataFrame({"XMMC": ["甲地块", "乙地块", "蝴蝶结地块"]}, geometry=[a, b, bowtie()], crs=4490)
    path = write_gpkg(tmp_path / "parcels.gpkg", {"parcels": gdf})
    result = _runner().invoke(app, ["inspect", str(path), "--json", "--area", "geodesic"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    (rep,) = info["repairs"]
    assert rep["feature"] == "#3 蝴蝶结地块" and "Self-intersection" in rep["reason"]
    union = shapely.union_all([a, b, shapely.make_valid(bowtie())])
    assert info["total_area_m2"] == pytest.approx(geodesic_area_m2(union), rel=1e-9)
    assert info["total_area_m2"] < sum(f["area_m2"] for f in info["features"])


def test_inspect_of_a_file_without_crs_fails_on_stderr(tmp_path):
    path = write_shapefile(tmp_path / "nocrs.shp", demo_layer(), prj=False)
    result = _runner().invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "nocrs.shp" in result.stderr and "--crs" in result.stderr


def test_layers_lists_the_demo_workspace():
    result = _runner().invoke(app, ["layers"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for kind in ("ecological_redline", "permanent_farmland", "urban_boundary", "mine_site", "eco_corridor"):
        assert kind in result.stdout
