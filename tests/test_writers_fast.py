"""The fast writers give what the writers before them gave: CSVs through pyarrow read back as pandas' to_csv
wrote them, workbooks through rustpy_xlsxwriter hold the cells XlsxWriter wrote, GeoPackage layers written as
Arrow batches read back as the frames written, and report.html's project details built in one pass are the
page the per-project loop built. Every file is read back and compared."""

from __future__ import annotations

import csv
import dataclasses
import datetime
import decimal
import html
import math
import zipfile

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
import xlsxwriter
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from spatial.analysis.check import CheckResult, check
from spatial.outputs import check_report, tables
from spatial.outputs.check_report import _gpkg_layers, check_report_html, write_check_outputs
from spatial.outputs.html import html_value
from spatial.outputs.tables import (EXCEL_CELL_MAX, StreamingWorkbook, append_csv, neutralise_frame,
                                    promote_polygons, write_csv, write_excel, write_gpkg)

TEXTS = ["风电场甲", 'say "hi", ok', "line1\nline2", None, "plain", "a,b", "=1+1", " lead ", "", "x"]


def _frame() -> pd.DataFrame:
    """Every kind of column the writers meet: text (quotes, commas, newlines, Chinese, a formula), floats
    (NaN, ±inf, -0.0, tiny, huge, whole numbers only), ints, booleans, pandas' nullable types, mixed objects."""
    return pd.DataFrame({
        "项目 project": TEXTS,
        "f": [1234.5678901234, np.nan, np.inf, -np.inf, 1e300, 0.1 + 0.2, -0.0, 1.0, 1e-7, 123456789012345.6],
        "whole": [0.0, 100.0, -3.0, 1e16, 2.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        "i": np.arange(10, dtype=np.int64) - 3,
        "b": [True, False] * 5,
        "nb": pd.array([True, None] * 5, dtype="boolean"),
        "ni": pd.array([1, None] * 5, dtype="Int64"),
        "nf": pd.array([1.5, None] * 5, dtype="Float64"),
        "f32": np.array([0.1, 1 / 3] * 5, dtype=np.float32),
        "mixed": pd.Series([1, "二", 3.5, None, True, np.nan, 2 ** 70, "x", decimal.Decimal("1.10"),
                            datetime.date(2024, 1, 2)], dtype=object),
        "objstr": pd.Series(["a", None, "b", np.nan, "c", "d", "e", "f", "g", "-1"], dtype=object),
    })


def _cells(path):
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_reads_back_as_pandas_wrote_it(tmp_path):
    df = _frame()
    ours = write_csv(df, tmp_path / "ours.csv")
    neutralise_frame(df).to_csv(tmp_path / "pandas.csv", index=False, encoding="utf-8-sig")
    raw = ours.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    assert raw.splitlines()[0] == (tmp_path / "pandas.csv").read_bytes().splitlines()[0]  # the same header
    a = pd.read_csv(ours, encoding="utf-8-sig")
    b = pd.read_csv(tmp_path / "pandas.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(a, b, check_exact=True)              # values and dtypes
    assert a["whole"].dtype == np.float64 and a["b"].dtype == bool and a["i"].tolist() == list(range(-3, 7))
    assert a["f"].iloc[5] == 0.1 + 0.2 and a["f"].iloc[2] == np.inf and np.isnan(a["f"].iloc[1])
    assert math.copysign(1, a["f"].iloc[6]) == -1                      # -0.0 stays negative
    assert a["项目 project"].iloc[2] == "line1\nline2" and a["项目 project"].iloc[1] == 'say "hi", ok'
    # the cells as a spreadsheet sees them: text equal, numbers equal as numbers
    ours_cells, their_cells = _cells(ours), _cells(tmp_path / "pandas.csv")
    assert len(ours_cells) == len(their_cells) == 11
    for row, their in zip(ours_cells[1:], their_cells[1:]):
        for name, v, w in zip(ours_cells[0], row, their):
            if name in ("f", "whole", "f32", "nf") and w:
                assert float(v) == float(w), (name, v, w)
            else:
                assert v == w, (name, v, w)
    assert ours_cells[7][0] == "'=1+1" and ours_cells[1][4] == "True" and ours_cells[2][4] == "False"
    assert ours_cells[1][2] == "0.0"           # a column of whole numbers keeps pandas' text: read back as floats
    assert ours_cells[4][1] == "-inf" and ours_cells[2][1] == ""


def test_csv_floats_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(1)
    bits = rng.integers(0, 2 ** 63, 50_000, dtype=np.int64).view(np.float64)
    values = np.concatenate([bits[np.isfinite(bits)], rng.uniform(0, 1e6, 50_000) * 10.0 ** rng.integers(-12, 20, 50_000),
                             [5e-324, 2.0 ** 53 + 2, 1e15, 1e16, 1e-5, 0.0001, 100.0]])
    df = pd.DataFrame({"x": values, "neg": -values, "t": "文"})
    write_csv(df, tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv", encoding="utf-8-sig")
    assert back["x"].dtype == np.float64
    assert np.array_equal(back["x"].to_numpy(), values) and np.array_equal(back["neg"].to_numpy(), -values)


def test_csv_carriage_return_is_quoted(tmp_path):
    # pandas' to_csv left a lone \r unquoted (Linux line ending \n), so the row split in two on reading
    df = pd.DataFrame({"name": ["a\rb", "c"], "n": [1, 2]})
    back = pd.read_csv(write_csv(df, tmp_path / "cr.csv"), encoding="utf-8-sig")
    assert back["name"].tolist() == ["a\rb", "c"] and back["n"].tolist() == [1, 2]


def test_append_csv_continues_the_same_file(tmp_path):
    df = _frame()
    path = write_csv(df.iloc[:4], tmp_path / "parts.csv")
    append_csv(df.iloc[4:7], path)
    append_csv(df.iloc[7:], path)
    whole = pd.read_csv(write_csv(df, tmp_path / "whole.csv"), encoding="utf-8-sig")
    parts = pd.read_csv(path, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)
    assert path.read_bytes().count("项目 project".encode()) == 1 and path.read_bytes().count(b"\xef\xbb\xbf") == 1


def test_csv_falls_back_to_pandas_for_other_types(tmp_path):
    dated = pd.DataFrame({"when": pd.to_datetime(["2026-01-02", None]), "kind": pd.Categorical(["a", "=b"]),
                          "n": [1.5, 2.0]})
    write_csv(dated, tmp_path / "d.csv")
    neutralise_frame(dated).to_csv(tmp_path / "p.csv", index=False, encoding="utf-8-sig")
    assert (tmp_path / "d.csv").read_bytes() == (tmp_path / "p.csv").read_bytes()
    one = pd.DataFrame({"only": ["x", None, "=y"]})                    # pandas writes the empty cell as ""
    write_csv(one, tmp_path / "one.csv")
    assert pd.read_csv(tmp_path / "one.csv", encoding="utf-8-sig")["only"].tolist()[::2] == ["x", "'=y"]
    assert len(pd.read_csv(tmp_path / "one.csv", encoding="utf-8-sig")) == 3


def _book(path):
    return openpyxl.load_workbook(path)


def _same_cell(a, b):
    if isinstance(a.value, (int, float)) and not isinstance(a.value, bool):
        # XlsxWriter writes 16 significant digits ("%.16G"), rustpy the shortest exact form; both are numbers
        return b.data_type == a.data_type == "n" and math.isclose(a.value, b.value, rel_tol=1e-15)
    return a.value == b.value and a.data_type == b.data_type


def _xlsxwriter_book(path, sheets, notes):
    """The reference: XlsxWriter writing each cell from Python (the writer before rustpy), same neutralising,
    cutting, header and widths."""
    book = xlsxwriter.Workbook(str(path), {**tables._XLSX_OPTIONS, "constant_memory": True})
    header = book.add_format(tables._HEADER_FORMAT)
    for name, frame in sheets.items():
        key = name[:31]
        df = tables._cut_long_cells(neutralise_frame(frame), f"{path.name}: sheet {key}", notes)
        sheet = book.add_worksheet(key)
        sheet.freeze_panes(1, 0)
        for i, width in enumerate(tables._widths(df)):
            sheet.set_column(i, i, width)
        tables._write_sheet(sheet, df.astype(object) if not tables._plain(df) else df, header)
    book.close()


def test_workbook_cells_equal_xlsxwriters(tmp_path):
    df = _frame().set_index(pd.Index([7, 3, 9, 1, 0, 8, 2, 6, 5, 4]))  # an index is never written
    simple = df[["项目 project", "f", "i", "b"]]                         # only columns rustpy takes through Arrow
    df["bytes"] = pd.Series([b"ab", None] * 5, dtype=object, index=df.index)
    long = pd.DataFrame({"project": ["长项目", "𠮷项目"], "conflicts": ["长" * (EXCEL_CELL_MAX + 5), "𠮷" * 20_000],
                         "n": [1, 2]})
    sheets = {"summary": df, "a" * 40: long, "simple": simple}
    ours_notes, ref_notes = [], []
    write_excel(sheets, (tmp_path / "ours").joinpath("check.xlsx"), notes=ours_notes)
    (tmp_path / "ref").mkdir()
    _xlsxwriter_book(tmp_path / "ref" / "check.xlsx", sheets, ref_notes)     # XlsxWriter, cell by cell
    assert ours_notes == ref_notes and len(ours_notes) == 2
    ours, theirs = _book(tmp_path / "ours" / "check.xlsx"), _book(tmp_path / "ref" / "check.xlsx")
    assert ours.sheetnames == theirs.sheetnames == ["summary", "a" * 31, "simple"]
    for ws, ref_ws in zip(ours.worksheets, theirs.worksheets):
        assert ws.max_row == ref_ws.max_row and ws.max_column == ref_ws.max_column
        for row, ref_row in zip(ws.iter_rows(), ref_ws.iter_rows()):
            for a, b in zip(row, ref_row):
                assert _same_cell(a, b), (ws.title, a.coordinate, a.value, b.value)
        assert ws.freeze_panes == ref_ws.freeze_panes == "A2"
        widths = {k: d.width for k, d in ws.column_dimensions.items()}
        assert widths == {k: d.width for k, d in ref_ws.column_dimensions.items()} and widths
        for a, b in zip(ws[1], ref_ws[1]):
            assert (a.font.b, a.border.left.style, a.border.bottom.style, a.alignment.horizontal,
                    a.alignment.vertical) == (b.font.b, b.border.left.style, b.border.bottom.style,
                                              b.alignment.horizontal, b.alignment.vertical) == (
                True, "thin", "thin", "center", "top")
    summary = ours["summary"]
    header = [c.value for c in summary[1]]
    assert "__index_level_0__" not in header and len(header) == len(df.columns)
    assert [c.value for c in ours["simple"][1]] == list(simple.columns)
    col = {name: i for i, name in enumerate(header)}
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    assert [r[col["i"]] for r in rows] == list(range(-3, 7)) and isinstance(rows[0][col["i"]], float)
    assert rows[2][col["f"]] == "inf" and rows[3][col["f"]] == "-inf" and rows[1][col["f"]] is None
    assert rows[5][col["f"]] == 0.1 + 0.2 and rows[0][col["b"]] is True and rows[1][col["nb"]] is None
    assert rows[8][col["mixed"]] == "1.10" and rows[9][col["mixed"]] == "2024-01-02"   # text, as str() gives
    assert rows[0][col["bytes"]] == "b'ab'" and rows[8][0] is None      # empty text: no cell
    cut = ours["a" * 31]
    assert len(cut["B2"].value) == EXCEL_CELL_MAX
    assert len(cut["B3"].value) == EXCEL_CELL_MAX // 2 and len(cut["B3"].value.encode("utf-16-le")) // 2 == 32_766


def test_workbook_text_is_never_a_formula_link_or_number(tmp_path):
    texts = ["=1+1", "http://x", "123", "TRUE", "1e5", "2024-01-02", "mailto:a@b.c", "-5", "+86"]
    path = write_excel({"t": pd.DataFrame({"text": texts, "n": range(len(texts))})}, tmp_path / "t.xlsx")
    ws = _book(path)["t"]
    cells = [ws.cell(row=r, column=1) for r in range(2, len(texts) + 2)]
    assert [c.value for c in cells] == ["'=1+1", "http://x", "123", "TRUE", "1e5", "2024-01-02", "mailto:a@b.c",
                                        "'-5", "'+86"]
    assert all(c.data_type == "s" and c.hyperlink is None for c in cells)
    with zipfile.ZipFile(path) as z:
        sheet = next(n for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
        xml = z.read(sheet).decode("utf-8")
        assert "<f>" not in xml and "<hyperlink" not in xml
        assert not [n for n in z.namelist() if n.startswith("xl/worksheets/_rels/")]


def test_workbook_with_dates_keeps_xlsxwriter(tmp_path):
    dated = pd.DataFrame({"when": pd.to_datetime(["2026-01-02"]), "n": [1]})
    plain = pd.DataFrame({"text": ["=1+1", ""], "x": [0.5, np.inf]})
    book = _book(write_excel({"dated": dated, "plain": plain}, tmp_path / "mixed.xlsx"))
    assert book["dated"]["A2"].value == datetime.datetime(2026, 1, 2) and book["dated"]["B2"].value == 1
    assert [[c.value for c in r] for r in book["plain"].iter_rows()] == [["text", "x"], ["'=1+1", 0.5],
                                                                          [None, "inf"]]
    assert book["plain"].freeze_panes == "A2"


@pytest.fixture(scope="module")
def result():
    """A check with two layers, so that projects have several overlap rows, and polygons with holes."""
    rng = np.random.default_rng(11)
    n = 240
    x, y = rng.uniform(118.30, 118.50, n), rng.uniform(28.80, 28.95, n)
    geoms = [box(a, b, a + 0.006, b + 0.004) for a, b in zip(x, y)]
    geoms[0] = Polygon(box(118.40, 28.85, 118.45, 28.90).exterior.coords,
                       [box(118.42, 28.87, 118.43, 28.88).exterior.coords])
    geoms[1] = MultiPolygon([box(118.31, 28.81, 118.32, 28.82), box(118.33, 28.81, 118.34, 28.82)])
    projects = gpd.GeoDataFrame({"name": [f"地块{i:04d}" for i in range(n)], "project_type": "industrial"},
                                geometry=geoms, crs=4490)
    projects.loc[3, "name"] = "=HYPERLINK(\"http://x\")"
    cx, cy = rng.uniform(118.30, 118.50, 40), rng.uniform(28.80, 28.95, 40)
    red = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(40)]},
                           geometry=[box(a, b, a + 0.02, b + 0.015) for a, b in zip(cx, cy)], crs=4490)
    farm = gpd.GeoDataFrame({"name": [f"农田{i}" for i in range(40)]},
                            geometry=[box(a, b, a + 0.015, b + 0.01) for a, b in zip(cx + 0.005, cy + 0.004)], crs=4490)
    return check(projects, {"ecological_redline": red, "permanent_farmland": farm})


def test_promote_polygons_as_one_part_multipolygons():
    hole = Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 2, 2).exterior.coords])
    geoms = gpd.GeoSeries([hole, MultiPolygon([box(5, 5, 6, 6)]), None, Point(1, 1), Polygon(), box(7, 7, 8, 8),
                           LineString([(0, 0), (1, 1)])], index=[9, 8, 7, 6, 5, 4, 3], crs=4490, name="geom")
    old = [shapely.multipolygons([g]) if g is not None and g.geom_type == "Polygon" else g for g in geoms]
    new = promote_polygons(geoms)
    assert list(new.index) == list(geoms.index) and new.crs == geoms.crs and new.name == "geom"
    assert [None if g is None else g.wkb for g in new] == [None if g is None else g.wkb for g in old]
    assert [g.geom_type for g in new if g is not None] == ["MultiPolygon", "MultiPolygon", "Point", "MultiPolygon",
                                                          "MultiPolygon", "LineString"]
    already = gpd.GeoSeries([MultiPolygon([box(0, 0, 1, 1)]), None])
    assert promote_polygons(already) is already


