"""Coordinate tables (界址点坐标表, Excel / CSV) read as parcels, equal to the same boundary-point txt."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from openpyxl import Workbook
from shapely.geometry import Polygon

from factories import two_parcels
from spatial.sources.boundary_points import write_boundary_points
from spatial.sources.coordinate_table import is_coordinate_table, load_coordinate_table
from spatial.errors import InputError
from spatial.sources.files import read_layer


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    """Two parcels in CGCS2000 GK zone 39 with the zone prefix (EPSG:4527), one with a hole."""
    polys = [Polygon(p["rings"][0], p["rings"][1:]) for p in two_parcels(4527)]
    return gpd.GeoDataFrame({"name": ["天马街道风电场升压站", "辉埠镇钙产业基地"], "parcel_no": ["DK-1", "DK-2"]},
                            geometry=polys, crs=4527)


def table_rows(gdf: gpd.GeoDataFrame, *, close: bool, offset_e: float = 0.0) -> list[list]:
    """地块编号, 地块名称, 圈号, 点号, X (northing), Y (easting); parcel cells only on a parcel's first row."""
    rows = []
    for no, name, geom in zip(gdf["parcel_no"], gdf["name"], gdf.geometry):
        point, first = 0, True
        for ring_no, ring in enumerate([geom.exterior, *geom.interiors], 1):
            coords = np.round(shapely.get_coordinates(ring), 3)
            for e, n in coords if close else coords[:-1]:
                point += 1
                rows.append([no if first else None, name if first else None, ring_no, f"J{point}",
                             float(n), float(e) - offset_e])
                first = False
    return rows


def write_xlsx(path, header, rows, *, title=True):
    book = Workbook()
    sheet = book.active
    sheet.title = "界址点"
    if title:
        sheet.append(["常山县建设用地界址点坐标表"])
        sheet.append([])
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    book.save(path)
    return path


def write_csv(path, header, rows, encoding):
    lines = [",".join(header)] + [",".join("" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
                                           for v in r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def assert_same_parcels(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame) -> None:
    assert a.crs == b.crs
    assert len(a) == len(b)
    for ga, gb in zip(a.geometry, b.geometry):
        np.testing.assert_array_equal(shapely.get_coordinates(ga), shapely.get_coordinates(gb))
        assert shapely.get_num_interior_rings(ga) == shapely.get_num_interior_rings(gb)
    assert list(a["name"]) == list(b["name"])
    np.testing.assert_allclose(a["computed_area_ha"], b["computed_area_ha"], rtol=1e-12)


@pytest.fixture
def txt(tmp_path, parcels):
    path = write_boundary_points(parcels, tmp_path / "parcels.txt", zone=39, with_prefix=True)
    return read_layer(path)


def test_excel_equals_the_boundary_point_txt(tmp_path, parcels, txt):
    xlsx = write_xlsx(tmp_path / "坐标表.xlsx", ["地块编号", "地块名称", "圈号", "点号", "X坐标(m)", "Y坐标(m)"],
                      table_rows(parcels, close=False))
    assert is_coordinate_table(xlsx)
    got = read_layer(xlsx)
    assert got.driver.startswith("coordinate table") and got.layer == "界址点"
    assert got.gdf.crs.to_epsg() == 4527 == txt.gdf.crs.to_epsg()
    assert got.crs_source.startswith("easting prefix 39") and "CGCS2000 assumed" in got.crs_source
    assert_same_parcels(got.gdf, txt.gdf)
    assert list(got.gdf["parcel_no"]) == ["DK-1", "DK-2"]
    assert not got.repairs   # the closing point is optional in a table: nothing to repair


def test_gbk_csv_with_pinyin_headers_and_closing_points(tmp_path, parcels, txt):
    csv = write_csv(tmp_path / "zuobiao.csv", ["DKBH", "DKMC", "QH", "DH", "X", "Y"],
                    table_rows(parcels, close=True), "gbk")
    with pytest.raises(UnicodeDecodeError):
        csv.read_bytes().decode("utf-8")
    table = load_coordinate_table(csv)
    assert table.encoding == "gb18030" and table.header_row == 1
    assert table.columns["x"] == "X" and table.columns["ring"] == "QH"
    assert_same_parcels(table.gdf, txt.gdf)
    assert_same_parcels(read_layer(csv).gdf, txt.gdf)


def test_eastings_without_prefix_need_the_zone(tmp_path, parcels, txt):
    rows = table_rows(parcels, close=False, offset_e=39_000_000)
    csv = write_csv(tmp_path / "no_prefix.csv", ["地块号", "地块名称", "圈号", "点号", "X", "Y"], rows, "utf-8")
    with pytest.raises(InputError, match=r"no_prefix\.csv.*zone.*unknown.*zone=39.*--crs EPSG:4548"):
        read_layer(csv)
    table = load_coordinate_table(csv, zone=39)
    assert table.gdf.crs.to_epsg() == 4548
    np.testing.assert_allclose(table.gdf["computed_area_ha"], txt.gdf["computed_area_ha"], rtol=1e-9)
    assert read_layer(csv, crs="EPSG:4548").gdf.crs.to_epsg() == 4548


def test_errors_name_file_row_and_fix(tmp_path, parcels):
    header = ["地块号", "地块名称", "圈号", "点号", "X", "Y"]
    rows = table_rows(parcels, close=False)
    bad = [list(r) for r in rows]
    bad[2][5] = "39五一二"
    path = write_xlsx(tmp_path / "bad.xlsx", header, bad)
    # title row, blank row, header: the third point is on row 6
    with pytest.raises(InputError, match=r"bad\.xlsx sheet '界址点' row 6: Y = '39五一二' is not a number; write"):
        read_layer(path)
    short = [r for r in rows if not (r[2] == 2)] + [["DK-1", None, 2, "K1", rows[0][4] + 60, rows[0][5] + 120],
                                                    [None, None, 2, "K2", rows[0][4] + 70, rows[0][5] + 130]]
    path = write_xlsx(tmp_path / "short.xlsx", header, short, title=False)
    with pytest.raises(InputError, match=r"short\.xlsx.*parcel #1 .*ring \(圈号\) 2 has fewer than 3 distinct points "
                                         r"\(rows \d+, \d+\).*add the missing points"):
        read_layer(path)
    path = write_xlsx(tmp_path / "no_x.xlsx", ["地块号", "点号", "东坐标"], [["1", "J1", 39512345.0]])
    assert not is_coordinate_table(path)
    with pytest.raises(InputError, match=r"no header row with X and Y columns.*地块号, 圈号, 点号, X \(northing\)"):
        load_coordinate_table(path)
    with pytest.raises(InputError, match="no sheet 'nope'; the workbook has 界址点"):
        load_coordinate_table(write_xlsx(tmp_path / "ok.xlsx", header, rows), "nope")


def test_a_csv_that_is_not_a_coordinate_table_goes_to_gdal(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("名称,面积\n甲,1\n", encoding="utf-8")
    assert not is_coordinate_table(path)
    with pytest.raises(InputError, match="no geometry column"):
        read_layer(path)
