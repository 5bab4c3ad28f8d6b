"""A streamed check (`spatial check --chunk N`, spatial.analysis.streaming) gives the tables of the whole check,
range by range: the same summary and overlaps rows, the same GeoPackage features, the same workbook cells."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from spatial.analysis.check import check
from spatial.analysis.streaming import check_in_chunks
from spatial.cli.main import app
from spatial.sources.files import read_layer

N = 1_200


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("stream")
    rng = np.random.default_rng(7)
    x, y = rng.uniform(118.30, 118.70, N), rng.uniform(28.80, 29.10, N)
    parcels = gpd.GeoDataFrame({"XMMC": [f"地块{i:05d}" for i in range(N)], "project_type": "industrial"},
                               geometry=[box(a, b, a + 0.004, b + 0.003) for a, b in zip(x, y)], crs=4490)
    parcels.loc[5, "XMMC"] = "=HYPERLINK(\"http://x\")"            # neutralised in every range's rows too
    cx, cy = rng.uniform(118.30, 118.70, 60), rng.uniform(28.80, 29.10, 60)
    red = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(60)]},
                           geometry=[box(a, b, a + 0.03, b + 0.02) for a, b in zip(cx, cy)], crs=4490)
    parcels.to_file(d / "parcels.gpkg", layer="parcels")
    red.to_file(d / "red.gpkg", layer="red")
    return d


def test_ranges_give_the_whole_checks_tables(files):
    layers = {"ecological_redline": read_layer(files / "red.gpkg").to_cgcs2000()}
    parts = list(check_in_chunks(files / "parcels.gpkg", layers, chunk_size=500))
    assert [len(r.summary) for _, r in parts] == [500, 500, 200]
    whole = check(read_layer(files / "parcels.gpkg").to_cgcs2000(), layers)
    pd.testing.assert_frame_equal(pd.concat([r.summary for _, r in parts], ignore_index=True), whole.summary)
    pd.testing.assert_frame_equal(pd.concat([r.overlaps for _, r in parts], ignore_index=True), whole.overlaps)
    assert parts[1][1].summary["project_no"].iloc[0] == 501       # the file's own feature numbers


def test_cli_chunk_writes_the_same_outputs(files, tmp_path):
    args = ["check", str(files / "parcels.gpkg"), "--layer", f"ecological_redline={files / 'red.gpkg'}", "--no-map"]
    whole = CliRunner().invoke(app, args + ["--out", str(tmp_path / "whole")])
    streamed = CliRunner().invoke(app, args + ["--out", str(tmp_path / "stream"), "--chunk", "500"])
    assert whole.exit_code == 0 and streamed.exit_code == 0, streamed.output
    for name in ("summary.csv", "overlaps.csv"):
        a = pd.read_csv(tmp_path / "whole" / name, encoding="utf-8-sig")
        b = pd.read_csv(tmp_path / "stream" / name, encoding="utf-8-sig")
        pd.testing.assert_frame_equal(a, b)
    assert a["project"].str.startswith("=").sum() == 0                # formula payload neutralised
    for layer in ("projects", "overlap_pieces"):
        a = gpd.read_file(tmp_path / "whole" / "overlaps.gpkg", layer=layer)
        b = gpd.read_file(tmp_path / "stream" / "overlaps.gpkg", layer=layer)
        assert len(a) == len(b) and a.geometry.geom_equals_exact(b.geometry, 0).all()
    xa = pd.read_excel(tmp_path / "whole" / "check.xlsx", sheet_name=None)
    xb = pd.read_excel(tmp_path / "stream" / "check.xlsx", sheet_name=None)
    for sheet in ("summary", "overlaps", "layers"):
        pd.testing.assert_frame_equal(xa[sheet], xb[sheet])
    audit = json.loads((tmp_path / "stream" / "audit.json").read_text(encoding="utf-8"))
    assert audit["counts"]["projects"] == N
    counts = pd.read_csv(tmp_path / "whole" / "summary.csv")["verdict"].value_counts()
    assert audit["counts"]["verdicts"]["prohibited"] == counts.get("prohibited", 0) > 0
    report = (tmp_path / "stream" / "report.html").read_text(encoding="utf-8")
    assert f"{int(counts.get('prohibited', 0)):,d}" in report and f"{int(counts.get('no_conflict', 0)):,d}" in report


def test_chunk_refuses_what_it_cannot_stream(files, tmp_path):
    bad = CliRunner().invoke(app, ["check", str(files / "parcels.gpkg"), "--chunk", "0", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--chunk" in bad.output
