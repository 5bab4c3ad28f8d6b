"""Distance rules (within_m): a school 300 m from a smelter, water-source surroundings and shorelines, with
distances geodesic from the project's own geometry (a point project's circle, not its centre)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box
from typer.testing import CliRunner

from spatial.analysis.check import check
from spatial.cli.main import app
from spatial.errors import InputError

GEOD = Geod(ellps="GRS80")
SMELTER = box(118.50, 28.90, 118.51, 28.91)                 # ~1 km × 1.1 km, EPSG:4490
LAT = 28.905


def _east_of(lon: float, metres: float) -> Point:
    x, y, _ = GEOD.fwd(lon, LAT, 90.0, metres)
    return Point(x, y)


def _layers(school: Point) -> dict[str, gpd.GeoDataFrame]:
    receptors = gpd.GeoDataFrame({"name": ["常山县第一小学"], "kind": ["学校"]}, geometry=[school], crs="EPSG:4490")
    return {"sensitive_receptor": receptors}


def _projects(geom, ptype: str = "polluting_industry") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["有色金属冶炼厂"], "project_type": [ptype]}, geometry=[geom], crs="EPSG:4490")


def _receptor_row(result):
    return result.overlaps[result.overlaps["layer"] == "sensitive_receptor"].iloc[0]


def test_school_300_m_from_a_smelter_prohibits_it_within_500_not_within_200():
    school = _east_of(118.51, 300.0)
    prohibited = check(_projects(SMELTER), _layers(school), within={"sensitive_receptor": 500})
    row = _receptor_row(prohibited)
    assert row["verdict"] == "prohibited" and row["rule"] == "SO10"
    assert row["distance_m"] == pytest.approx(300.0, abs=0.05)     # geodesic, from the plant's edge
    assert row["within_m"] == 500 and "300.0 m ≤ 500 m" in row["basis"]
    assert prohibited.summary["verdict"].iloc[0] == "prohibited"
    assert "300.0 m ≤ 500 m" in prohibited.summary["conflicts"].iloc[0]
    allowed = check(_projects(SMELTER), _layers(school), within={"sensitive_receptor": 200})
    assert _receptor_row(allowed)["verdict"] == "no_conflict"
    assert allowed.summary["verdict"].iloc[0] == "no_conflict"


def test_without_a_distance_only_overlaps_count_and_the_note_says_so():
    result = check(_projects(SMELTER), _layers(_east_of(118.51, 300.0)))
    assert _receptor_row(result)["verdict"] == "no_conflict"
    assert any("SO10" in n and "--within sensitive_receptor=METRES" in n for n in result.notes)


def test_other_project_types_are_not_judged_by_so10():
    result = check(_projects(SMELTER, "tourism"), _layers(_east_of(118.51, 300.0)), within={"sensitive_receptor": 500})
    assert _receptor_row(result)["verdict"] == "no_conflict"


def test_point_project_distance_is_from_its_circle_not_its_centre():
    centre = _east_of(118.51, 0.0)
    school = _east_of(118.51, 300.0)
    result = check(_projects(centre), _layers(school), within={"sensitive_receptor": 260}, point_radius_m=50)
    row = _receptor_row(result)
    # 300 m between centres, 50 m radius: 250 m from the circle (128-gon: within a few cm)
    assert row["distance_m"] == pytest.approx(250.0, abs=0.1)
    assert row["verdict"] == "prohibited"


def test_shoreline_and_water_source_surroundings():
    river = gpd.GeoDataFrame({"name": ["常山港"]}, geometry=[LineString([(118.52, 28.80), (118.52, 29.00)])],
                             crs="EPSG:4490")
    zone = gpd.GeoDataFrame({"name": ["芙蓉水库饮用水水源保护区"]}, geometry=[box(118.40, 28.90, 118.49, 28.91)],
                            crs="EPSG:4490")
    layers = {"river": river, "water_source_zone": zone}
    near = check(_projects(SMELTER, "industrial"), layers, within={"river": 1500, "water_source_zone": 1500})
    rows = near.overlaps.set_index("layer")
    d_river = GEOD.inv(118.51, LAT, 118.52, LAT)[2]
    assert rows.loc["river", "distance_m"] == pytest.approx(d_river, rel=1e-4)
    assert rows.loc["river", "rule"] == "WA6" and rows.loc["river", "verdict"] == "needs_approval"
    assert rows.loc["water_source_zone", "rule"] == "WA2"
    far = check(_projects(SMELTER, "industrial"), layers, within={"river": 500, "water_source_zone": 500})
    assert set(far.overlaps["verdict"]) == {"no_conflict"}
    inside = check(_projects(box(118.45, 28.901, 118.46, 28.909), "industrial"), layers,
                   within={"water_source_zone": 1500})
    assert inside.overlaps.set_index("layer").loc["water_source_zone", "rule"] == "WS3"   # overlap rules first


def test_within_for_a_kind_without_a_distance_rule_is_refused():
    with pytest.raises(InputError, match="no distance rule"):
        check(_projects(SMELTER), _layers(_east_of(118.51, 300.0)), within={"ecological_redline": 100})


def test_cli_within_and_workspace_table(tmp_path):
    school = _east_of(118.51, 300.0)
    _layers(school)["sensitive_receptor"].to_file(tmp_path / "receptors.gpkg", layer="receptors")
    _projects(SMELTER).to_file(tmp_path / "smelter.gpkg", layer="projects")
    args = ["check", str(tmp_path / "smelter.gpkg"), "--layer", f"sensitive_receptor={tmp_path / 'receptors.gpkg'}",
            "--out", str(tmp_path / "out"), "--no-map"]
    hit = CliRunner().invoke(app, args + ["--within", "sensitive_receptor=500"])
    assert hit.exit_code == 0, hit.output
    summary = gpd.pd.read_csv(tmp_path / "out" / "summary.csv")
    assert summary["verdict"].tolist() == ["prohibited"]
    miss = CliRunner().invoke(app, args + ["--within", "sensitive_receptor=200"])
    assert miss.exit_code == 0, miss.output
    assert gpd.pd.read_csv(tmp_path / "out" / "summary.csv")["verdict"].tolist() == ["no_conflict"]
    bad = CliRunner().invoke(app, args + ["--within", "sensitive_receptor=far"])
    assert bad.exit_code == 2 and "KIND=METRES" in bad.output
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "workspace.toml").write_text(
        '[workspace]\nname_zh = "测试"\n\n[within]\nsensitive_receptor = 500\n\n'
        f'[layers.sensitive_receptor]\npath = "{tmp_path / "receptors.gpkg"}"\n', encoding="utf-8")
    from spatial.sources.workspace import load_workspace

    ws = load_workspace(tmp_path / "ws", allow_outside=True)
    assert check(_projects(SMELTER), ws).summary["verdict"].tolist() == ["prohibited"]
    assert np.isclose(check(_projects(SMELTER), ws, within={"sensitive_receptor": 100}).overlaps["distance_m"], 300.0,
                      atol=0.05).all()
