"""Nothing lost from the record: projects and constraint-layer features set aside or repaired when reading appear
in summary.csv, record.csv, the check.xlsx record sheet, report.html and the overlaps.gpkg record layer;
``spatial check --strict`` exits 1 when anything was set aside."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely
from shapely.geometry import Polygon, box
from typer.testing import CliRunner

from factories import bowtie, geodesic_area_m2, write_shapefile
from spatial.outputs.tables import HEADERS

X0, Y0 = 118.60, 28.90


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A GBK shapefile of projects (one without geometry, one bow-tie) and a red line with a collapsed feature."""
    d = tmp_path_factory.mktemp("record")
    tie = bowtie(X0 + 0.004, Y0 + 0.002, 0.004)
    projects = gpd.GeoDataFrame({"XMMC": ["风电场甲", "空白地块", "蝴蝶地块"]},
                                geometry=[box(X0, Y0, X0 + 0.01, Y0 + 0.01), None, tie], crs=4490)
    write_shapefile(d / "projects.shp", projects, encoding="GBK")
    flat = Polygon([(X0 + 0.03, Y0), (X0 + 0.04, Y0), (X0 + 0.05, Y0), (X0 + 0.03, Y0)])  # no area: collapses
    red = gpd.GeoDataFrame({"name": ["红线甲", "零面积红线"]},
                           geometry=[box(X0 + 0.005, Y0, X0 + 0.02, Y0 + 0.02), flat], crs=4490)
    pyogrio.write_dataframe(red, d / "red.gpkg", layer="STBHHX", driver="GPKG")
    lobes = shapely.get_parts(shapely.make_valid(tie))
    return {"dir": d, "lobes_m2": sum(geodesic_area_m2(p) for p in lobes)}


