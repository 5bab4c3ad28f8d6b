"""Boundary-point coordinate tables as planners get them (界址点坐标表, Excel .xlsx or CSV) read as parcels.

One row per boundary point, columns such as::

    地块号 | 地块名称 | 圈号 | 点号 | X          | Y
    1      | 某某地块 | 1    | J1   | 3207654.321 | 39512345.678

**X is the northing and Y the easting** (with the zone prefix when present), as in the boundary-point txt
(:mod:`spatial.sources.boundary_points`).  Headers are recognised in Chinese and pinyin/English variants
(地块号/地块编号/宗地号/DKBH/parcel, 地块名称/DKMC/name, 圈号/环号/ring, 点号/界址点号/point, X/X坐标/北坐标/
northing, Y/Y坐标/东坐标/easting, 面积/area with 公顷/亩/平方米 in the header), in any row of the first 30
(title rows above the header are skipped).  Blank parcel and ring cells repeat the value above (merged
cells).  CSV text is UTF-8 (with or without BOM) or GBK/GB18030, detected; ``encoding=`` forces one.

Parcels are built exactly as the txt reader builds them, with the same functions: the axes are checked
(:func:`spatial.sources.boundary_points.orient_axes`), the CRS comes from ``crs=``, else the zone (``zone=`` or
the easting prefix) with CGCS2000 3-degree Gauss–Krüger (:func:`spatial.sources.boundary_points.resolve_crs`, never
the longitude), and the rings of each parcel (by 圈号: ring 1 outer, others holes or parts) are assembled by
:func:`spatial.sources.boundary_points.parcel_geometry`.  The closing point is optional.  A table names no datum:
CGCS2000 is assumed (and said).
"""

from __future__ import annotations

import csv
import io as _io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np

from spatial.errors import InputError
from spatial.geo.area import area_m2 as official_area
from spatial.sources.boundary_points import (
    COLUMNS,
    M2_PER_HA,
    BoundaryPointError,
    BoundaryPoints,
    Note,
    area_mismatches,
    decode_text,
    orient_axes,
    parcel_geometry,
    resolve_crs,
)

__all__ = ["CoordinateTable", "load_coordinate_table", "read_coordinate_table", "is_coordinate_table",
           "HEADER_ALIASES", "TABLE_DRIVER"]

TABLE_DRIVER = "coordinate table (界址点坐标表)"
HEADER_SCAN_ROWS = 30   # the header row is looked for among the first rows (title rows come first)
DATUM = "2000国家大地坐标系"

# normalised header (NFKC, lower case, no spaces, bracketed notes removed) -> field
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "parcel_no": ("地块号", "地块编号", "地块代码", "宗地号", "宗地编号", "宗地代码", "图斑编号", "编号", "dkh", "dkbh",
                  "dikuaihao", "dikuaibianhao", "parcel", "parcelno", "parcel_no", "parcelid", "parcel_id", "plot",
                  "plotno", "plot_no"),
    "name": ("地块名称", "宗地名称", "项目名称", "名称", "dkmc", "dikuaimingcheng", "name", "parcelname", "parcel_name"),
    "ring": ("圈号", "环号", "圈", "环", "quanhao", "qh", "ring", "ringno", "ring_no", "ringid", "ring_id"),
    "point": ("点号", "界址点号", "界址点", "点名", "dianhao", "dh", "jzdh", "point", "pointno", "point_no", "pt",
              "ptno", "pointid", "point_id"),
    "x": ("x", "x坐标", "坐标x", "北坐标", "纵坐标", "北", "north", "northing", "x_north"),
    "y": ("y", "y坐标", "坐标y", "东坐标", "横坐标", "东", "east", "easting", "y_east"),
    "area": ("面积", "地块面积", "宗地面积", "area", "mianji"),
    "land_use": ("地块用途", "用途", "地类", "土地用途", "landuse", "land_use", "yongtu"),
}
_ALIAS_FIELD = {alias: fld for fld, aliases in HEADER_ALIASES.items() for alias in aliases}
_AREA_UNITS = (("亩", "mu", 10_000.0 / 15.0), ("平方米", "m2", 1.0), ("m2", "m2", 1.0), ("m²", "m2", 1.0),
               ("公顷", "ha", M2_PER_HA), ("ha", "ha", M2_PER_HA))


