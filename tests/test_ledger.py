"""The ledger of layer versions (spatial.analysis.ledger) against independent pyproj.Geod figures."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from factories import geod_area, write_gpkg
from spatial.errors import InputError
from spatial.analysis.ledger import (
    VERDICT_BASELINE, Version, ledger, order_versions, workspace_versions,
)
from spatial.analysis.versions import VERDICT_KEPT, VERDICT_OFFSET, VERDICT_REDUCED
from spatial.outputs.compliance_report import write_ledger_outputs
from spatial.sources.workspace import load_workspace

HOSTILE = "<script>alert(1)</script>"
WEST, EAST = box(118.0, 28.0, 118.5, 28.5), box(118.5, 28.0, 119.0, 28.5)
P1 = box(118.10, 28.10, 118.20, 28.20)                     # west
CUT = box(118.10, 28.10, 118.12, 28.12)                    # removed from P1 in 2021
P3 = box(118.60, 28.10, 118.70, 28.20)                     # east
P3_BIG = box(118.60, 28.10, 118.75, 28.22)                 # east, enlarged in 2021
EXTRA = box(118.30, 28.30, 118.33, 28.33)                  # west, added in 2023
V2020 = [P1, P3]
V2021 = [P1.difference(CUT), P3_BIG]
V2023 = [P1, P3_BIG, EXTRA]


def layer(geoms, names=None) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": names or [f"f{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=4490)


def units_layer(names=("西区", "东区")) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": list(names), "code": ["W", "E"]}, geometry=[WEST, EAST], crs=4490)


@pytest.fixture
def versions() -> list[Version]:
    # given out of order: the ledger orders by date (a bare year is a date)
    return [Version("2023", layer(V2023)), Version("2020", layer(V2020)),
            Version("二〇二一调整", layer(V2021), date="2021-06-30", note="评估调整")]


def expected(unit, versions_geoms):
    unions = [shapely.union_all(g) for g in versions_geoms]
    area = [geod_area(unit.intersection(u)) for u in unions]
    added = [geod_area(unit.intersection(b.difference(a))) for a, b in zip(unions[:-1], unions[1:])]
    removed = [geod_area(unit.intersection(a.difference(b))) for a, b in zip(unions[:-1], unions[1:])]
    return area, added, removed


def test_three_versions_two_units_equal_independent_geod(versions):
    res = ledger(versions, units=units_layer())
    rows = res.rows
    assert list(rows["version"].unique()) == ["2020", "二〇二一调整", "2023"]
    everything = box(118.0, 28.0, 119.0, 28.5)
    for unit_name, unit in (("全部图层 whole layers", everything), ("西区", WEST), ("东区", EAST)):
        area, added, removed = expected(unit, [V2020, V2021, V2023])
        got = rows[rows["unit"] == unit_name].reset_index(drop=True)
        assert got["area_m2"].tolist() == pytest.approx(area, rel=1e-9)
        assert got["change_m2"].iloc[1:].tolist() == pytest.approx(np.diff(area).tolist(), rel=1e-9, abs=1e-3)
        assert got["added_m2"].iloc[1:].tolist() == pytest.approx(added, rel=1e-9, abs=1e-3)
        assert got["removed_m2"].iloc[1:].tolist() == pytest.approx(removed, rel=1e-9, abs=1e-3)
        assert np.isnan(got["change_m2"].iloc[0]) and got["verdict"].iloc[0] == VERDICT_BASELINE
        assert got["area_ha"].tolist() == pytest.approx((got["area_m2"] / 1e4).tolist())
    per = rows.set_index(["unit", "version"])
    # the west loses the cut in 2021 while the total grows: flagged, the overall verdict passes
    assert per.loc[("西区", "二〇二一调整"), "verdict"] == VERDICT_REDUCED
    assert per.loc[("东区", "二〇二一调整"), "verdict"] == VERDICT_KEPT
    assert per.loc[("全部图层 whole layers", "二〇二一调整"), "verdict"] == VERDICT_OFFSET
    assert per.loc[("全部图层 whole layers", "二〇二一调整"), "change_m2"] > 0
    assert per.loc[("西区", "2023"), "verdict"] == VERDICT_KEPT
    assert per.loc[("西区", "2023"), "previous"] == "二〇二一调整"
    assert per.loc[("西区", "二〇二一调整"), "note"] == "评估调整"
    assert res.flagged == ["西区"]
    assert res.verdict == VERDICT_OFFSET and res.area_not_reduced
    assert rows["code"].tolist()[3:] == ["W"] * 3 + ["E"] * 3


def test_total_reduced_fails_overall():
    res = ledger([Version("2020", layer(V2023)), Version("2023", layer(V2020))], units=units_layer())
    assert res.verdict == VERDICT_REDUCED and not res.area_not_reduced
    assert set(res.flagged) == {"西区", "东区"}


def test_geodesic_method_agrees(versions):
    # the two methods agree on short edges (here 10 km edges differ by 6e-5): cut the edges to ~50 m
    for v in versions:
        v.gdf = v.gdf.set_geometry(shapely.segmentize(v.gdf.geometry.values, 0.0005))
    units = units_layer().set_geometry(shapely.segmentize(units_layer().geometry.values, 0.0005))
    off = ledger(versions, units=units).rows
    geo = ledger(versions, units=units, method="geodesic").rows
    np.testing.assert_allclose(geo["area_m2"], off["area_m2"], rtol=1e-6)


def test_ordering_rules():
    a, b = Version("甲", layer([P1])), Version("乙", layer([P3]), date="2020")
    with pytest.raises(ValueError, match="甲 have no date"):
        order_versions([a, b])
    assert [v.name for v in order_versions([Version("x", None), Version("y", None)])] == ["x", "y"]
    with pytest.raises(ValueError, match="not YYYY"):
        order_versions([Version("z", None, date="31/12/2020"), b])
    # a year sorts as its last day, after a date inside it
    got = order_versions([Version("2020"), Version("mid", date="2020-06-30"), Version("2019-12")])
    assert [v.name for v in got] == ["2019-12", "mid", "2020"]


def write_workspace(tmp_path, versions_toml: str) -> None:
    write_gpkg(tmp_path / "base.gpkg", {"admin_county": units_layer([HOSTILE, "东区"]),
                                        "ecological_redline": layer(V2020)})
    write_gpkg(tmp_path / "later.gpkg", {"red_2021": layer(V2021), "red_2023": layer(V2023)})
    (tmp_path / "workspace.toml").write_text(f"""
