"""audit.json of `spatial check`: tool, catalogue, inputs and outputs with sha256s that match the files, every
parameter, times and counts; --log appends one JSON line per run; report.html summarises it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from factories import write_shapefile
from spatial.outputs.audit import safe_location

X0, Y0 = 118.60, 28.90


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from spatial.cli.main import app

    d = tmp_path_factory.mktemp("audit")
    projects = gpd.GeoDataFrame({"XMMC": ["风电场甲", "远处地块", "空白地块"]},
                                geometry=[box(X0, Y0, X0 + 0.01, Y0 + 0.01), box(X0 + 0.5, Y0, X0 + 0.51, Y0 + 0.01),
                                          None], crs=4490)
    write_shapefile(d / "sites.shp", projects, encoding="GBK")
    gpd.GeoDataFrame({"name": ["红线甲"]}, geometry=[box(X0 + 0.005, Y0, X0 + 0.02, Y0 + 0.02)], crs=4490).to_file(
        d / "red.gpkg", layer="STBHHX", driver="GPKG")
    log = d / "runs.jsonl"
    args = ["check", str(d / "sites.shp"), "--layer", f"ecological_redline={d / 'red.gpkg'}", "--type", "energy",
            "--area", "geodesic", "--no-map", "--log", str(log)]
    first = CliRunner().invoke(app, [*args, "--out", str(d / "out1")])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, [*args, "--out", str(d / "out2"), "--near", "250"])
    assert second.exit_code == 0, second.output
    return {"dir": d, "out": d / "out1", "log": log, "audit": json.loads((d / "out1" / "audit.json").read_text("utf-8"))}


def test_output_hashes_match_the_files(run):
    outputs = run["audit"]["outputs"]
    names = {o["file"] for o in outputs}
    assert {"summary.csv", "overlaps.csv", "record.csv", "check.xlsx", "overlaps.gpkg", "report.html"} <= names
    for o in outputs:
        path = run["out"] / o["file"]
        assert o["sha256"] == sha(path), o["file"]
        assert o["size_bytes"] == path.stat().st_size


def test_inputs_catalogue_and_tool(run):
    a = run["audit"]
    d = run["dir"]
    proj = next(i for i in a["inputs"] if i["role"] == "projects")
    assert proj["sha256"] == sha(d / "sites.shp") and proj["size_bytes"] == (d / "sites.shp").stat().st_size
    parts = {Path(f["path"]).suffix: f["sha256"] for f in proj["files"]}
    assert parts[".dbf"] == sha(d / "sites.dbf") and ".prj" in parts and ".cpg" in parts
    assert proj["encoding"] == "GBK" and proj["crs"] == "EPSG:4490" and proj["crs_source"]
    assert proj["feature_count"] == 3 and proj["features_used"] == 2 and proj["set_aside"] == 1
    red = next(i for i in a["inputs"] if i.get("kind") == "ecological_redline")
    assert red["sha256"] == sha(d / "red.gpkg") and red["layer"] == "STBHHX" and red["checked"] is True
    assert a["catalogue"]["sha256"] == sha(Path(a["catalogue"]["path"]))
    assert a["tool"]["name"] == "eco-spatial-planning" and a["tool"]["version"]
    assert len(a["tool"].get("git_commit", "0" * 40)) == 40


def test_parameters_times_counts(run):
    a = run["audit"]
    p = a["parameters"]
    assert p["area"] == "geodesic" and p["near"] == 1000.0 and p["project_type"] == "energy" and p["with_map"] is False
    assert a["area_method"] == "geodesic"
    start = datetime.fromisoformat(a["started_utc"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(a["finished_utc"].replace("Z", "+00:00"))
    assert start.tzinfo is not None and start <= end
    assert a["counts"]["projects"] == 3 and a["counts"]["checked"] == 2
    assert a["counts"]["verdicts"]["prohibited"] == 1 and a["counts"]["verdicts"]["no_conflict"] == 1
    assert a["counts"]["verdicts"]["not_checked"] == 1
    assert a["set_asides"]["count"] == 1 and a["set_asides"]["items"][0]["number"] == 3


def test_log_appends_one_line_per_run(run):
    lines = run["log"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    runs = [json.loads(line) for line in lines]
    assert runs[0]["parameters"]["near"] == 1000.0 and runs[1]["parameters"]["near"] == 250.0
    assert runs[0] == run["audit"]   # the same record as audit.json


def test_report_summarises_the_audit(run):
    page = (run["out"] / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="audit">'):]
    assert "运行记录 Audit record" in section
    assert run["audit"]["catalogue"]["sha256"] in section
    assert sha(run["dir"] / "sites.shp") in section and run["audit"]["tool"]["version"] in section


def test_safe_location_drops_passwords_and_keys():
    assert safe_location("/vsicurl/https://alice:s3cret@example.org/red.gpkg") == \
        "/vsicurl/https://alice:***@example.org/red.gpkg"
    assert "s3cret" not in safe_location("https://t0.tianditu.gov.cn/img_w/wmts?layer=img&tk=s3cret&x=1")
    assert safe_location("/data/红线/STBHHX.shp") == "/data/红线/STBHHX.shp"
    assert safe_location("https://example.org/a.gpkg") == "https://example.org/a.gpkg"
