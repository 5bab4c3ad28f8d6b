"""Friction in outputs: bilingual verdict counts on the terminal, progress as log lines when stderr is not a
terminal, rounded numbers in HTML tables, rule citations by document title and quoted rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import geopandas as gpd
import pytest
from shapely.geometry import box
from typer.testing import CliRunner

from spatial.cli.check import ProgressLines
from spatial.outputs.html import html_table, rule_citation_html

X0, Y0 = 118.60, 28.90


def test_progress_lines_every_tenth_and_at_the_end():
    lines: list[str] = []
    p = ProgressLines(lines.append, every_s=3600, step=0.1)
    for done in range(0, 1001, 7):
        p(done, 1000, "生态保护红线")
    p(1000, 1000, "生态保护红线")
    p(1000, 1000, "生态保护红线")   # the end is told once
    assert 9 <= len(lines) <= 11
    assert lines[-1].startswith("检查 checking 100 %") and "(1,000/1,000)" in lines[-1]


def test_progress_lines_on_time(monkeypatch):
    clock = iter([0.0, 0.0, 11.0, 12.0, 25.0])
    monkeypatch.setattr("spatial.cli.check.time.monotonic", lambda: next(clock))
    lines: list[str] = []
    p = ProgressLines(lines.append, every_s=10, step=0.5)
    p(1, 100, "a")    # t=0: 1 % — nothing new
    p(2, 100, "a")    # t=11: 10 s passed
    p(3, 100, "a")    # t=12: too soon
    p(4, 100, "a")    # t=25
    assert [line.split(" %")[0] for line in lines] == ["检查 checking   2", "检查 checking   4"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    from spatial.cli.main import app

    d = tmp_path_factory.mktemp("friction")
    gpd.GeoDataFrame({"XMMC": ["风电场甲", "远处地块"]},
                     geometry=[box(X0, Y0, X0 + 0.01, Y0 + 0.01), box(X0 + 0.5, Y0, X0 + 0.51, Y0 + 0.01)],
                     crs=4490).to_file(d / "p.gpkg", driver="GPKG")
    gpd.GeoDataFrame({"name": ["红线甲"]}, geometry=[box(X0 + 0.005, Y0, X0 + 0.02, Y0 + 0.02)], crs=4490).to_file(
        d / "r.gpkg", driver="GPKG")
    res = CliRunner().invoke(app, ["check", str(d / "p.gpkg"), "--layer", f"ecological_redline={d / 'r.gpkg'}",
                                   "--type", "energy", "--no-map", "--out", str(d / "out")])
    assert res.exit_code == 0, res.output
    return res, d / "out"


def test_terminal_counts_are_bilingual_and_progress_is_logged(cli_run):
    res, _ = cli_run
    text = " ".join(res.output.split())   # rich wraps long lines
    assert "禁止 Prohibited: 1" in text and "无冲突 No conflict: 1" in text
    assert "检查 checking 100 %" in text      # CliRunner's stderr is no terminal: plain progress lines


def test_report_cites_the_document_and_quotes_the_rule(cli_run):
    _, out = cli_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "出自 From: 常山县生态文明建设规划（2018—2025年）" in page
    assert "「" in page and "目录出处 catalogue ref 000:" in page


def test_rule_citation_escapes_and_handles_missing():
    assert rule_citation_html("") == ""
    out = rule_citation_html("RL3", "严禁<b>", "No <i>", "000:936", "常山规划 (Plan) 000:936")
    assert "&lt;b&gt;" in out and "&lt;i&gt;" in out and "常山规划 (Plan)（目录出处 catalogue ref 000:936）" in out


def test_html_table_rounds_every_float():
    df = pd.DataFrame({"share": np.array([45.4791259765625], dtype=np.float32), "v": [1 / 3]})
    out = html_table(df)
    assert "45.48" in out and "0.33" in out and "4791" not in out and "3333" not in out