def _run(inputs, out: Path, *extra: str):
    from spatial.cli.main import app

    d = inputs["dir"]
    return CliRunner().invoke(app, ["check", str(d / "projects.shp"), "--layer", f"ecological_redline={d / 'red.gpkg'}",
                                    "--type", "energy", "--no-map", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def outputs(inputs):
    out = inputs["dir"] / "out"
    res = _run(inputs, out)
    assert res.exit_code == 0, res.output
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_summary_lists_the_set_aside_project_as_not_checked(outputs):
    rows = {r["project"]: r for r in _rows(outputs / "summary.csv")}
    assert list(rows) == ["风电场甲", "空白地块", "蝴蝶地块"]   # GBK names read, file order kept
    blank = rows["空白地块"]
    assert blank["project_no"] == "2" and blank["verdict"] == "not_checked" and blank["verdict_label"] == "未检查 not checked"
    assert "no geometry" in blank["conflicts"] and blank["project_type"] == "energy"
    assert rows["蝴蝶地块"]["verdict"] == "prohibited"           # the repaired bow-tie was checked


def test_record_csv_has_repairs_with_areas_and_layer_set_asides(outputs, inputs):
    rows = _rows(outputs / "record.csv")
    by = {(r["scope"], r["number"], r["kind"]): r for r in rows}
    aside = by[("项目 project", "2", "set_aside")]
    assert aside["finding"] == "empty_geometry" and json.loads(aside["attributes"])["XMMC"] == "空白地块"
    tie = by[("项目 project", "3", "repaired")]
    assert "Self-intersection" in tie["reason"]
    assert float(tie["area_after_m2"]) == pytest.approx(inputs["lobes_m2"], rel=1e-6)
    assert tie["area_before_m2"] != ""
    flat = by[("图层 layer:ecological_redline", "2", "set_aside")]
    assert flat["finding"] == "collapsed" and "零面积红线" in flat["feature"]


def test_workbook_record_sheet(outputs):
    wb = openpyxl.load_workbook(outputs / "check.xlsx")
    assert "record" in wb.sheetnames
    sheet = wb["record"]
    ids = {v: k for k, v in HEADERS.items()}           # the workbook's headers are bilingual
    header = [ids.get(c.value, c.value) for c in sheet[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in sheet.iter_rows(min_row=2)]
    kinds = {(r["scope"], r["number"], r["kind"]) for r in rows}
    assert {("项目 project", 2, "set_aside"), ("项目 project", 3, "repaired"),
            ("图层 layer:ecological_redline", 2, "set_aside")} <= kinds
    tie = next(r for r in rows if r["kind"] == "repaired")
    assert isinstance(tie["area_after_m2"], float) and tie["area_after_m2"] > 0
    summary = wb["summary"]
    verdicts = [r[[c.value for c in summary[1]].index(HEADERS["verdict"])].value for r in summary.iter_rows(min_row=2)]
    assert verdicts.count("not_checked") == 1


def test_report_has_the_record_section(outputs, inputs):
    page = (outputs / "report.html").read_text(encoding="utf-8")
    section = page[page.index('<section id="record">'):]
    section = section[:section.index("</section>")]
    assert "空白地块" in section and "蝴蝶地块" in section and "零面积红线" in section
    assert "修复 repaired" in section and f"{int(inputs['lobes_m2']):,d}" in section  # area after the repair
    assert "未检查 not checked" in page[:page.index('<section id="record">')]  # counted with the verdicts


def test_gpkg_record_layer(outputs):
    layers = dict(pyogrio.list_layers(outputs / "overlaps.gpkg"))
    assert "record" in layers
    rec = gpd.read_file(outputs / "overlaps.gpkg", layer="record")
    assert rec.crs.to_epsg() == 4490 and len(rec) >= 3
    flat = rec[(rec["scope"] == "图层 layer:ecological_redline") & (rec["kind"] == "set_aside")]
    assert len(flat) == 1 and flat.geometry.iloc[0] is not None      # the set-aside feature keeps its geometry
    blank = rec[(rec["scope"] == "项目 project") & (rec["kind"] == "set_aside")]
    assert len(blank) == 1 and (blank.geometry.iloc[0] is None or blank.geometry.iloc[0].is_empty)


def test_strict_exits_1_when_anything_was_set_aside(inputs, tmp_path):
    res = _run(inputs, tmp_path / "strict", "--strict")
    assert res.exit_code == 1
    assert "--strict" in res.output and "set aside" in res.output
    assert (tmp_path / "strict" / "record.csv").exists()   # the outputs were still written


def test_strict_passes_clean_input(tmp_path):
    from spatial.cli.main import app

    gpd.GeoDataFrame({"XMMC": ["甲"]}, geometry=[box(X0, Y0, X0 + 0.01, Y0 + 0.01)], crs=4490).to_file(
        tmp_path / "p.gpkg", driver="GPKG")
    gpd.GeoDataFrame({"name": ["红"]}, geometry=[box(X0 + 0.5, Y0, X0 + 0.6, Y0 + 0.1)], crs=4490).to_file(
        tmp_path / "r.gpkg", driver="GPKG")
    res = CliRunner().invoke(app, ["check", str(tmp_path / "p.gpkg"), "--layer", f"ecological_redline={tmp_path / 'r.gpkg'}",
                                   "--type", "energy", "--no-map", "--strict", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert len(_rows(tmp_path / "o" / "record.csv")) == 0
    assert "record" in dict(pyogrio.list_layers(tmp_path / "o" / "overlaps.gpkg"))


def test_check_map_says_which_projects_are_not_drawn(inputs, tmp_path):
    res = _run(inputs, tmp_path / "m")   # --no-map is in _run; draw the map through the API instead
    assert res.exit_code == 0
    from maps.render import check_map
    from spatial.analysis.check import check
    from spatial.outputs.record import attach_record
    from spatial.sources.files import read_layer

    d = inputs["dir"]
    read = read_layer(d / "projects.shp")
    red = read_layer(d / "red.gpkg")
    result = attach_record(check(read.gdf, {"ecological_redline": red.gdf}, "energy"), read, {})
    html = check_map(result, offline=True).html()
    assert "未检查 not checked 1" in html and "#2 空白地块（empty_geometry）" in html


def test_record_keeps_projected_set_aside_shapes_as_they_are(tmp_path):
    from spatial.outputs.record import record_from
    from spatial.sources.files import read_layer

    flat = Polygon([(39500000, 3200000), (39500100, 3200000), (39500200, 3200000)])  # GK zone 39, no area
    gk = gpd.GeoDataFrame({"name": ["甲", "空", "扁"]}, crs=4527,
                          geometry=[box(39500000, 3200000, 39501000, 3201000), None, flat])
    pyogrio.write_dataframe(gk, tmp_path / "gk.gpkg", driver="GPKG")
    rec = record_from(read_layer(tmp_path / "gk.gpkg"))
    assert list(rec["finding"]) == ["empty_geometry", "collapsed"] and rec.crs.to_epsg() == 4490
    shape = rec.geometry.iloc[1]
    assert shape is not None and not shape.is_empty and len(shape.exterior.coords) == 4
    assert 116.9 < shape.bounds[0] < 117.1   # zone 39: central meridian 117°E
