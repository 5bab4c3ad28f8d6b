"""check.xlsx and the other workbooks: the writers give the values pandas' to_excel gives."""

from __future__ import annotations

import math

import numpy as np
import openpyxl
import pandas as pd

from spatial.outputs.tables import write_excel


def _values(path):
    book = openpyxl.load_workbook(path, read_only=True)
    return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in book.worksheets]


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def test_write_excel_equals_pandas_to_excel(tmp_path):
    df = pd.DataFrame({
        "project": ["风电场甲", "远处地块", None, "绿道"],
        "area_m2": [1234.5678901234, np.nan, np.inf, -np.inf],
        "count": np.array([1, 2, 3, 4], dtype=np.int64),
        "nullable": pd.array([1, None, 3, 4], dtype="Int64"),
        "flag": [True, False, True, False],
        "mixed": [1, "二", 3.5, None],
        "big": [1e300, 0.1 + 0.2, -0.0, 2 ** 53 + 1],
    })
    write_excel({"summary": df, "a" * 40: df.head(1)}, tmp_path / "ours.xlsx")
    with pd.ExcelWriter(tmp_path / "pandas.xlsx", engine="xlsxwriter",
                        engine_kwargs={"options": {"nan_inf_to_errors": True}}) as writer:
        df.to_excel(writer, sheet_name="summary", index=False)
        df.head(1).to_excel(writer, sheet_name="a" * 31, index=False)
    ours, theirs = _values(tmp_path / "ours.xlsx"), _values(tmp_path / "pandas.xlsx")
    assert [(name, len(rows)) for name, rows in ours] == [(name, len(rows)) for name, rows in theirs]
    for (_, rows), (_, their_rows) in zip(ours, theirs):
        for row, their_row in zip(rows, their_rows):
            assert len(row) == len(their_row)
            for v, w in zip(row, their_row):
                if _number(v) and _number(w):
                    # XlsxWriter writes 16 significant digits ("%.16G"); rustpy the shortest exact form
                    assert math.isclose(v, w, rel_tol=1e-15), (v, w)
                else:
                    assert v == w and type(v) is type(w), (v, w)
    # numbers are doubles in the file: an integer comes back from openpyxl as 1.0 (pandas.read_excel makes it 1)
    assert ours[0][1][1] == ("风电场甲", 1234.5678901234, 1.0, 1.0, True, 1.0, 1e300)
    assert type(ours[0][1][1][2]) is float and type(theirs[0][1][1][2]) is int
    assert ours[0][1][2][6] == 0.1 + 0.2                          # exact, where XlsxWriter gave 0.3
    assert ours[0][1][3][:2] == (None, "inf") and ours[0][1][4][1] == "-inf"
    back = pd.read_excel(tmp_path / "ours.xlsx", sheet_name="summary")
    assert back["count"].tolist() == [1, 2, 3, 4] and back["count"].dtype == np.int64
    # a sheet with dates goes through to_excel
    dated = pd.DataFrame({"when": pd.to_datetime(["2026-01-02"]), "n": [1]})
    write_excel({"dated": dated}, tmp_path / "dated.xlsx")
    assert _values(tmp_path / "dated.xlsx")[0][1][1][1] == 1