def test_gpkg_layers_read_back_as_written(result, tmp_path):
    layers = _gpkg_layers(result)
    path = write_gpkg(layers, tmp_path / "overlaps.gpkg")
    ref = tmp_path / "ref.gpkg"                                        # the feature-by-feature writer
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, ref, layer=name, driver="GPKG", use_arrow=False)
    assert [list(x) for x in pyogrio.list_layers(path)] == [list(x) for x in pyogrio.list_layers(ref)]
    types = dict(pyogrio.list_layers(path))
    assert types["projects"] == "MultiPolygon" and types["overlap_pieces"] == "MultiPolygon"
    assert set(types) == set(layers) and len(layers["overlap_pieces"]) > 0
    for name, frame in layers.items():
        info, ref_info = pyogrio.read_info(path, layer=name), pyogrio.read_info(ref, layer=name)
        assert list(info["fields"]) == list(ref_info["fields"]) and list(info["dtypes"]) == list(ref_info["dtypes"])
        assert info["geometry_type"] == ref_info["geometry_type"] and info["features"] == len(frame)
        back = pyogrio.read_dataframe(path, layer=name)
        if isinstance(frame, gpd.GeoDataFrame):
            assert info["crs"] == "EPSG:4490"
            # GDAL makes a layer of polygons and multipolygons all multipolygons, as promote_polygons does
            expected = promote_polygons(frame.geometry).reset_index(drop=True)
            assert back.geometry.geom_equals_exact(expected, 0).all()
            back, frame = pd.DataFrame(back.drop(columns="geometry")), pd.DataFrame(frame.drop(columns="geometry"))
        pd.testing.assert_frame_equal(back, frame.reset_index(drop=True), check_dtype=False, check_exact=True)


