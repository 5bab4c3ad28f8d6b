"""Hostile names from files, workspaces and paths stay harmless text in every output: no markup in the HTML pages
and maps (checked in headless Chromium), no formula in the workbooks and CSVs (OWASP CSV injection)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from spatial.outputs.tables import EXCEL_CELL_MAX, neutralise, neutralise_frame, write_csv, write_excel
from spatial.outputs.tables import HEADERS

DEMO = Path(__file__).resolve().parent.parent / "layers" / "changshan"

WS_NAME = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>window.__pwned=1</script>"
IMG = "<img src=x onerror=window.__pwned=2>"
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "=cmd|'/c calc'!A1"
OTHERS = ["+1+1", "-2+3", "@SUM(1,1)", "\tTAB", "\rCR"]
FORMULAS = [HYPERLINK, DDE, *OTHERS]
KIND_NAME = "<img src=x onerror=window.__pwned=4>"
COLOUR = '#c0001a" onmouseover="window.__pwned=5'
DIFF_FILE = "<img src=x onerror=window.__pwned=3>.gpkg"   # a file name is a string from the user too


def test_neutralise_text_only():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("-x") == "'-x"
    assert neutralise("常山") == "常山"
    assert neutralise(-3.5) == -3.5 and neutralise(-2) == -2
    df = pd.DataFrame({"n": [-1.5, 2.0], "t": ["=A1", "ok"], "m": [1, "@x"]})
    out = neutralise_frame(df)
    assert out["n"].tolist() == [-1.5, 2.0] and out["n"].dtype == float
    assert out["t"].tolist() == ["'=A1", "ok"] and out["m"].tolist() == [1, "'@x"]
    assert df["t"].tolist() == ["=A1", "ok"]  # the caller's table is not changed


def test_long_cells_cut_and_reported(tmp_path):
    long = "长" * (EXCEL_CELL_MAX + 100)
    df = pd.DataFrame({"project": ["短", "长项目"], "conflicts": ["a", long]})
    notes: list[str] = []
    path = write_excel({"summary": df}, tmp_path / "check.xlsx", notes=notes)
    cell = openpyxl.load_workbook(path)["summary"]["B3"].value
    assert len(cell) == EXCEL_CELL_MAX
    assert len(notes) == 1
    assert "check.xlsx" in notes[0] and "长项目" in notes[0] and "conflicts" in notes[0]
    assert f"{EXCEL_CELL_MAX + 100:,d}" in notes[0]
    write_csv(df, tmp_path / "s.csv")  # the CSV keeps the whole text
    assert pd.read_csv(tmp_path / "s.csv")["conflicts"].iloc[1] == long


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The Changshan demo with a hostile workspace name and project names, and every writer run over it."""
    from maps.publish import publish
    from maps.render import write_check_map
    from spatial.analysis.check import check
    from spatial.analysis.conflicts import check_conflicts
    from spatial.analysis.indicators import indicator_result
    from spatial.analysis.versions import diff_versions
    from spatial.outputs.check_report import write_check_outputs
    from spatial.outputs.indicator_report import write_indicator_outputs
    from spatial.outputs.review_report import write_conflict_outputs, write_diff_outputs
    from spatial.sources.workspace import load_workspace

    root = tmp_path_factory.mktemp("hostile")
    wsdir = root / "ws"
    shutil.copytree(DEMO, wsdir)
    toml = wsdir / "workspace.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'name_zh = "常山县示范工作空间"', "name_zh = '" + WS_NAME + "'\ncatalog = \"catalog.toml\""), encoding="utf-8")
    # the workspace's own catalogue is a user's file too: a layer name and a colour that try to break out
    catalog = (DEMO.parent / "catalog.toml").read_text(encoding="utf-8")
    head, tail = catalog.split("[kinds.ecological_redline]", 1)
    tail = tail.replace('name_zh = "生态保护红线"', "name_zh = '" + KIND_NAME + "'", 1)
    tail = tail.replace('color = "#c0001a"', "color = '" + COLOUR + "'", 1)
    (wsdir / "catalog.toml").write_text(head + "[kinds.ecological_redline]" + tail, encoding="utf-8")
    projects = gpd.read_file(wsdir / "projects.gpkg", layer="projects")
    names = [SCRIPT, IMG, *FORMULAS]
    projects["name"] = (names * len(projects))[:len(projects)]
    projects.to_file(wsdir / "projects.gpkg", layer="projects", driver="GPKG")
    ws = load_workspace(wsdir)
    assert ws.settings["name_zh"] == WS_NAME and ws.catalog.kind("ecological_redline").name_zh == KIND_NAME
    old = root / DIFF_FILE
    ws.layer("ecological_redline").gdf.iloc[:-1].to_file(old, layer="ecological_redline", driver="GPKG")

    out = root / "out"
    result = check(ws.projects.gdf, ws)
    _, frag = write_check_map(result, out / "check", ws, offline=True)
    files = write_check_outputs(result, out / "check", map_html=frag)
    indicators = indicator_result(ws, None, "official")
    write_indicator_outputs(indicators, out / "indicators")
    write_conflict_outputs(check_conflicts(ws, None, "official"), out / "conflicts")
    write_diff_outputs(diff_versions(old, workspace=ws), out / "diff")
    publish(ws, out / "site", offline=True, check_result=result, indicators=indicators)
    return {"out": out, "files": files, "names": names}


