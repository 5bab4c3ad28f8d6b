"""Table writers for results: CSV, Excel, GeoPackage, Markdown, and the bundle of them all. Writers never compute."""

from __future__ import annotations

import csv
import html
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import rustpy_xlsxwriter as rx
import shapely

from spatial.geo.crs import CGCS2000
from spatial.outputs.html import html_page, html_table

__all__ = ["EXCEL_CELL_MAX", "FORMULA_PREFIXES", "HEADERS", "bilingual", "markdown_table", "neutralise",
           "neutralise_frame", "promote_polygons", "write_csv", "write_excel", "write_gpkg", "write_tables",
           "append_csv", "append_gpkg", "StreamingWorkbook"]

# A cell whose text starts with one of these is run as a formula (or DDE command) by Excel, LibreOffice and
# WPS when a CSV is opened; OWASP's "CSV injection" advice: prefix a single quote, which shows as text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_MAX = 32_767  # characters in one cell; longer text is cut by Excel (and by XlsxWriter, silently)

# Project names, layer names, file names and paths come from the user's files and must stay text.
_XLSX_OPTIONS = {"nan_inf_to_errors": True, "strings_to_formulas": False, "strings_to_urls": False,
                 "strings_to_numbers": False}
# The header row of every sheet (XlsxWriter's words; :func:`_rust_header` says the same to rustpy_xlsxwriter).
_HEADER_FORMAT = {"bold": True, "border": 1, "align": "center", "valign": "top"}
# Column widths: the longest of the header and the first rows' texts, two characters of margin, within bounds.
_WIDTH_MIN, _WIDTH_MAX, _WIDTH_ROWS = 10, 60, 200

_UTF8_BOM = "\ufeff".encode("utf-8")
# pyogrio hands GDAL whole Arrow batches (OGR_L_WriteArrowBatch) from GDAL 3.8 on
_GDAL_ARROW = (3, 8, 0)


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula; anything else unchanged.

    Parameters
    ----------
    value : any
        A cell value. Numbers (a negative number too) are not text and are returned as they are.

    Returns
    -------
    any
        ``"'" + value`` for text starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return, else ``value``.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value

def _text_columns(df: pd.DataFrame) -> list[Any]:
    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)]