def test_gpkg_other_types_keep_the_feature_writer(tmp_path):
    frame = gpd.GeoDataFrame({"when": pd.to_datetime(["2026-01-02", "2026-03-04"]), "kind": pd.Categorical(["a", "b"]),
                              "n": [1, 2]}, geometry=[box(0, 0, 1, 1), MultiPolygon([box(2, 2, 3, 3)])], crs=4490)
    path = write_gpkg({"dated": frame}, tmp_path / "d.gpkg")
    back = pyogrio.read_dataframe(path, layer="dated")
    assert back["when"].dt.strftime("%Y-%m-%d").tolist() == ["2026-01-02", "2026-03-04"]
    assert back["kind"].tolist() == ["a", "b"] and back["n"].tolist() == [1, 2]
    assert pyogrio.read_info(path, layer="dated")["geometry_type"] == "MultiPolygon"


def _old_details_html(result: CheckResult, shown: pd.DataFrame) -> str:
    """check_report._details_html as it was before the one-pass version (main at d3774c5), kept to compare."""
    verdicts, ov = result.verdicts, result.overlaps
    ov = ov[ov["project_no"].isin(set(shown.loc[shown["verdict"] != verdicts.none, "project_no"]))]
    parts = ["<h2>逐项说明 Project details</h2>"] if len(ov) else []
    for pno, grp in ov.groupby("project_no", sort=False):
        row = shown.loc[shown["project_no"] == pno].iloc[0]
        parts.append(f"<h3>{html.escape(str(row['project']))} — {check_report._verdict_span(row['verdict'], verdicts)}</h3>"
                     f"<p>类型 Type: {html.escape(str(row['project_type_zh']))} ({html.escape(str(row['project_type']))})；"
                     f"面积 Area: {html_value(row['area_ha'], 4)} 公顷 ha = {html_value(row['area_mu'])} 亩 mu"
                     + (f"；长度 Length: {html_value(row['length_m'], 1)} m" if pd.notna(row["length_m"]) else "") + "</p>")
        items = [check_report._detail_row(r, verdicts) for r in grp.itertuples(index=False)]
        parts.append('<table class="data"><thead><tr><th>图层 Layer</th><th>重叠 Overlap</th><th>结论 Verdict</th>'
                     "<th>依据 Rule (source)</th></tr></thead><tbody>" + "".join(items) + "</tbody></table>")
    return "".join(parts)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("max_projects", [200, 15])
