"""Farmland occupation–compensation balance (spatial.analysis.balance) against independent pyproj.Geod figures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import box

from factories import geod_area, write_gpkg
from spatial.analysis.balance import balance
from spatial.outputs.compliance_report import write_balance_outputs
from spatial.errors import InputError

GEOD = Geod(ellps="GRS80")
HOSTILE = "<script>alert(1)</script>"

# occupied: two overlapping parcels (the overlap counts once in the area)
O1, O2 = box(118.500, 28.900, 118.504, 28.903), box(118.503, 28.900, 118.506, 28.903)
# compensated: A and B share an edge (one patch); C and D meet at a corner only (one patch)
A, B = box(118.600, 28.900, 118.603, 28.902), box(118.603, 28.900, 118.606, 28.902)
C, D = box(118.700, 28.950, 118.704, 28.953), box(118.704, 28.953, 118.706, 28.955)


def layer(geoms, grades, names=None) -> gpd.GeoDataFrame:
    names = names or [f"地块{i + 1}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"name": names, "ZLDJ": grades}, geometry=list(geoms), crs=4490)


def plain_geod(geom) -> float:
    """pyproj.Geod on the geometry as it is (geodesic edges, no densifying)."""
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def expected_grade(geoms, grades) -> float:
    w = np.array([geod_area(g) for g in geoms])
    return float(np.sum(np.asarray(grades, float) * w) / w.sum())


@pytest.fixture
def occupied() -> gpd.GeoDataFrame:
    return layer([O1, O2], [3, 5])


def test_balanced_case_equals_independent_geod(occupied):
    comp = layer([A, B, C, D], [2, 4, 3, 3])
    res = balance(occupied, comp)
    d = res.to_dict()
    occ_union, comp_union = shapely.union_all([O1, O2]), shapely.union_all([A, B, C, D])
    # official areas have edges straight in (L, B): the densified geodesic area is the same polygon
    assert d["occupied_m2"] == pytest.approx(geod_area(occ_union), rel=1e-9)
    assert d["compensated_m2"] == pytest.approx(geod_area(comp_union), rel=1e-9)
    assert d["occupied_m2"] == pytest.approx(plain_geod(occ_union), rel=1e-6)
    assert d["occupied_ha"] == pytest.approx(d["occupied_m2"] / 1e4)
    assert d["compensated_mu"] == pytest.approx(d["compensated_m2"] * 15 / 1e4)
    # each parcel's whole area weights its grade, overlaps included
    assert d["occupied_grade"] == pytest.approx(expected_grade([O1, O2], [3, 5]), rel=1e-9)
    assert d["compensated_grade"] == pytest.approx(expected_grade([A, B, C, D], [2, 4, 3, 3]), rel=1e-9)
    assert d["occupied_overlap_m2"] == pytest.approx(geod_area(O1.intersection(O2)), rel=1e-6)
    assert d["compensated_overlap_m2"] < 1e-3
    # contiguity: edge neighbours and corner neighbours each form one patch
    assert d["patches"] == 2
    patch_areas = sorted([geod_area(shapely.union_all([A, B])), geod_area(shapely.union_all([C, D]))])
    assert d["largest_patch_m2"] == pytest.approx(patch_areas[1], rel=1e-9)
    assert d["mean_patch_m2"] == pytest.approx(np.mean(patch_areas), rel=1e-9)
    assert d["area_ok"] and d["grade_ok"] and d["balanced"] is True
    assert res.notes and "overlap" in res.notes[0]   # the occupied side overlaps, and it is said


def test_geodesic_method_agrees(occupied):
    comp = layer([A, B, C, D], [2, 4, 3, 3])
    off, geo = balance(occupied, comp).to_dict(), balance(occupied, comp, method="geodesic").to_dict()
    assert geo["compensated_m2"] == pytest.approx(plain_geod(shapely.union_all([A, B, C, D])), rel=1e-9)
    for key in ("occupied_m2", "compensated_m2", "compensated_grade", "largest_patch_m2"):
        assert geo[key] == pytest.approx(off[key], rel=1e-6)


def test_not_balanced_by_area(occupied):
    res = balance(occupied, layer([A, B], [2, 4]))
    d = res.to_dict()
    assert d["compensated_m2"] == pytest.approx(geod_area(shapely.union_all([A, B])), rel=1e-9)
    assert d["compensated_m2"] < d["occupied_m2"]
    assert d["grade_ok"] and not d["area_ok"] and d["balanced"] is False
    assert d["patches"] == 1


def test_not_balanced_by_grade_and_the_convention_flips_it(occupied):
    comp = layer([A, B, C, D], [6, 6, 6, 6])
    low = balance(occupied, comp).to_dict()
    assert low["area_ok"] and not low["grade_ok"] and not low["balanced"]
    # with "higher is better" the same grades are an improvement
    high = balance(occupied, comp, best_grade="high").to_dict()
    assert high["grade_ok"] and high["balanced"]
    # and a balanced case under "1 is best" fails under the other convention
    good = layer([A, B, C, D], [2, 4, 3, 3])
    assert balance(occupied, good).balanced and not balance(occupied, good, best_grade="high").balanced


def test_paths_projected_crs_and_grade_field(tmp_path, occupied):
    comp = layer([A, B, C, D], [2, 4, 3, 3]).rename(columns={"ZLDJ": "等别"})
    occ_path = write_gpkg(tmp_path / "occ.gpkg", {"occ": occupied.rename(columns={"ZLDJ": "等别"}).to_crs(4527)})
    comp_path = write_gpkg(tmp_path / "comp.gpkg", {"comp": comp})
    res = balance(occ_path, comp_path, grade_field="等别").to_dict()
    ref = balance(occupied, layer([A, B, C, D], [2, 4, 3, 3])).to_dict()
    # in GK the edges are straight in the plane, no longer in (L, B): the area moves by < 1e-6
    assert res["occupied_m2"] == pytest.approx(ref["occupied_m2"], rel=1e-6)
    assert res["compensated_m2"] == pytest.approx(ref["compensated_m2"], rel=1e-12)
    assert res["settings"]["occupied"].endswith("occ.gpkg")


def test_missing_and_non_numeric_grade(tmp_path, occupied):
    path = write_gpkg(tmp_path / "comp.gpkg", {"comp": layer([A, B], [2, 4]).drop(columns="ZLDJ")})
    with pytest.raises(InputError, match=r"comp\.gpkg.*no quality-grade field 'ZLDJ'.*--grade-field"):
        balance(occupied, path)
    bad = layer([A, B], ["二等", None], names=["新垦地块甲", "新垦地块乙"])
    bad_path = write_gpkg(tmp_path / "bad.gpkg", {"bad": bad})
    with pytest.raises(InputError, match=r"bad\.gpkg.*#1 新垦地块甲: 二等.*#2 新垦地块乙: \(empty\).*Fill in"):
        balance(occupied, bad_path)


def test_outputs_reread_and_html_escaped(tmp_path, occupied):
    comp = layer([A, B, C, D], [2, 4, 3, 3], names=[HOSTILE, "乙", "丙", "丁"])
    res = balance(occupied, comp)
    paths = write_balance_outputs(res, tmp_path / "out")
    sides = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert list(sides["side"]) == ["占用耕地 occupied", "补充耕地 compensated"]
    assert sides["area_m2"].tolist() == pytest.approx(res.table["area_m2"].tolist(), rel=1e-12)
    book = pd.read_excel(paths["xlsx"], sheet_name=None)
    assert set(book) == {"balance", "verdict", "parcels"}
    assert book["parcels"]["名称 name"].tolist()[2] == HOSTILE
    assert book["balance"]["加权平均质量等别 area-weighted grade"].tolist() == pytest.approx(res.table["grade"].tolist())
    patches = gpd.read_file(paths["gpkg"], layer="compensation_patches", engine="pyogrio")
    assert len(patches) == 2 and dict(pyogrio.list_layers(paths["gpkg"]))
    assert patches["area_m2"].sum() == pytest.approx(res.to_dict()["compensated_m2"], rel=1e-12)
    page = paths["html"].read_text(encoding="utf-8")
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "占补平衡 balanced" in page


def _runner():
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()  # click ≥ 8.2 keeps stderr apart by itself


def test_cli_json_prints_one_object(tmp_path, occupied):
    import json

    from spatial.cli.main import app

    occ = write_gpkg(tmp_path / "occ.gpkg", {"occ": occupied})
    comp = write_gpkg(tmp_path / "comp.gpkg", {"comp": layer([A, B, C, D], [6, 6, 6, 6])})
    res = _runner().invoke(app, ["balance", str(occ), str(comp), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)            # the whole of stdout is one JSON object
    assert {"occupied_m2", "compensated_m2", "occupied_grade", "compensated_grade", "balanced", "occupied_ha",
            "compensated_mu", "patches", "mean_patch_m2", "largest_patch_m2"} <= set(data)
    ref = balance(occupied, layer([A, B, C, D], [6, 6, 6, 6])).to_dict()
    assert data["compensated_m2"] == pytest.approx(ref["compensated_m2"], rel=1e-12)
    assert data["balanced"] is False and data["patches"] == 2
    flipped = json.loads(_runner().invoke(app, ["balance", str(occ), str(comp), "--json", "--best-grade",
                                                "high"]).stdout)
    assert flipped["balanced"] is True
    out = tmp_path / "files"
    table = _runner().invoke(app, ["balance", f"{occ}:occ", str(comp), "--out", str(out)])
    assert table.exit_code == 0 and "补充耕地质量等别较低" in table.stdout
    assert (out / "balance.xlsx").exists() and (out / "balance.html").exists()
    bad = _runner().invoke(app, ["balance", str(occ), str(comp), "--grade-field", "DJ"])
    assert bad.exit_code == 2 and "no quality-grade field 'DJ'" in " ".join(bad.stderr.split())