def _all_text(col: pd.Series) -> bool:
    """Every cell text or missing: pandas' string dtype, or an object column holding only str (Arrow, rustpy
    and GDAL take such a column as it is)."""
    dt = col.dtype
    return isinstance(dt, pd.StringDtype) or (
        dt == object and pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty"))


def _formula_cells(values: pd.Series) -> np.ndarray:
    """Where a column holds text starting with a formula prefix."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.str.startswith(FORMULA_PREFIXES, na=False).to_numpy(dtype=bool)
    # an object column: every cell's first character at C speed (astype "U1" keeps one character of each
    # cell's text), then the few candidates confirmed to be text; pandas' .str takes a Python step per cell,
    # a second for the check's tables at 100 000 projects
    cells = values.to_numpy(dtype=object)
    hit = np.zeros(len(cells), dtype=bool)
    try:
        maybe = np.flatnonzero(np.isin(cells.astype("U1"), FORMULA_PREFIXES))
    except (TypeError, ValueError):  # a cell numpy cannot turn into text: look at each
        maybe = np.arange(len(cells))
    hit[maybe] = [isinstance(cells[i], str) and cells[i].startswith(FORMULA_PREFIXES) for i in maybe]
    return hit


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell (and header) that could run as a formula prefixed by ``'``.

    Parameters
    ----------
    df : DataFrame
        Any table; numeric columns are left alone, so numbers stay numbers.

    Returns
    -------
    DataFrame
        ``df`` itself when nothing needed changing, else a neutralised copy (geometry columns untouched).
    """
    out = None
    for col in _text_columns(df):
        values = df[col]
        if isinstance(values, gpd.GeoSeries):
            continue
        hit = _formula_cells(values)
        if hit.any():
            out = df.copy() if out is None else out
            fixed = values.to_numpy(dtype=object).copy()
            fixed[hit] = ["'" + v for v in fixed[hit]]
            out[col] = fixed
    renamed = {c: neutralise(c) for c in df.columns if isinstance(c, str) and neutralise(c) != c}
    if renamed:
        out = (df.copy() if out is None else out).rename(columns=renamed)
    return df if out is None else out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV in UTF-8 with BOM, so that Excel on a Chinese Windows opens the Chinese text correctly.

    pyarrow writes it (``pyarrow.csv.write_csv``): 0.1 s for the 100 000 rows × 24 columns of a check's
    overlaps.csv against 1.3 s through pandas' ``to_csv``. Read back (``pandas.read_csv``, Excel, WPS) it gives
    the values ``to_csv`` gives: floats exactly, empty cells for NaN and None, ``True`` / ``False``, mixed
    columns as ``str`` of each value. The text differs: every text cell is quoted, and floats are written in
    pyarrow's shortest form (``0``, ``1e+10``), except in a column of whole numbers only, written as pandas does
    (``100.0``) so that it reads back as floats, not integers. Tables with a column pyarrow would write
    otherwise (dates, categories, geometries) or with one column go through ``to_csv``.

    Parameters
    ----------
    df : DataFrame
        The table; text that a spreadsheet would run as a formula is written with a leading ``'``.
    path : str or Path
        The file (folders are created).

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = neutralise_frame(df)
    table = _csv_table(df)
    if table is None:
        df.to_csv(path, index=False, encoding="utf-8-sig")
        return path
    with pa.OSFile(str(path), "wb") as sink:
        sink.write(_UTF8_BOM + _csv_header(df))
        pacsv.write_csv(table, sink, _csv_rows())
    return path


def _csv_rows() -> pacsv.WriteOptions:
    """The rows without header; pyarrow quotes every text cell ("needed" goes by type, not by content) and
    ends lines with \\n on every platform."""
    return pacsv.WriteOptions(include_header=False, quoting_style="needed")


def _csv_header(df: pd.DataFrame) -> bytes:
    """The header line as pandas writes it (names quoted only when they must be; pyarrow before 22 quotes
    every name)."""
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow([str(c) for c in df.columns])
    return line.getvalue().encode("utf-8")


def _csv_table(df: pd.DataFrame) -> pa.Table | None:
    """``df`` as an Arrow table whose CSV reads back as pandas' ``to_csv`` does; None when a column would not
    (dates, categories, geometries …) or the table has one column (pandas writes an empty cell of it as ``""``
    so the row is not blank)."""
    if isinstance(df.columns, pd.MultiIndex) or len(df.columns) < 2:
        return None
    arrays = []
    for i in range(len(df.columns)):
        array = _csv_column(df.iloc[:, i])
        if array is None:
            return None
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns])


def _csv_column(col: pd.Series) -> pa.Array | pa.ChunkedArray | None:
    """One column for :func:`_csv_table`, or None when pandas' ``to_csv`` writes its type differently."""
    dt = col.dtype
    if isinstance(dt, pd.StringDtype):
        return pa.array(col, from_pandas=True)
    if isinstance(col, gpd.GeoSeries) or isinstance(dt, pd.CategoricalDtype):
        return None
    if dt.kind == "b":  # pyarrow writes true / false
        text = np.where(col.to_numpy(dtype=bool, na_value=False), "True", "False")
        return pa.array(text, mask=col.isna().to_numpy(), type=pa.string())
    if dt.kind in "iu":
        return pa.array(col, from_pandas=True)
    if dt.kind == "f":
        values = col.to_numpy() if isinstance(dt, np.dtype) else col.to_numpy(dtype=np.float64, na_value=np.nan)
        if len(values) and np.isfinite(values).all() and (values == np.trunc(values)).all():
            # pyarrow writes 100.0 as "100", which read_csv takes for an integer column
            return pa.array(values.astype(str))
        return pa.array(values, from_pandas=True)
    if dt != object:
        return None
    if _all_text(col):
        return pa.array(col, type=pa.large_string(), from_pandas=True)
    missing = col.isna().to_numpy()
    return pa.array([None if m else str(v) for v, m in zip(col, missing)], type=pa.large_string())