def test_report_equals_the_per_project_loop(result, monkeypatch, shuffle, max_projects):
    if shuffle:  # rows of one project apart from each other: the groups keep their first-seen order
        result = dataclasses.replace(result, overlaps=result.overlaps.sample(frac=1, random_state=3))
    assert result.overlaps.groupby("project_no").size().max() == 2
    page = check_report_html(result, max_projects=max_projects)
    assert page.count("<h3>") > 5
    monkeypatch.setattr(check_report, "_details_html", _old_details_html)
    assert page == check_report_html(result, max_projects=max_projects)


def test_check_outputs_in_order_and_complete(result, tmp_path):
    files = write_check_outputs(result, tmp_path)
    assert list(files) == ["summary.csv", "overlaps.csv", "record.csv", "check.xlsx", "overlaps.gpkg", "report.html"]
    summary = pd.read_csv(files["summary.csv"], encoding="utf-8-sig")
    pd.testing.assert_series_equal(summary["area_m2"], result.summary["area_m2"], check_exact=True)
    assert summary["project"].iloc[3] == "'=HYPERLINK(\"http://x\")"
    book = pd.read_excel(files["check.xlsx"], sheet_name=None)
    assert list(book) == ["summary", "overlaps", "layers", "record"] and len(book["overlaps"]) == len(result.overlaps)
    assert np.array_equal(book["summary"].iloc[:, 0].to_numpy(), result.summary["project_no"].to_numpy())
    assert len(pyogrio.read_dataframe(files["overlaps.gpkg"], layer="projects")) == len(result.summary)


