"""`spatial demo`, the README's main job, on the bundled Changshan workspace: every output is re-read and the
protected-land share is checked against an independent union-then-measure with pyproj.Geod."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod
from typer.testing import CliRunner

DEMO = Path(__file__).resolve().parent.parent / "layers" / "changshan"
GPKG = DEMO / "changshan.gpkg"
GEOD = Geod(ellps="GRS80")
PROTECTED = ["ecological_redline", "nature_reserve", "forest_park", "wetland_park", "geopark", "scenic_area",
             "water_source_zone"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from spatial.cli.main import app

    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--area", "geodesic"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_demo_prints_every_part(demo_run):
    _, output = demo_run
    for heading in ("County areas", "Project check", "Indicators", "Three zones, three lines", "index.html"):
        assert heading in output


def test_demo_check_verdicts(demo_run):
    out, _ = demo_run
    summary = pd.read_csv(out / "check" / "summary.csv", encoding="utf-8-sig")
    verdict = dict(zip(summary["project"], summary["verdict"]))
    for site in ("天马", "青石", "招贤"):
        assert verdict[f"常山南部山区风电场（{site}片区）"] == "prohibited"
    assert verdict["常山港绿道"] == "needs_approval"
    assert verdict["常山县垃圾焚烧项目"] == "prohibited"  # on permanent farmland
    overlaps = pd.read_csv(out / "check" / "overlaps.csv", encoding="utf-8-sig")
    greenway_red = overlaps[(overlaps["project"] == "常山港绿道") & (overlaps["layer"] == "ecological_redline")]
    assert greenway_red["overlap_length_m"].iloc[0] > 0
    assert greenway_red["verdict"].iloc[0] == "needs_approval"


def test_demo_protected_share_matches_independent_union(demo_run):
    out, _ = demo_run
    table = pd.read_csv(out / "indicators" / "indicators.csv", encoding="utf-8-sig")
    row = table[table["indicator_id"] == "protected_share"].iloc[0]

    county = gpd.read_file(GPKG, layer="admin_county")
    changshan = county[county["code"].astype(str) == "330822"].geometry.iloc[0]
    union = shapely.union_all([shapely.union_all(gpd.read_file(GPKG, layer=k).geometry.values) for k in PROTECTED])
    inside = shapely.intersection(union, changshan)
    expected = abs(GEOD.geometry_area_perimeter(inside)[0]) / abs(GEOD.geometry_area_perimeter(changshan)[0]) * 100
    assert row["value"] == pytest.approx(expected, rel=1e-6)
    assert row["status"].startswith("达标")  # ≥ 33 % (mountain)


def test_demo_site_links_resolve_and_files_reopen(demo_run):
    out, _ = demo_run
    index = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'href="([^"#:]+\.html)"', index)
    assert {"maps/workspace.html", "maps/pattern.html", "check/report.html", "indicators/indicators.html"} <= set(links)
    for link in links:
        assert (out / link).stat().st_size > 0
    workspace_map = (out / "maps" / "workspace.html").read_text(encoding="utf-8")
    assert not re.search(r'<script[^>]+src="https?://', workspace_map)  # offline by default: nothing fetched
    assert dict(pyogrio.list_layers(out / "conflicts" / "conflicts.gpkg"))


def test_demo_planted_farmland_urban_conflict(demo_run):
    out, _ = demo_run
    conflicts = pd.read_csv(out / "conflicts" / "conflicts.csv", encoding="utf-8-sig")
    row = conflicts[(conflicts["check"] == "overlap:permanent_farmland:urban_boundary")
                    & (conflicts["unit_kind"] == "全部 all")].iloc[0]
    farmland = gpd.read_file(GPKG, layer="permanent_farmland")
    urban = shapely.union_all(gpd.read_file(GPKG, layer="urban_boundary").geometry.values)
    piece = shapely.intersection(shapely.union_all(farmland.geometry.values), urban)
    expected = abs(GEOD.geometry_area_perimeter(piece)[0])
    assert expected > 1e5  # the planted 19.7 ha conflict
    assert row["area_m2"] == pytest.approx(expected, rel=1e-6)
    assert row["status"].startswith("冲突")