_ROW_LABELS = ("project", "name", "indicator", "file", "layer")

def _cut_long_cells(df: pd.DataFrame, where: str, notes: list[str] | None) -> pd.DataFrame:
    """Text cells cut to Excel's 32 767 characters, each cut told in ``notes`` (file, sheet, row, column).

    Excel counts UTF-16 units, so a character beyond the BMP (𠮷, an emoji) counts twice; XlsxWriter cut such
    text further on its own, rustpy_xlsxwriter counts characters and would write a cell Excel refuses."""
    out = None
    label_col = next((c for c in _ROW_LABELS if c in df.columns), None)
    for col in _text_columns(df):
        try:
            lengths = df[col].str.len().fillna(0).to_numpy(dtype=np.int64)
        except (AttributeError, TypeError):  # .str refuses columns without text
            lengths = np.array([len(v) if isinstance(v, str) else 0 for v in df[col]], dtype=np.int64)
        units = {i: _utf16_units(df[col].iloc[i]) for i in np.flatnonzero(lengths > EXCEL_CELL_MAX // 2)}
        long_rows = [i for i, u in units.items() if u[-1] > EXCEL_CELL_MAX]
        if len(long_rows) == 0:
            continue
        out = df.copy() if out is None else out
        values = out[col].to_numpy(dtype=object).copy()
        for i in long_rows:
            values[i] = values[i][:np.searchsorted(units[i], EXCEL_CELL_MAX, side="right")]
            if notes is not None:
                label = str(df[label_col].iloc[i]) if label_col else ""
                label = label if len(label) <= 60 else label[:60] + "…"  # the note must not carry the long text
                who = f"{label_col} {label}" if label_col else "row"
                notes.append(f"{where}, row {i + 2:,d} ({who}), column {col}: text of {lengths[i]:,d} characters "
                             f"cut to {EXCEL_CELL_MAX:,d} (Excel's cell limit); the CSV holds it whole.")
        out[col] = values
    return df if out is None else out


def _utf16_units(text: str) -> np.ndarray:
    """UTF-16 units up to and including each character of ``text``."""
    code = np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)
    return np.cumsum(1 + (code > 0xFFFF))


def write_excel(sheets: Mapping[str, pd.DataFrame], path: str | Path, *, notes: list[str] | None = None) -> Path:
    """One workbook, one sheet per table (sheet names cut to Excel's 31 characters), header row frozen.

    rustpy_xlsxwriter (Rust's rust_xlsxwriter) writes the workbook: the summary and overlaps sheets of a
    100 000-project check in 2.4 s, against 20 s for XlsxWriter writing the cells one by one from Python
    (:func:`_write_sheet`) and 40 s for pandas' ``to_excel``. The cells are those :func:`_write_sheet` writes:
    empty for NaN and None, ``inf`` / ``-inf`` as text, booleans as booleans, numbers as numbers (every number
    as a double: an integer reads back from openpyxl as ``1.0``, from ``pandas.read_excel`` as ``1``), text as
    text, under a bold, bordered, centred header. A workbook with a sheet rustpy cannot take as it is (date,
    time or categorical columns, repeated column names, MultiIndex columns) is written by XlsxWriter, those
    sheets through ``to_excel``.

    Parameters
    ----------
    sheets : mapping of str to DataFrame
        Sheet name → table.
    path : str or Path
        The workbook.
    notes : list of str, optional
        Receives one sentence per cell cut to Excel's 32 767 characters (file, sheet, row, column).

    Returns
    -------
    Path

    Notes
    -----
    Text is never written as a formula, a link or a number (rustpy writes text cells as text; on the XlsxWriter
    path ``strings_to_formulas``, ``strings_to_urls`` and ``strings_to_numbers`` are off) and text a
    spreadsheet would run as a formula carries a leading ``'``; numbers stay numbers.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ready = [(name[:31], _cut_long_cells(neutralise_frame(df), f"{path.name}: sheet {name[:31]}", notes))
             for name, df in sheets.items()]
    if all(_rust_ready(df) for _, df in ready):
        _rust_write([(name, _rust_frame(df)) for name, df in ready], path, {name: _widths(df) for name, df in ready})
        return path
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": _XLSX_OPTIONS}) as writer:
        header = writer.book.add_format(_HEADER_FORMAT)
        for name, df in ready:
            if _plain(df):
                sheet = writer.book.add_worksheet(name)
                _write_sheet(sheet, df, header)
            else:
                df.to_excel(writer, sheet_name=name, index=False)
                sheet = writer.sheets[name]
            sheet.freeze_panes(1, 0)
            for i, width in enumerate(_widths(df)):
                sheet.set_column(i, i, width)
    return path


def _widths(df: pd.DataFrame) -> list[int]:
    """Column widths in characters: header or the longest of the first rows' texts, plus a margin of two."""
    return [min(_WIDTH_MAX, max(_WIDTH_MIN, len(str(col)) + 2,
                                *(len(str(v)) + 2 for v in df.iloc[:_WIDTH_ROWS, i])))
            for i, col in enumerate(df.columns)]


def _rust_header() -> rx.Format:
    """:data:`_HEADER_FORMAT` for rustpy_xlsxwriter."""
    return rx.Format().set_bold().set_border("thin").set_align("center").set_align("top")


def _rust_write(sheets: list[tuple[str, Any]], path: Path, widths: Mapping[str, list[int]]) -> None:
    """The workbook through rustpy_xlsxwriter: each sheet (a frame or rows as dicts) under the bold, frozen
    header, ``inf`` as text."""
    rx.write_worksheets(sheets, str(path), freeze_panes={"general": {"row": 1, "col": 0}},
                        header_format={name: _rust_header() for name, _ in sheets},
                        column_widths=dict(widths), inf_value="inf")


def _rust_ready(df: pd.DataFrame) -> bool:
    """rustpy_xlsxwriter takes the sheet: plain columns, one per (text) name."""
    return _plain(df) and pd.Index([str(c) for c in df.columns]).is_unique


def _rust_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with text column names and a fresh index (rustpy writes any other index as a column), each column
    as :func:`_rust_column` makes it."""
    return pd.DataFrame({str(c): _rust_column(df.iloc[:, i]) for i, c in enumerate(df.columns)},
                        index=pd.RangeIndex(len(df)))


def _rust_column(col: pd.Series) -> Any:
    """A column's cells as :func:`_write_sheet` writes them, in a form rustpy_xlsxwriter writes so: numpy
    numbers and booleans and text columns as they are; any other column as Python values, None for missing,
    ``str`` of what is no number, boolean or text (rustpy would write dates as dates, bytes as nothing, and
    refuses pandas' NA next to mixed columns)."""
    dt = col.dtype
    if (isinstance(dt, np.dtype) and dt.kind in "fiub") or _all_text(col):
        return col.array
    values = np.array(col.astype(object), dtype=object)
    missing = col.isna().to_numpy()
    for i in np.flatnonzero(~missing):
        v = values[i]
        if isinstance(v, (bool, np.bool_)):
            values[i] = bool(v)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            values[i] = float(v)  # rustpy writes every number as a double, as Excel keeps it
        elif not isinstance(v, str):
            values[i] = str(v)
    values[missing] = None
    return values


def _plain(df: pd.DataFrame) -> bool:
    """Only numbers, booleans, text and missing values (no dates, no categories, flat column names)."""
    if isinstance(df.columns, pd.MultiIndex):
        return False
    return all(dt.kind in "fiubO" and not isinstance(dt, pd.CategoricalDtype) for dt in df.dtypes)


def _cells(col: pd.Series) -> list[Any]:
    """A column as Python values for the sheet: None for NaN / None / NA, 'inf' / '-inf' for infinities."""
    values = np.array(col.astype(object), dtype=object)          # a writable copy (pandas views are read-only)
    missing = col.isna().to_numpy()
    if col.dtype.kind == "f":
        inf = np.isinf(col.to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            values[inf] = np.where(col.to_numpy(dtype=float, na_value=np.nan)[inf] > 0, "inf", "-inf")
    values[missing] = None
    return values.tolist()


def _write_sheet(sheet: Any, df: pd.DataFrame, header: Any, start_row: int = 0, with_header: bool = True) -> None:
    """Header and rows of ``df`` into an XlsxWriter worksheet, as ``to_excel(index=False)`` writes them; the
    rows go below the first ``start_row`` data rows (appending to a sheet: ``with_header=False``)."""
    if with_header:
        sheet.write_row(0, 0, [str(c) for c in df.columns], header)
    write_string, write_number, write_boolean = sheet.write_string, sheet.write_number, sheet.write_boolean
    cols = [_cells(df[c]) for c in df.columns]
    for r, row in enumerate(zip(*cols), start=start_row + 1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                if value:  # empty text: no cell, as rustpy_xlsxwriter writes it
                    write_string(r, c, value)
            elif isinstance(value, (bool, np.bool_)):
                write_boolean(r, c, bool(value))
            elif isinstance(value, (int, float, np.integer, np.floating)):
                if isinstance(value, (float, np.floating)) and not np.isfinite(value):
                    write_string(r, c, "inf" if value > 0 else "-inf")
                else:
                    write_number(r, c, value)
            else:
                write_string(r, c, str(value))


def write_gpkg(layers: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """A GeoPackage with one layer per entry; an existing file is replaced so reruns do not append.

    Layers go to GDAL as Arrow batches (pyogrio ``use_arrow``) when every column has a type Arrow carries as
    it is (:func:`_arrow_ready`): 2.0 s for the projects and pieces of a 100 000-project check against 2.7 s
    feature by feature, with the same layers, field types and values.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame or DataFrame
        Layer name → features; a plain DataFrame (no geometry) is written as an attribute table.
    path : str or Path
        The GeoPackage.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    for name, gdf in layers.items():
        if not isinstance(gdf, gpd.GeoDataFrame):
            _write_layer(pd.DataFrame(gdf), path, name)
            continue
        if len(gdf) == 0:
            # GeoPackage needs a geometry type; an empty layer still tells QGIS users the result was empty.
            gdf = gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs)
        _write_layer(gdf, path, name)
    return path


def _write_layer(frame: pd.DataFrame, path: Path, name: str, append: bool = False) -> None:
    """One layer: a new one with geometry through geopandas' ``to_file`` (its rule for writing the index),
    appended features and attribute tables through pyogrio; as Arrow batches when :func:`_arrow_ready`."""
    arrow = _arrow_ready(frame)
    if isinstance(frame, gpd.GeoDataFrame) and not append:
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio", use_arrow=arrow)
    else:
        pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG", append=append, use_arrow=arrow)


def _arrow_ready(frame: pd.DataFrame) -> bool:
    """GDAL takes Arrow batches and every column is a number, a boolean, text or the geometry (types that
    travel through Arrow unchanged; anything else keeps pyogrio's feature-by-feature writer)."""
    if pyogrio.__gdal_version__ < _GDAL_ARROW:
        return False
    for i in range(len(frame.columns)):
        col = frame.iloc[:, i]
        dt = col.dtype
        if isinstance(col, gpd.GeoSeries) or _all_text(col) or (isinstance(dt, np.dtype) and dt.kind in "fiub"):
            continue
        return False
    return True


def promote_polygons(geoms: gpd.GeoSeries) -> gpd.GeoSeries:
    """``geoms`` with every Polygon made a one-part MultiPolygon, so that a GeoPackage layer holds one type.

    Parameters
    ----------
    geoms : GeoSeries
        Any geometries; MultiPolygons, other types and missing geometries are kept as they are.

    Returns
    -------
    GeoSeries
        ``geoms`` itself when it holds no Polygon, else a new series (same index, name and CRS).
    """
    values = np.asarray(geoms.array, dtype=object)
    single = np.flatnonzero(shapely.get_type_id(values) == 3) if len(values) else np.zeros(0, dtype=np.intp)
    if len(single) == 0:
        return geoms
    values = values.copy()
    values[single] = shapely.multipolygons(values[single], indices=np.arange(len(single)))
    return gpd.GeoSeries(values, index=geoms.index, crs=geoms.crs, name=geoms.name)


def append_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Rows appended to a CSV written by :func:`write_csv` (same neutralised cells and writer, no second header)."""
    df = neutralise_frame(df)
    table = _csv_table(df)
    if table is None:
        df.to_csv(path, mode="a", header=False, index=False, encoding="utf-8")
        return Path(path)
    with pa.OSFile(str(path), "ab") as sink:
        pacsv.write_csv(table, sink, _csv_rows())
    return Path(path)


def append_gpkg(layers: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Features appended to the layers of a GeoPackage written by :func:`write_gpkg` (a layer it lacks is
    created); empty frames are skipped."""
    for name, gdf in layers.items():
        if len(gdf) == 0:
            continue
        frame = gdf if isinstance(gdf, gpd.GeoDataFrame) else pd.DataFrame(gdf)
        _write_layer(frame, Path(path), name, append=True)
    return Path(path)


class StreamingWorkbook:
    """A workbook written in pieces, in constant memory: each :meth:`append` adds rows below a sheet's last;
    cells are neutralised and cut as :func:`write_excel` does them, and a sheet stops at Excel's row limit with
    a note.

    The pieces wait on disk (a pickle each, in a hidden folder beside the workbook) and :meth:`close` writes
    the workbook in one pass through rustpy_xlsxwriter, row by row from them, so memory holds one piece at a
    time. XlsxWriter's constant-memory mode, cell by cell from Python, took 20 s of a 100 000-project streamed
    check; this way about 3 s. Cells are those :func:`write_excel` writes (columns rustpy cannot take as they
    are, such as dates, as their text).

    Parameters
    ----------
    path : str or Path
        The workbook.
    notes : list of str
        Receives the cut cells and the sheets that reached Excel's row limit.
    """

    ROW_LIMIT = 1_048_575

    def __init__(self, path: str | Path, notes: list[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.notes = notes
        self._parts = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.parts-", dir=self.path.parent))
        self.pieces: dict[str, list[Path]] = {}
        self.columns: dict[str, list[str]] = {}
        self.heads: dict[str, pd.DataFrame] = {}     # a sheet's first rows, which its column widths come from
        self.rows: dict[str, int] = {}

    def append(self, name: str, df: pd.DataFrame) -> None:
        """Rows of ``df`` below the sheet's last (the sheet and its header on the first call)."""
        key = name[:31]
        df = _cut_long_cells(neutralise_frame(df), f"{self.path.name}: sheet {key}", self.notes)
        if key not in self.pieces:
            self.pieces[key], self.rows[key] = [], 0
            self.columns[key], self.heads[key] = [str(c) for c in df.columns], df.head(_WIDTH_ROWS)
        elif len(self.heads[key]) < _WIDTH_ROWS and len(df):
            self.heads[key] = pd.concat([self.heads[key], df.head(_WIDTH_ROWS - len(self.heads[key]))])
        room = self.ROW_LIMIT - self.rows[key]
        if len(df) > room:
            self.notes.append(f"{self.path.name}: sheet {key} stops at Excel's {self.ROW_LIMIT:,d} rows; the CSV holds "
                              "every row")
            df = df.head(max(room, 0))
        if len(df):
            piece = self._parts / f"{list(self.pieces).index(key)}-{len(self.pieces[key])}.pkl"
            _rust_frame(df).to_pickle(piece)
            self.pieces[key].append(piece)
            self.rows[key] += len(df)

    def _rows(self, key: str) -> Any:
        """The sheet's rows as dicts, piece after piece (None for a missing value: an empty cell)."""
        for piece in self.pieces[key]:
            df = pd.read_pickle(piece).astype(object)
            yield from df.where(df.notna(), None).to_dict("records")

    def close(self) -> Path:
        """Write the workbook and remove the pieces."""
        try:
            # a sheet without rows still gets its header, from an empty frame
            data = [(key, self._rows(key) if self.rows[key] else pd.DataFrame(columns=self.columns[key]))
                    for key in self.pieces]
            _rust_write(data, self.path, {key: _widths(head) for key, head in self.heads.items()})
        finally:
            shutil.rmtree(self._parts, ignore_errors=True)
        return self.path


# Bilingual headers of every table written by the indicator commands (internal column -> header).
HEADERS: dict[str, str] = {
    "indicator_id": "指标代码 indicator id",
    "indicator": "指标 indicator",
    "unit_kind": "单位类型 unit kind",
    "unit_code": "代码 code",
    "unit": "单位 unit",
    "terrain_class": "地形类别 terrain class",
    "value": "值 value",
    "value_unit": "计量 measure",
    "area_km2": "面积 area km²",
    "unit_area_km2": "单位面积 unit area km²",
    "target_label": "目标年份 target year",
    "target": "目标 target",
    "target_value": "目标值 target value",
    "status": "状态 status",
    "margin": "差额 margin",
    "margin_unit": "差额单位 margin unit",
    "reported": "规划报告值 reported",
    "source": "来源 source",
    "source_ref": "出处 reference",
    "coverage": "覆盖 coverage %",
    "note": "说明 note",
    "kind": "图层 kind",
    "kind_label": "类型 type",
    "precedence": "优先顺序 precedence (1 = strictest)",
    "flat_km2": "归属面积 flattened area km²",
    "raw_km2": "本类合并面积 own union area km²",
    "share_of_unit": "占单位比例 share of unit %",
    "share_of_union": "占合并比例 share of union %",
    "name": "名称 name",
    "mine_status": "状态 mine status",
    "abandoned": "废弃 abandoned",
    "area_ha": "面积 area ha",
    "area_m2": "面积 area m²",
    "check": "检查项 check",
    "check_label": "检查 check",
    "layer_a": "图层A layer A",
    "layer_b": "图层B layer B",
    "pieces": "图斑数 pieces",
    "sliver_pieces": "碎片数 slivers",
    "sliver_m2": "碎片面积 sliver area m²",
    "area_mu": "面积 area 亩",
    "old_km2": "旧版面积 old km²",
    "new_km2": "新版面积 new km²",
    "added_km2": "新增 added km²",
    "removed_km2": "减少 removed km²",
    "net_km2": "净变化 net km²",
    "sliver_added_m2": "碎片新增 sliver added m²",
    "sliver_removed_m2": "碎片减少 sliver removed m²",
    "real_added_km2": "实际新增 real added km²",
    "real_removed_km2": "实际减少 real removed km²",
    "real_net_km2": "实际净变化 real net km²",
    "verdict": "结论 verdict",
    "change": "变化 change",
    "sliver": "碎片 sliver",
    "perimeter_m": "周长 perimeter m",
    "pieces_added": "新增图斑 pieces added",
    "pieces_removed": "减少图斑 pieces removed",
    "state": "修复状态 restoration state",
    "mean_width_m": "平均宽度 mean width m",
    "needing": "需治理 needing treatment",
    "restored": "已修复 restored",
    "restoring": "修复中 restoring",
    "not_restored": "未修复 not restored",
    # the project check (summary, overlaps, layers and record sheets of check.xlsx)
    "project_no": "序号 project no.",
    "project": "项目 project",
    "project_type": "项目类型 project type",
    "project_type_zh": "类型名称 type name",
    "geometry_type": "几何类型 geometry",
    "verdict_label": "结论说明 verdict label",
    "length_m": "长度 length m",
    "conflicts": "冲突 conflicts",
    "layer": "图层 layer",
    "layer_zh": "图层名称 layer name",
    "layer_en": "图层英文名 layer name (en)",
    "overlap_m2": "重叠面积 overlap m²",
    "overlap_ha": "重叠面积 overlap ha",
    "overlap_mu": "重叠面积 overlap 亩",
    "project_pct": "占项目 % of project",
    "overlap_length_m": "重叠长度 overlap length m",
    "features": "涉及图斑 features",
    "feature_count": "图斑数 feature count",
    "distance_m": "距离 distance m",
    "nearest_feature": "最近图斑 nearest feature",
    "rule": "规则 rule",
    "rule_zh": "规则条文 rule text",
    "rule_en": "规则英文 rule (en)",
    "source_title": "来源文件 source document",
    "within_m": "距离阈值 within m",
    "basis": "依据 basis",
    "rule_class": "管控类别 rule class",
    "scope": "范围 scope",
    "file": "文件 file",
    "feature": "要素 feature",
    "number": "要素序号 feature no.",
    "finding": "发现 finding",
    "reason": "原因 reason",
    "message": "说明 message",
    "area_before_m2": "修复前面积 area before m²",
    "area_after_m2": "修复后面积 area after m²",
    "attributes": "属性 attributes",
}

def bilingual(df: pd.DataFrame) -> pd.DataFrame:
    """The table with bilingual headers (指标 indicator, 单位 unit, 值 value …)."""
    return df.rename(columns={c: HEADERS.get(c, c) for c in df.columns})

def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:,.{digits}f}"
    if isinstance(v, (bool, np.bool_)):
        return "是 yes" if v else "否 no"
    return str(v)

def markdown_table(df: pd.DataFrame, *, digits: int = 2) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped, numbers rounded)."""
    def cell(v: Any) -> str:
        return _fmt(v, digits).replace("|", "\\|").replace("\n", " ")

    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(c.replace("|", "\\|") for c in cols) + " |",
             "| " + " | ".join("---:" if pd.api.types.is_numeric_dtype(df[c]) else "---" for c in df.columns) + " |"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"

def write_tables(out_dir: str | Path, stem: str, title: str, sheets: Mapping[str, pd.DataFrame],
                 layers: Mapping[str, gpd.GeoDataFrame] | None = None, *, intro: str = "",
                 notes: list[str] | None = None) -> dict[str, Path]:
    """CSV per table, one Excel workbook, Markdown and HTML of all tables, a GeoPackage of the pieces.

    Parameters
    ----------
    out_dir : str or Path
        The output folder.
    stem : str
        File stem (``indicators`` → indicators.csv, indicators_breakdown.csv, indicators.xlsx …).
    title : str
        Title of the Markdown and HTML pages.
    sheets : mapping of str to DataFrame
        Table name → table (internal column names). The CSVs keep them, stable for programs; the workbook,
        Markdown and HTML, read by people, get bilingual headers (中文 English).
    layers : mapping of str to GeoDataFrame, optional
        GeoPackage layers.
    intro : str
        Plain text under the title (escaped in the HTML page).
    notes : list of str, optional
        Remarks; cells cut to Excel's limit are added, and all are listed on the pages.

    Returns
    -------
    dict of str to Path
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes = [] if notes is None else notes
    paths: dict[str, Path] = {}
    bil = {name: bilingual(df) for name, df in sheets.items()}
    for name, df in sheets.items():
        paths[f"{name}.csv"] = write_csv(df, out / f"{stem}_{name}.csv" if name != stem else out / f"{stem}.csv")
    paths["xlsx"] = write_excel(bil, out / f"{stem}.xlsx", notes=notes)
    md = [f"# {title}\n"]
    if intro:
        md.append(intro + "\n")
    body = [f"<p>{html.escape(intro)}</p>"] if intro else []
    for name, df in bil.items():
        md.append(f"## {name}\n\n" + markdown_table(df))
        body.append(f"<h2>{html.escape(name)}</h2>" + html_table(df))
    if notes:
        md.append("## 提示 Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n")
        body.append("<h2>提示 Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    md_path = out / f"{stem}.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    paths["md"] = md_path
    html_path = out / f"{stem}.html"
    html_path.write_text(html_page(title, "\n".join(body)), encoding="utf-8")
    paths["html"] = html_path
    if layers:
        paths["gpkg"] = write_gpkg({k: _gpkg_ready(v) for k, v in layers.items()}, out / f"{stem}.gpkg")
    return paths

def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy ready for GeoPackage: CRS set, polygons promoted to multipolygons (one geometry type per layer)."""
    gdf = gdf.copy()
    if gdf.crs is None:
        gdf = gdf.set_crs(CGCS2000)
    geoms = promote_polygons(gdf.geometry)
    return gdf if geoms is gdf.geometry else gdf.set_geometry(geoms)
