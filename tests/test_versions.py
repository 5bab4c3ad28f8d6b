"""Red-line version change (spatial.analysis.versions): added, removed, net, slivers apart, verdict on 面积不减少."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from factories import gdf, geod_area
from pyproj import Geod
from shapely.geometry import box

from spatial.analysis.territory import Units
from spatial.analysis.versions import (
    VERDICT_KEPT,
    VERDICT_OFFSET,
    VERDICT_REDUCED,
    diff_layers,
    diff_versions,
)
from spatial.outputs.review_report import write_diff_outputs

GEOD = Geod(ellps="GRS80")
CRS = "EPSG:4490"




def units(geoms, names) -> Units:
    return Units("admin_county", "县级行政区 County", list(names), [str(i) for i in range(len(names))],
                 np.asarray(geoms, dtype=object), [None] * len(names),
                 np.asarray([geod_area(g) for g in geoms]), np.ones(len(names)))


WEST, EAST = box(118.0, 28.0, 118.5, 28.5), box(118.5, 28.0, 119.0, 28.5)
P1 = box(118.10, 28.10, 118.20, 28.20)
P2 = box(118.30, 28.10, 118.35, 28.15)        # removed in the new version
P3 = box(118.60, 28.10, 118.70, 28.20)
P4 = box(118.15, 28.15, 118.25, 28.25)        # overlaps P1 (the old version counts it once)
SLIVER_DEG = 3e-6                              # ≈ 0.3 m: re-digitised edge of P3
P3_NEW = box(118.60, 28.10, 118.70 - SLIVER_DEG, 28.20)
ADDED = box(118.80, 28.30, 118.82, 28.32)


@pytest.fixture
def old() -> gpd.GeoDataFrame:
    return gdf(P1, P2, P3, P4)


def test_removed_patch_and_sliver(old):
    new = gdf(P1, P3_NEW, P4)
    res = diff_layers(old, new, [units([WEST, EAST], ["西", "东"])])
    total = res.total
    old_u, new_u = shapely.union_all([P1, P2, P3, P4]), shapely.union_all([P1, P3_NEW, P4])
    assert total["old_km2"] == pytest.approx(geod_area(old_u) / 1e6, rel=1e-9)
    assert total["new_km2"] == pytest.approx(geod_area(new_u) / 1e6, rel=1e-9)
    # the removed patch is real change; the 0.3 m strip is a sliver, reported apart
    assert total["real_removed_km2"] == pytest.approx(geod_area(P2) / 1e6, rel=1e-9)
    strip = P3.difference(P3_NEW)
    assert total["sliver_removed_m2"] == pytest.approx(geod_area(strip), rel=1e-6)
    assert 2000 < total["sliver_removed_m2"] < 5000          # 11 km × 0.3 m
    assert total["real_added_km2"] == 0.0
    assert total["real_net_km2"] == pytest.approx(-geod_area(P2) / 1e6, rel=1e-9)
    assert total["net_km2"] == pytest.approx(total["new_km2"] - total["old_km2"])
    assert total["net_km2"] == pytest.approx(-(geod_area(P2) + geod_area(strip)) / 1e6, rel=1e-6)
    assert (total["pieces_removed"], total["sliver_pieces"]) == (1, 1)
    assert total["verdict"] == VERDICT_REDUCED and not res.area_not_reduced
    # per unit: the removal is in the west, the sliver in the east (which is otherwise unchanged)
    per = res.summary.set_index("unit")
    assert per.loc["西", "verdict"] == VERDICT_REDUCED
    assert per.loc["西", "real_removed_km2"] == pytest.approx(geod_area(P2) / 1e6, rel=1e-9)
    assert per.loc["东", "verdict"] == VERDICT_KEPT
    assert per.loc["东", "real_net_km2"] == 0.0 and per.loc["东", "sliver_removed_m2"] > 0
    # pieces: the removed patch and the sliver, flagged
    pcs = res.pieces
    assert list(pcs["change"]) == ["减少 removed", "减少 removed"]
    assert sorted(pcs["sliver"]) == [0, 1]
    assert pcs.loc[pcs["sliver"] == 1, "mean_width_m"].iloc[0] == pytest.approx(0.3, rel=0.05)
    assert set(pcs["unit"]) == {"西", "东"}


def test_additions_offset_removals(old):
    bigger = box(118.80, 28.30, 118.90, 28.40)   # larger than P2
    res = diff_layers(old, gdf(P1, P3, P4, bigger))
    t = res.total
    assert t["real_added_km2"] == pytest.approx(geod_area(bigger) / 1e6, rel=1e-9)
    assert t["verdict"] == VERDICT_OFFSET and res.area_not_reduced
    same = diff_layers(old, gdf(P4, P3, P2, P1))     # same shapes, other order: no change at all
    assert same.total["verdict"] == VERDICT_KEPT
    assert same.total["added_km2"] == 0.0 and same.total["removed_km2"] == 0.0 and len(same.pieces) == 0


def test_sliver_thresholds_are_parameters(old):
    new = gdf(P1, P3_NEW, P4, P2)
    # by default the strip is a sliver, so the red line is not reduced
    assert diff_layers(old, new).total["verdict"] == VERDICT_KEPT
    # without tolerance it is real change
    strict = diff_layers(old, new, sliver_m2=0, sliver_width_m=0).total
    assert strict["verdict"] == VERDICT_REDUCED and strict["sliver_pieces"] == 0
    # a small but compact patch below the area threshold is a sliver too
    tiny = box(118.9, 28.4, 118.9 + 1e-5, 28.4 + 1e-5)   # ≈ 1 m²
    res = diff_layers(gdf(P1, tiny), gdf(P1), sliver_m2=5.0, sliver_width_m=0)
    assert res.total["sliver_pieces"] == 1 and res.total["verdict"] == VERDICT_KEPT


def test_projected_input_and_files(old, tmp_path: Path):
    old_file, new_file = tmp_path / "rl_2018.gpkg", tmp_path / "rl_2023.gpkg"
    old.to_crs("EPSG:4548").to_file(old_file, layer="STBHHX", driver="GPKG")   # GK zone 39 without prefix
    gdf(P1, P3, P4, ADDED).to_file(new_file, layer="STBHHX", driver="GPKG")
    res = diff_versions(old_file, new_file, old_layer="STBHHX", new_layer="STBHHX")
    assert res.total["real_added_km2"] == pytest.approx(geod_area(ADDED) / 1e6, rel=1e-6)
    assert res.total["real_removed_km2"] == pytest.approx(geod_area(P2) / 1e6, rel=1e-6)
    paths = write_diff_outputs(res, tmp_path / "out")
    csv = pd.read_csv(tmp_path / "out" / "diff.csv", encoding="utf-8-sig")
    for col in ("unit", "added_km2", "removed_km2", "net_km2", "verdict"):
        assert col in csv.columns
    assert csv["verdict"].iloc[0] == VERDICT_REDUCED
    removed = gpd.read_file(paths["gpkg"], layer="removed")
    added = gpd.read_file(paths["gpkg"], layer="added")
    # the projected round trip leaves slivers along the shared edges: reported apart, never as real change
    assert (added["sliver"] == 0).sum() == 1 and removed.crs.to_epsg() == 4490
    # (a 10 km edge straight in the Gauss-Krüger plane bows up to ~1.3 m away from the same edge straight in
    # lon/lat: mean width below the 1 m default)
    assert added.loc[added["sliver"] == 1, "mean_width_m"].max() < 1.0
    assert removed.loc[removed["sliver"] == 0, "area_m2"].sum() == pytest.approx(geod_area(P2), rel=1e-6)


def test_cli_diff(old, tmp_path: Path):
    pytest.importorskip("spatial.sources.files")
    from typer.testing import CliRunner

    from spatial.cli.main import app

    old_file, new_file = tmp_path / "old.gpkg", tmp_path / "new.gpkg"
    old.to_file(old_file, layer="STBHHX", driver="GPKG")
    gdf(P1, P3_NEW, P4).to_file(new_file, layer="STBHHX", driver="GPKG")
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["diff", f"{old_file}:STBHHX", str(new_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(out / "diff.csv", encoding="utf-8-sig")
    assert csv["verdict"].iloc[0] == VERDICT_REDUCED
    assert csv["sliver_removed_m2"].iloc[0] > 0
    strict = runner.invoke(app, ["diff", str(old_file), str(new_file), "--out", str(out), "--strict"])
    assert strict.exit_code == 1


def test_diff_against_the_workspace_layer():
    pytest.importorskip("spatial.sources.files")
    from spatial.sources.workspace import load_workspace

    ws = load_workspace(Path(__file__).resolve().parents[1] / "layers" / "changshan")
    current = ws.layer("ecological_redline").gdf
    # the 2018 version lacked the Jiantou patch: against today's layer it was added, nothing removed
    old = current[current["patch_id"] != "STBHHX-05"]
    res = diff_versions(old, None, workspace=ws, by="admin_county")
    t = res.total
    jiantou = shapely.union_all(current.geometry.values).difference(shapely.union_all(old.geometry.values))
    assert t["real_added_km2"] == pytest.approx(geod_area(jiantou) / 1e6, rel=1e-6)
    assert t["real_removed_km2"] == 0.0 and t["verdict"] == VERDICT_KEPT
    per = res.summary[res.summary["unit_kind"].str.contains("County")].set_index("unit_code")
    assert per.loc["330822", "real_added_km2"] == pytest.approx(t["real_added_km2"], rel=1e-9)
