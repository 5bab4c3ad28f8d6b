"""三区三线 consistency (spatial.analysis.conflicts) against independent shapely overlays measured with pyproj.Geod."""

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

from spatial.analysis.conflicts import (
    STATUS_CONFLICT,
    STATUS_GAP,
    STATUS_OK,
    STATUS_OUTSIDE,
    STATUS_SLIVERS,
    conflicts_from_layers,
)
from spatial.analysis.targets import STATUS_NO_DATA
from spatial.analysis.territory import Units
from spatial.outputs.review_report import write_conflict_outputs
from spatial.rules.catalog import load_catalog

GEOD = Geod(ellps="GRS80")
CATALOG = load_catalog()
CRS = "EPSG:4490"




def units(geoms, names, kind="admin_county") -> Units:
    return Units(kind, "全域 territory" if kind == "territory" else "县级行政区 County", list(names),
                 [str(i) for i in range(len(names))], np.asarray(geoms, dtype=object), [None] * len(names),
                 np.asarray([geod_area(g) for g in geoms]), np.ones(len(names)))


T = box(118.0, 28.0, 118.3, 28.3)                         # the territory
WEST, EAST = box(118.0, 28.0, 118.15, 28.3), box(118.15, 28.0, 118.3, 28.3)
RED = box(118.02, 28.02, 118.10, 28.10)
FARM = [box(118.08, 28.08, 118.14, 28.14), box(118.20, 28.20, 118.22, 28.22)]   # first overlaps RED
URBAN_B = box(118.13, 28.13, 118.18, 28.18)                # overlaps FARM[0], straddles WEST/EAST
ECO = box(118.0, 28.0, 118.09, 28.3)                       # RED sticks out of it by 0.01°
AGRI = box(118.09, 28.0, 118.3, 28.19)                     # leaves a 0.01° gap below URB
URB = box(118.08, 28.2, 118.3, 28.3)                       # overlaps ECO by 0.01° × 0.1°
OUTSIDE = box(118.3, 28.0, 118.32, 28.05)                  # agricultural space beyond the territory


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    return {
        "ecological_redline": gdf(RED),
        "permanent_farmland": gdf(*FARM),
        "urban_boundary": gdf(URBAN_B),
        "ecological_space": gdf(ECO),
        "agricultural_space": gdf(AGRI, OUTSIDE),
        "urban_space": gdf(URB),
    }


def whole(summary: pd.DataFrame, check: str) -> pd.Series:
    return summary[(summary["check"] == check) & (summary["unit_kind"] == "全部 all")].iloc[0]


def test_three_line_overlaps(layers):
    terr = units([T], ["T"], "territory")
    res = conflicts_from_layers(layers, terr, [terr, units([WEST, EAST], ["西", "东"])], catalog=CATALOG)
    s = res.summary
    rf = whole(s, "overlap:ecological_redline:permanent_farmland")
    expected = geod_area(RED.intersection(FARM[0]))
    assert rf["area_m2"] == pytest.approx(expected, rel=1e-9)
    assert (rf["pieces"], rf["status"]) == (1, STATUS_CONFLICT)
    fu = whole(s, "overlap:permanent_farmland:urban_boundary")
    assert fu["area_m2"] == pytest.approx(geod_area(FARM[0].intersection(URBAN_B)), rel=1e-9)
    assert fu["area_ha"] == pytest.approx(fu["area_m2"] / 1e4)
    ru = whole(s, "overlap:ecological_redline:urban_boundary")
    assert (ru["area_m2"], ru["pieces"], ru["status"]) == (0.0, 0, STATUS_OK)
    # per unit: FARM[0] ∩ URBAN_B lies in the west county only
    per = s[(s["check"] == "overlap:permanent_farmland:urban_boundary") & (s["unit_kind"] == "县级行政区 County")]
    assert per.set_index("unit")["area_m2"]["西"] == pytest.approx(fu["area_m2"], rel=1e-9)
    assert per.set_index("unit")["area_m2"]["东"] == 0.0


