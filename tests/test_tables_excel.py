"""check.xlsx and the other workbooks: the row-by-row writer gives the values pandas' to_excel gives."""

from __future__ import annotations

import numpy as np
import openpyxl
import pandas as pd

from spatial.outputs.tables import write_excel


def _values(path):
    book = openpyxl.load_workbook(path, read_only=True)
    return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in book.worksheets]


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
    assert ours == theirs
    assert ours[0][1][1] == ("风电场甲", 1234.5678901234, 1, 1, True, 1, 1e300)
    assert ours[0][1][3][:2] == (None, "inf")
    # a sheet with dates goes through to_excel
    dated = pd.DataFrame({"when": pd.to_datetime(["2026-01-02"]), "n": [1]})
    write_excel({"dated": dated}, tmp_path / "dated.xlsx")
    assert _values(tmp_path / "dated.xlsx")[0][1][1][1] == 1