def test_streamed_workbook_equals_the_whole_one_and_leaves_no_pieces(tmp_path):
    df = _frame().reset_index(drop=True)
    df["bytes"] = pd.Series([b"ab", None] * 5, dtype=object)
    empty = pd.DataFrame({"scope": pd.Series([], dtype=object), "area_m2": pd.Series([], dtype=float)})
    whole_notes, streamed_notes = [], []
    other = df[["i", "项目 project"]].iloc[::-1]
    write_excel({"summary": df, "record": empty, "other": other}, tmp_path / "whole.xlsx", notes=whole_notes)
    book = StreamingWorkbook(tmp_path / "out" / "check.xlsx", streamed_notes)
    for start, stop in ((0, 3), (3, 4), (4, 9), (9, 10)):    # pieces of 3, 1, 5 and 1 rows, sheets interleaved
        book.append("summary", df.iloc[start:stop])
        if start == 0:
            book.append("record", empty)
        book.append("other", other.iloc[start:stop])
    book.append("summary", df.iloc[0:0])
    assert book.close() == tmp_path / "out" / "check.xlsx"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["check.xlsx"]     # the pieces are gone
    assert streamed_notes == whole_notes
    ours, whole = _book(tmp_path / "out" / "check.xlsx"), _book(tmp_path / "whole.xlsx")
    assert ours.sheetnames == whole.sheetnames == ["summary", "record", "other"]
    for ws, ref in zip(ours.worksheets, whole.worksheets):
        assert (ws.max_row, ws.max_column, ws.freeze_panes) == (ref.max_row, ref.max_column, ref.freeze_panes)
        for row, ref_row in zip(ws.iter_rows(), ref.iter_rows()):
            for a, b in zip(row, ref_row):
                assert _same_cell(a, b), (ws.title, a.coordinate, a.value, b.value)
        assert {k: d.width for k, d in ws.column_dimensions.items()} == {
            k: d.width for k, d in ref.column_dimensions.items()}
    assert [c.value for c in ours["record"][1]] == ["scope", "area_m2"] and ours["record"].max_row == 1