def _csv_cells(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [c for row in csv.reader(fh) for c in row]


def test_workbooks_hold_no_formula(hostile):
    wbs = sorted(hostile["out"].rglob("*.xlsx"))
    assert len(wbs) >= 5
    for path in wbs:
        wb = openpyxl.load_workbook(path)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (path.name, ws.title, cell.coordinate, cell.value)
    summary = openpyxl.load_workbook(hostile["out"] / "check" / "check.xlsx")["summary"]
    header = [c.value for c in summary[1]]
    col = header.index(HEADERS["project"])
    projects = [r[col].value for r in summary.iter_rows(min_row=2)]
    for payload in FORMULAS[:5]:  # the reader strips the tab of the 8th name
        assert "'" + payload in projects, payload
    assert SCRIPT in projects  # text that is no formula stays as it was
    area = summary.cell(row=2, column=header.index(HEADERS["area_m2"]) + 1)
    assert area.data_type == "n" and isinstance(area.value, float)  # numbers stay numbers


def test_csvs_are_neutralised(hostile):
    csvs = sorted(hostile["out"].rglob("*.csv"))
    assert len(csvs) >= 8
    for path in csvs:
        for cell in _csv_cells(path):
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), (path.name, cell)
            if cell.startswith("-"):
                float(cell.replace(",", ""))  # only a negative number may start with '-'
    cells = _csv_cells(hostile["out"] / "check" / "summary.csv")
    assert "'" + HYPERLINK in cells and "'" + DDE in cells and SCRIPT in cells


PROBE = """() => {
  const found = {scripts: 0, imgs: 0, pwned: window.__pwned};
  for (const s of document.querySelectorAll('script')) { if (s.textContent.trim().startsWith('window.__pwned')) found.scripts++; }
  found.imgs = document.querySelectorAll('img[onerror], [onmouseover]').length;
  return found;
}"""

OPEN_POPUPS = """() => {
  let n = 0;
  for (const v of Object.values(window)) {
    if (window.L && v instanceof L.Map) {
      v.eachLayer(l => { if (l.getPopup && l.getPopup() && l.getBounds) { l.openPopup(l.getBounds().getCenter()); n++; } });
    }
  }
  return n;
}"""


def test_html_pages_run_no_payload(hostile):
    from browser import browser, open_page

    pages = sorted(hostile["out"].rglob("*.html"))
    assert len(pages) >= 10
    dialogs: list[str] = []
    opened_popups = 0
    with browser() as b:
        for path in pages:
            page, log = open_page(b, path, ready=None, wait_ms=400)
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            try:
                for frame in page.frames:
                    opened_popups += frame.evaluate(OPEN_POPUPS)
                    page.wait_for_timeout(100)
                    found = frame.evaluate(PROBE)
                    assert found["scripts"] == 0 and found["imgs"] == 0 and found.get("pwned") is None, (path, found)
            finally:
                page.context.close()
            assert log.page_errors == [], (path, log.page_errors)
    assert dialogs == []
    assert opened_popups > 0  # the check map's popups were drawn too


def test_map_title_is_text(hostile):
    text = (hostile["out"] / "site" / "maps" / "workspace.html").read_text(encoding="utf-8")
    head = text[text.index("<title>"):text.index("</title>")]
    assert "<img" not in head and "&lt;img" in head
    for name in ("indicators/indicators.html", "diff/diff.html", "check/report.html"):
        text = (hostile["out"] / name).read_text(encoding="utf-8")
        assert "<img src=x" not in text and "<script>window" not in text, name


def test_check_notes_name_the_cut_cell(tmp_path):
    from spatial.analysis.check import check
    from spatial.outputs.check_report import write_check_outputs
    from shapely.geometry import box

    long = "长" * (EXCEL_CELL_MAX + 10)
    projects = gpd.GeoDataFrame({"name": [long], "project_type": ["energy"]},
                                geometry=[box(118.6, 28.9, 118.61, 28.91)], crs=4490)
    red = gpd.GeoDataFrame({"name": ["红线"]}, geometry=[box(118.605, 28.9, 118.62, 28.92)], crs=4490)
    result = check(projects, {"ecological_redline": red})
    write_check_outputs(result, tmp_path)
    cut = [n for n in result.notes if "32,767" in n]
    assert cut and all("check.xlsx" in n and f"column {HEADERS['project']}" in n for n in cut)
    assert all(len(n) < 400 for n in cut)                     # the note names the cell, not its text
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert f"column {HEADERS['project']}" in report
    wb = openpyxl.load_workbook(tmp_path / "check.xlsx")
    assert len(wb["summary"]["B2"].value) == EXCEL_CELL_MAX