[workspace]
name_zh = "测试"
territory_kind = "admin_county"

[layers.admin_county]
path = "base.gpkg"
layer = "admin_county"

[layers.ecological_redline]
path = "base.gpkg"
layer = "ecological_redline"
{versions_toml}
""", encoding="utf-8")


VERSIONS_TOML = """
[layers.ecological_redline.versions.2023]
path = "later.gpkg"
layer = "red_2023"
date = "2023-12-31"

[layers.ecological_redline.versions.2020]
layer = "ecological_redline"
date = "2020-12-31"
note = "划定方案"

[layers.ecological_redline.versions.2021]
path = "later.gpkg"
layer = "red_2021"
date = "2021-06-30"
"""


def test_workspace_versions_by_kind_and_outputs(tmp_path):
    write_workspace(tmp_path, VERSIONS_TOML)
    ws = load_workspace(tmp_path)
    vs = workspace_versions(ws)
    assert {v.name: (v.path.name, v.layer) for v in vs} == {
        "2023": ("later.gpkg", "red_2023"), "2020": ("base.gpkg", "ecological_redline"),
        "2021": ("later.gpkg", "red_2021")}
    res = ledger(ws, by="admin_county")
    ref = ledger([Version("2020", layer(V2020)), Version("2021", layer(V2021)), Version("2023", layer(V2023))],
                 units=units_layer([HOSTILE, "东区"]))
    # the territory (both counties dissolved) equals the whole layers here; the units are the counties
    np.testing.assert_allclose(res.rows["area_m2"], ref.rows["area_m2"], rtol=1e-9)
    assert res.rows["unit_kind"].iloc[0] == "全域 territory"
    assert res.flagged == [HOSTILE] and res.area_not_reduced
    d = res.to_dict()
    assert set(d) >= {"rows", "verdict"} and len(d["rows"]) == 9
    assert set(d["rows"][0]) >= {"unit", "code", "version", "date", "area_m2", "change_m2", "added_m2",
                                 "removed_m2", "verdict"}
    assert d["rows"][0]["change_m2"] is None        # the baseline has no change (JSON null, not NaN)
    json.dumps(d, allow_nan=False)
    paths = write_ledger_outputs(res, tmp_path / "out")
    back = pd.read_csv(paths["csv"], encoding="utf-8-sig")
    assert back["area_m2"].tolist() == pytest.approx(res.rows["area_m2"].tolist(), rel=1e-12)
    assert back["unit"].tolist()[3] == HOSTILE
    book = pd.read_excel(paths["xlsx"], sheet_name="ledger")
    assert book["结论 verdict"].tolist() == res.rows["verdict"].tolist()
    pieces = gpd.read_file(paths["gpkg"], layer="changes", engine="pyogrio")
    assert set(pieces["step"]) == {"2020 → 2021", "2021 → 2023"}
    assert pieces.loc[pieces["change"] == "减少 removed", "area_m2"].sum() == pytest.approx(geod_area(CUT), rel=1e-9)
    page = paths["html"].read_text(encoding="utf-8")
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_workspace_without_versions(tmp_path):
    write_workspace(tmp_path, "")
    with pytest.raises(InputError, match=r"workspace\.toml: no versions of 'ecological_redline'.*versions\.2020"):
        ledger(load_workspace(tmp_path))


def _runner():
    from typer.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # click < 8.2
    except TypeError:
        return CliRunner()


def test_cli_json_object_shape(tmp_path):
    from spatial.cli.main import app

    write_workspace(tmp_path, VERSIONS_TOML)
    res = _runner().invoke(app, ["ledger", "-w", str(tmp_path), "--by", "admin_county", "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert set(data) >= {"rows", "verdict", "flagged_units"} and len(data["rows"]) == 9
    ref = ledger(load_workspace(tmp_path), by="admin_county").to_dict()
    assert [r["area_m2"] for r in data["rows"]] == pytest.approx([r["area_m2"] for r in ref["rows"]], rel=1e-12)
    assert data["verdict"] == VERDICT_OFFSET and data["flagged_units"] == [HOSTILE]
    # versions given on the command line, units from a file
    units = write_gpkg(tmp_path / "units.gpkg", {"units": units_layer()})
    res = _runner().invoke(app, ["ledger", "--version", f"2023={tmp_path / 'later.gpkg'}:red_2023",
                                 "--version", f"2020={tmp_path / 'base.gpkg'}:ecological_redline",
                                 "--units", str(units), "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    # 2020 → 2023 directly: the 2021 cut is back, nothing is removed
    assert [r["version"] for r in data["rows"][:2]] == ["2020", "2023"] and data["verdict"] == VERDICT_KEPT
    table = _runner().invoke(app, ["ledger", "-w", str(tmp_path), "--by", "admin_county", "--out",
                                   str(tmp_path / "o")])
    assert table.exit_code == 0 and "面积减少" in table.stdout and (tmp_path / "o" / "ledger.xlsx").exists()
    bad = _runner().invoke(app, ["ledger", "--version", "2020"])
    assert bad.exit_code == 2 and "NAME=FILE" in " ".join(bad.stderr.split())
