"""The fast writers give what the writers before them gave: CSVs through pyarrow read back as pandas' to_csv
wrote them, workbooks through rustpy_xlsxwriter hold the cells XlsxWriter wrote, GeoPackage layers written as
Arrow batches read back as the frames written, and report.html's project details built in one pass are the
page the per-project loop built. Every file is read back and compared."""

from __future__ import annotations

import datetime
import decimal
import math
import zipfile

import numpy as np
import openpyxl
import pandas as pd

from spatial.outputs.tables import (EXCEL_CELL_MAX, StreamingWorkbook, write_excel)

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


def _book(path):
    return openpyxl.load_workbook(path)


def _same_cell(a, b):
    if isinstance(a.value, (int, float)) and not isinstance(a.value, bool):
        # XlsxWriter writes 16 significant digits ("%.16G"), rustpy the shortest exact form; both are numbers
        return b.data_type == a.data_type == "n" and math.isclose(a.value, b.value, rel_tol=1e-15)
    return a.value == b.value and a.data_type == b.data_type


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
    ref = StreamingWorkbook(tmp_path / "ref" / "check.xlsx", ref_notes)     # XlsxWriter, cell by cell
    for name, frame in sheets.items():
        ref.append(name, frame)
    ref.close()
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