def test_zone_gaps_overlaps_and_outside(layers):
    terr = units([T], ["T"], "territory")
    res = conflicts_from_layers(layers, terr, [terr], catalog=CATALOG)
    s = res.summary
    zones = shapely.union_all([ECO, AGRI, OUTSIDE, URB])
    gap = whole(s, "zone_gap")
    assert gap["area_m2"] == pytest.approx(geod_area(T.difference(zones)), rel=1e-9)
    assert gap["status"] == STATUS_GAP and gap["pieces"] == 1
    eu = whole(s, "zone_overlap:ecological_space:urban_space")
    assert eu["area_m2"] == pytest.approx(geod_area(ECO.intersection(URB)), rel=1e-9)
    assert eu["status"] == STATUS_CONFLICT
    ea = whole(s, "zone_overlap:ecological_space:agricultural_space")
    assert ea["status"] == STATUS_OK   # they only touch along a line
    out = whole(s, "zone_outside")
    assert out["area_m2"] == pytest.approx(geod_area(OUTSIDE), rel=1e-9) and out["status"] == STATUS_OUTSIDE
    red_out = whole(s, "line_outside:ecological_redline:ecological_space")
    assert red_out["area_m2"] == pytest.approx(geod_area(RED.difference(ECO)), rel=1e-9)
    assert red_out["status"] == STATUS_CONFLICT
    # the pieces are there to map, one per check with a finding
    pcs = res.pieces
    assert pcs.crs.to_epsg() == 4490
    assert pcs.loc[pcs["check"] == "zone_gap", "area_m2"].sum() == pytest.approx(gap["area_m2"], rel=1e-12)


def test_slivers_reported_apart():
    # zones that leave a 1 cm strip uncovered: a sliver, not a gap
    eps = 1e-7  # degrees ≈ 1 cm
    layers = {"ecological_space": gdf(box(118.0, 28.0, 118.15, 28.3)),
              "agricultural_space": gdf(box(118.15 + eps, 28.0, 118.3, 28.3)),
              "urban_space": gdf(box(118.2, 28.2, 118.2001, 28.2001))}
    terr = units([T], ["T"], "territory")
    s = conflicts_from_layers(layers, terr, [terr], catalog=CATALOG).summary
    gap = whole(s, "zone_gap")
    assert gap["status"] == STATUS_SLIVERS
    assert (gap["pieces"], gap["area_m2"], gap["sliver_pieces"]) == (0, 0.0, 1)
    assert gap["sliver_m2"] == pytest.approx(geod_area(box(118.15, 28.0, 118.15 + eps, 28.3)), rel=1e-6)
    # a looser tolerance makes it a real gap
    s = conflicts_from_layers(layers, terr, [terr], catalog=CATALOG, sliver_m2=0, sliver_width_m=0).summary
    assert whole(s, "zone_gap")["status"] == STATUS_GAP


def test_missing_layers_are_no_data():
    terr = units([T], ["T"], "territory")
    s = conflicts_from_layers({"ecological_redline": gdf(RED)}, terr, [terr], catalog=CATALOG).summary
    assert set(s["status"]) == {STATUS_NO_DATA}
    assert "permanent_farmland" in whole(s, "overlap:ecological_redline:permanent_farmland")["note"]


def test_outputs_reread(layers, tmp_path: Path):
    terr = units([T], ["T"], "territory")
    res = conflicts_from_layers(layers, terr, [terr, units([WEST, EAST], ["西", "东"])], catalog=CATALOG)
    paths = write_conflict_outputs(res, tmp_path)
    csv = pd.read_csv(tmp_path / "conflicts.csv", encoding="utf-8-sig")
    assert "check" in csv.columns and "area_m2" in csv.columns and "status" in csv.columns
    np.testing.assert_allclose(csv["area_m2"].to_numpy(float), res.summary["area_m2"].to_numpy(float))
    back = gpd.read_file(paths["gpkg"], layer="overlap")
    assert len(back) == 2 and back.crs.to_epsg() == 4490
    assert set(back["unit"]) == {"西"}


def test_cli_conflicts_on_the_demo(tmp_path):
    pytest.importorskip("spatial.sources.files")
    from typer.testing import CliRunner

    from spatial.cli.main import app

    result = CliRunner().invoke(app, ["conflicts", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    csv = pd.read_csv(tmp_path / "conflicts.csv", encoding="utf-8-sig")
    row = csv[(csv["check"] == "overlap:permanent_farmland:urban_boundary") & (csv["unit_kind"] == "全部 all")]
    # the planted conflict of the demo: one farmland parcel overlaps the county-town boundary by 19.7 ha
    assert row["area_ha"].iloc[0] == pytest.approx(19.7, abs=0.05)
    assert row["status"].iloc[0] == STATUS_CONFLICT