@dataclass
class CoordinateTable(BoundaryPoints):
    """Parcels of a coordinate table, with the sheet, header row and column mapping used."""

    sheet: str | None = None
    header_row: int = 0                        # 1-based row (Excel) or line (CSV) of the header
    columns: dict[str, str] = field(default_factory=dict)   # field -> header as written


# ---------------------------------------------------------------------------------------- raw rows

def _norm(text: Any) -> str:
    t = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().lower()
    t = re.sub(r"[(\[（【].*?[)\]）】]", "", t)    # "X(北)", "面积（公顷）": notes in brackets
    return re.sub(r"[\s/]+", "", t)


def _csv_rows(path: Path, encoding: str | None) -> tuple[list[list[Any]], str, str]:
    try:
        text, enc, how = decode_text(path.read_bytes(), encoding)
    except BoundaryPointError as exc:
        raise InputError(f"{path}: {exc}") from None
    sample = "\n".join(text.splitlines()[:HEADER_SCAN_ROWS])
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",\t;|，")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(_io.StringIO(text), dialect)], enc, how


def _xlsx_sheets(path: Path) -> dict[str, list[list[Any]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InputError(f"{path}: cannot be read as an Excel workbook ({exc}); save it again as .xlsx") from None
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book.worksheets}
    finally:
        book.close()


def _xls_sheets(path: Path) -> dict[str, list[list[Any]]]:
    import pandas as pd

    try:
        frames = pd.read_excel(path, sheet_name=None, header=None)
    except ImportError:
        raise InputError(f"{path}: reading old .xls workbooks needs the xlrd package; save the table as .xlsx or "
                         f"CSV (or pip install xlrd)") from None
    return {name: df.astype(object).where(df.notna(), None).values.tolist() for name, df in frames.items()}


def _sheets(path: Path, encoding: str | None) -> tuple[dict[str, list[list[Any]]], str | None, str]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows, enc, how = _csv_rows(path, encoding)
        return {"": rows}, enc, how
    sheets = _xls_sheets(path) if suffix == ".xls" else _xlsx_sheets(path)
    return sheets, None, "Excel workbook (text is Unicode)"


def _header(rows: list[list[Any]]) -> tuple[int, dict[str, int], dict[str, str]] | None:
    """(0-based header row, field -> column, field -> header text) of the first row naming X and Y."""
    for r, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        cols: dict[str, int] = {}
        texts: dict[str, str] = {}
        for c, cell in enumerate(row):
            fld = _ALIAS_FIELD.get(_norm(cell))
            if fld is not None and fld not in cols:
                cols[fld], texts[fld] = c, str(cell).strip()
        if "x" in cols and "y" in cols:
            return r, cols, texts
    return None


def is_coordinate_table(path: str | Path, sheet: str | None = None, encoding: str | None = None) -> bool:
    """Whether a .xlsx/.xls/.csv file holds a coordinate table (a header row with X and Y columns)."""
    path = Path(path)
    if path.suffix.lower() == ".xls":
        return True  # only the table reader opens old workbooks (and says what it needs)
    try:
        sheets, _, _ = _sheets(path, encoding)
    except (InputError, OSError):
        return False
    chosen = [sheets[sheet]] if sheet in sheets else list(sheets.values()) if sheet is None else []
    return any(_header(rows) is not None for rows in chosen)


# ---------------------------------------------------------------------------------------- cells

def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return unicodedata.normalize("NFKC", str(v)).strip()


def _number(v: Any, src: str, where: str, column: str) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        value = float(v)
    else:
        try:
            value = float(re.sub(r"[\s_]", "", unicodedata.normalize("NFKC", str(v))))
        except ValueError:
            value = math.nan
    if not math.isfinite(value):
        raise InputError(f"{src} {where}: {column} = {v!r} is not a number; write the coordinate in metres "
                         f"(X = northing, Y = easting), e.g. 3207654.321")
    return value


def _area_unit(header: str) -> float:
    for marker, _, m2 in _AREA_UNITS:
        if marker in header.lower():
            return m2
    return M2_PER_HA  # the boundary-point convention: 公顷


@dataclass
class _Point:
    row: int          # 1-based row / line
    parcel: str       # the grouping key: the parcel number, else the name
    parcel_no: str
    name: str
    ring: str
    x: float
    y: float
    area: str
    land_use: str


def _points(rows: list[list[Any]], h: int, cols: dict[str, int], texts: dict[str, str], src: str,
            row_word: str) -> list[_Point]:
    def cell(row: list[Any], fld: str) -> Any:
        c = cols.get(fld)
        return row[c] if c is not None and c < len(row) else None

    out: list[_Point] = []
    last = {"parcel_no": "", "name": "", "ring": "1"}
    for r in range(h + 1, len(rows)):
        row = rows[r]
        if all(_blank(v) for v in row):
            continue
        for fld in last:  # merged cells: a blank parcel or ring cell repeats the value above
            if fld in cols and not _blank(cell(row, fld)):
                last[fld] = _text(cell(row, fld))
        x, y = cell(row, "x"), cell(row, "y")
        if _blank(x) and _blank(y):
            continue  # a subtotal or remark row
        where = f"{row_word} {r + 1}"
        out.append(_Point(r + 1, last["parcel_no"] or last["name"], last["parcel_no"], last["name"], last["ring"],
                          _number(x, src, where, texts["x"]), _number(y, src, where, texts["y"]),
                          "" if _blank(cell(row, "area")) else _text(cell(row, "area")),
                          "" if _blank(cell(row, "land_use")) else _text(cell(row, "land_use"))))
    if not out:
        raise InputError(f"{src}: the table has a header ({row_word} {h + 1}) but no point rows below it; add "
                         f"rows with X (northing) and Y (easting)")
    return out


# ---------------------------------------------------------------------------------------- parcels

def _groups(points: list[_Point]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(points):
        groups.setdefault(p.parcel, []).append(i)
    return groups


def _closed_rings(idx: list[int], points: list[_Point], east: np.ndarray, north: np.ndarray, src: str,
                  label: str, row_word: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The parcel's points ring by ring, each ring closed (the closing point is optional in a table)."""
    rings: dict[str, list[int]] = {}
    for i in idx:
        rings.setdefault(points[i].ring, []).append(i)
    ids: list[str] = []
    es: list[float] = []
    ns: list[float] = []
    for ring, members in rings.items():
        coords = [(float(east[i]), float(north[i])) for i in members]
        if len(set(coords)) < 3:
            rows = ", ".join(str(points[i].row) for i in members)
            raise InputError(f"{src}: parcel {label} ring (圈号) {ring} has fewer than 3 distinct points "
                             f"({row_word}s {rows}); a boundary needs at least 3: add the missing points or "
                             f"fix the 圈号 column")
        if coords[0] != coords[-1]:
            coords.append(coords[0])
        ids += [ring] * len(coords)
        es += [c[0] for c in coords]
        ns += [c[1] for c in coords]
    return ids, np.asarray(es), np.asarray(ns)


def _frame(points: list[_Point], east: np.ndarray, north: np.ndarray, crs: Any, src: str, area_m2: float,
           row_word: str, notes: list[Note]) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    for number, (key, idx) in enumerate(_groups(points).items(), 1):
        first = points[idx[0]]
        name = first.name or None
        label = f"#{number} {name or key}".strip()
        ids, es, ns = _closed_rings(idx, points, east, north, src, label, row_word)
        geoms.append(parcel_geometry(ids, es, ns, "面", label, notes, number))
        area_text = next((points[i].area for i in idx if points[i].area), "")
        declared = math.nan
        if area_text:
            try:
                declared = float(area_text) * area_m2 / M2_PER_HA
            except ValueError:
                notes.append(Note("bad_area", f"{label}: area {area_text!r} is not a number", parcel=label,
                                  number=number))
        rows.append({"name": name, "parcel_no": first.parcel_no or None,
                     "declared_area_ha": declared, "point_count": len(idx),
                     "land_use": next((points[i].land_use for i in idx if points[i].land_use), None),
                     "shape_kind": "面", "sheet": None, "remark": None})
    gdf = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=crs))
    gdf["computed_area_ha"] = official_area(gdf, "official") / M2_PER_HA
    return gdf[[*COLUMNS, "geometry"]]


def _choose_sheet(sheets: dict[str, list[list[Any]]], sheet: str | None,
                  src: str) -> tuple[str, list[list[Any]], tuple[int, dict[str, int], dict[str, str]]]:
    if sheet is not None and sheet not in sheets:
        raise InputError(f"{src}: no sheet {sheet!r}; the workbook has {', '.join(sheets)}")
    for name in [sheet] if sheet is not None else list(sheets):
        found = _header(sheets[name])
        if found is not None:
            return name, sheets[name], found
    first = next(iter(sheets.values()), [])
    seen = ", ".join(str(c) for c in (first[0] if first else []) if not _blank(c)) or "nothing"
    raise InputError(f"{src}: no header row with X and Y columns in the first {HEADER_SCAN_ROWS} rows (first row: "
                     f"{seen}); a coordinate table needs columns such as 地块号, 圈号, 点号, X (northing), "
                     f"Y (easting): add or rename the header")


def load_coordinate_table(path: str | Path, sheet: str | None = None, *, encoding: str | None = None,
                          crs: Any = None, zone: int | None = None) -> CoordinateTable:
    """Read a coordinate table with everything learnt on the way (sheet, header, CRS source, notes).

    Parameters
    ----------
    path
        A .xlsx (.xlsm, .xls with xlrd) workbook or a .csv file.
    sheet
        The worksheet (default: the first with a header row naming X and Y).
    encoding
        CSV text encoding (default: UTF-8, else GB18030/GBK, detected).
    crs
        The CRS of the coordinates, overriding everything else.
    zone
        The Gauss–Krüger zone (带号) when the eastings carry no prefix (3-degree zones, CGCS2000).

    Returns
    -------
    CoordinateTable
        ``gdf`` with the columns of :func:`spatial.sources.boundary_points.read_boundary_points`.

    Raises
    ------
    InputError
        Naming the file, the row and the fix: no header, a non-number, a ring of fewer than 3 points, an
        unknown zone.
    """
    path = Path(path)
    src = str(path)
    sheets, enc, how = _sheets(path, encoding)
    name, rows, (h, cols, texts) = _choose_sheet(sheets, sheet, src)
    row_word = "line" if path.suffix.lower() == ".csv" else "row"
    if name:
        src = f"{src} sheet {name!r}"
    points = _points(rows, h, cols, texts, src, row_word)
    notes: list[Note] = []
    if "parcel_no" not in cols and "name" not in cols:
        notes.append(Note("one_parcel", f"no parcel column (地块号 / 地块名称): all {len(points)} points read as "
                                        f"one parcel"))
    east, north, swapped = orient_axes([p.x for p in points], [p.y for p in points])
    if swapped:
        notes.append(Note("axes_swapped", "X holds the eastings and Y the northings (X should be the northing): "
                                          "read with the axes exchanged"))
    header = {"坐标系": DATUM, **({"带号": str(int(zone))} if zone is not None else {})}
    try:
        crs_obj, crs_source = resolve_crs(path, src, header, east, north, crs, notes,
                                          zone_fix="pass the zone (带号), e.g. zone=39, put a .prj beside the file")
    except BoundaryPointError as exc:
        raise InputError(str(exc)) from None
    if crs is None:
        crs_source += "; CGCS2000 assumed (a table states no datum)"
    gdf = _frame(points, east, north, crs_obj, src, _area_unit(texts.get("area", "")), row_word, notes)
    notes.extend(area_mismatches(gdf))
    return CoordinateTable(gdf=gdf, header=header, encoding=enc, encoding_source=how, crs_source=crs_source,
                           notes=notes, sheet=name or None, header_row=h + 1,
                           columns={k: texts[k] for k in cols})


def read_coordinate_table(path: str | Path, sheet: str | None = None, *, encoding: str | None = None,
                          crs: Any = None, zone: int | None = None) -> gpd.GeoDataFrame:
    """Parcels of a coordinate table as a GeoDataFrame in its Gauss–Krüger CRS (see :func:`load_coordinate_table`)."""
    return load_coordinate_table(path, sheet, encoding=encoding, crs=crs, zone=zone).gdf

