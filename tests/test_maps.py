"""Maps: built from the Changshan demo workspace and opened in a real headless Chromium from file://.

No tile is ever fetched: browser tests use maps without a basemap (offline, or online with the CDN scripts
answered from maps/vendor); for OpenStreetMap, Tianditu and AMap only the configured tile URLs are checked.
The run saves a screenshot of the demo map to docs/img/demo_map.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

from maps import offline as offline_mod
from maps import styles
from maps.basemaps import basemap
from maps.layers import display_gdf, simplify
from maps.render import (
    check_map,
    check_map_html,
    pattern_map,
    workspace_map,
    write_check_map,
)
from spatial.errors import MapError

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "img" / "demo_map.png"
GEOD = Geod(ellps="GRS80")

# Collect every feature path of every layer, by the class each layer's paths carry (pm-k-<layer>).
from browser import ALL_ON_JS, CONTROL_JS, COUNT_JS  # noqa: E402


# ------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def ws():
    from spatial.sources.workspace import DEMO_WORKSPACE, load_workspace

    return load_workspace(DEMO_WORKSPACE)


@pytest.fixture(scope="module")
def check_result(ws):
    from spatial.analysis.check import check

    return check(ws.projects.gdf, ws)


@pytest.fixture(scope="module")
def built(ws, check_result, tmp_path_factory):
    """The demo maps, built once: online (OSM), offline, online without basemap, pattern, check."""
    out = tmp_path_factory.mktemp("maps")
    maps = {
        "online": workspace_map(ws),
        "offline": workspace_map(ws, offline=True),
        "online_nobase": workspace_map(ws, basemap="none"),
        "pattern": pattern_map(ws, offline=True),
        "check": check_map(check_result, ws, offline=True),
    }
    for name, m in maps.items():
        m.save(out / f"{name}.html")
    return maps


@pytest.fixture(scope="module")
def chromium():
    from browser import browser

    with browser() as b:
        yield b


def _open(chromium, path, **kw):
    from browser import open_page

    return open_page(chromium, path, **kw)


# ------------------------------------------------------------------------------------------ basemaps

def test_tianditu_without_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    for name in ("tianditu-vec", "tianditu-img"):
        with pytest.raises(MapError, match="TIANDITU_KEY"):
            basemap(name)


def test_tianditu_cli_without_key_exits_with_message(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from spatial.cli.main import app

    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    res = CliRunner().invoke(app, ["map", "--basemap", "tianditu-img", "--out", str(tmp_path / "m.html")])
    assert res.exit_code == 2
    assert "TIANDITU_KEY" in res.output
    assert not (tmp_path / "m.html").exists()


def test_tianditu_uses_web_mercator_services_with_annotation(monkeypatch, ws):
    monkeypatch.setenv("TIANDITU_KEY", "test-key-123")
    vec = basemap("tianditu-vec")
    urls = [t["url"] for t in vec.tiles]
    assert "/vec_w/wmts" in urls[0] and "LAYER=vec" in urls[0] and "/cva_w/wmts" in urls[1]
    assert all("TILEMATRIXSET=w" in u and "tk=test-key-123" in u and "{z}" in u for u in urls)
    img = basemap("tianditu-img")
    assert "/img_w/" in img.tiles[0]["url"] and "/cia_w/" in img.tiles[1]["url"]
    assert vec.crs == img.crs == "wgs84"  # CGCS2000: no shift
    page = workspace_map(ws, basemap="tianditu-img", kinds=["eco_node"]).html()
    assert "img_w/wmts" in page and "cia_w/wmts" in page


def test_osm_is_the_default_and_its_tile_url_is_configured(built, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    m = built["online"]
    assert m.basemap.id == "osm"
    page = m.html()
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert "OpenStreetMap" in page
    # online maps inline the vendored Leaflet too: a CDN is often unreachable on a mainland intranet
    assert not re.search(r'<script src="https?://', page) and not re.search(r'<link[^>]+href="https?://', page)
    assert "Leaflet 1.9.4" in page or "leaflet 1.9.4" in page.lower()


def test_tianditu_is_the_online_default_when_a_key_is_set(monkeypatch):
    from maps.render import resolve_basemap

    monkeypatch.setenv("TIANDITU_KEY", "test-browser-key")
    assert resolve_basemap(None, offline=False).id == "tianditu-vec"
    assert resolve_basemap(None, offline=True).id == "none"
    monkeypatch.delenv("TIANDITU_KEY")
    assert resolve_basemap(None, offline=False).id == "osm"


def test_offline_refuses_tiles():
    from maps.render import resolve_basemap

    with pytest.raises(MapError, match="offline"):
        resolve_basemap("osm", offline=True)
    assert resolve_basemap(None, offline=True).id == "none"
    assert resolve_basemap(None, offline=False).id == "osm"


def test_amap_shifts_overlays_to_gcj02(ws):
    from spatial.geo.gcj02 import wgs84_to_gcj02

    m = workspace_map(ws, basemap="amap", kinds=["eco_node", "admin_county"], simplify_m=0)
    assert m.basemap.crs == "gcj02"
    node = m.layer("eco_node").data["features"][0]["geometry"]["coordinates"]
    orig = ws.layers["eco_node"].gdf.geometry.iloc[0]
    dist = GEOD.inv(orig.x, orig.y, node[0], node[1])[2]
    assert 300 < dist < 800, dist            # GCJ-02 is some 500 m off around Changshan
    glon, glat = wgs84_to_gcj02(orig.x, orig.y)
    assert abs(node[0] - glon) < 2e-6 and abs(node[1] - glat) < 2e-6
    # a polygon vertex too
    ring = m.layer("admin_county").data["features"][0]["geometry"]
    first = np.array(ring["coordinates"][0][0] if ring["type"] == "Polygon" else ring["coordinates"][0][0][0])
    o = shapely.get_coordinates(ws.layers["admin_county"].gdf.geometry.iloc[0])[0]
    assert 300 < GEOD.inv(o[0], o[1], first[0], first[1])[2] < 800
    page = m.html()
    assert "GCJ-02" in page and "autonavi.com" in page
    # with any other basemap nothing moves
    plain = workspace_map(ws, basemap="none", kinds=["eco_node"], simplify_m=0)
    p = plain.layer("eco_node").data["features"][0]["geometry"]["coordinates"]
    assert GEOD.inv(orig.x, orig.y, p[0], p[1])[2] < 0.2


# ------------------------------------------------------------------------------------------ layers

def test_simplification_tolerance_in_metres():
    # a wiggly 2 km line near Changshan, 1 m steps with ±3 m zigzag
    lon0, lat0 = 118.5, 28.9
    x = np.linspace(0, 2000, 2001)
    y = 3.0 * np.sin(x / 7.0)
    deg_lat = 1 / 110_800.0
    deg_lon = 1 / (111_320.0 * np.cos(np.radians(lat0)))
    line = shapely.LineString(np.c_[lon0 + x * deg_lon, lat0 + y * deg_lat])
    gdf = gpd.GeoDataFrame({"name": ["l"]}, geometry=[line], crs="EPSG:4490")
    out = simplify(gdf, 10.0)
    simple = out.geometry.iloc[0]
    assert len(simple.coords) < 20 < len(line.coords)
    from maps.layers import projected_crs

    proj = projected_crs(gdf)
    a = gpd.GeoSeries([line], crs=4490).to_crs(proj).iloc[0]
    b = gpd.GeoSeries([simple], crs=4490).to_crs(proj).iloc[0]
    assert a.hausdorff_distance(b) <= 10.0 + 1e-6
    assert len(simplify(gdf, 0).geometry.iloc[0].coords) == len(line.coords)
    # display coordinates are rounded to 1e-6 degrees
    coords = shapely.get_coordinates(display_gdf(gdf, simplify_m=10.0).geometry.values)
    assert np.allclose(coords, np.round(coords, 6))


def test_layers_chinese_first_bilingual_labels_popups_and_styles(built, ws):
    m = built["offline"]
    catalog = ws.catalog
    assert {lyr.id for lyr in m.layers} == set(ws.layers)
    for lyr in m.layers:
        kind = catalog.kinds[lyr.id]
        assert lyr.label == f"{kind.name_zh} {kind.name_en}"
        assert lyr.group == kind.group
        assert lyr.count == int((~ws.layers[lyr.id].gdf.geometry.is_empty).sum())
    mines = m.layer("mine_site")
    status_colours = catalog.kinds["mine_site"].extra["status_styles"]
    src = ws.layers["mine_site"].gdf
    for feat, status in zip(mines.data["features"], src["status"]):
        assert mines.styles[feat["properties"].get("_s", 0)]["fillColor"] == status_colours[status]
        assert feat["properties"]["status"].startswith(status)          # 已修复 restored …
        assert feat["properties"]["_illus"] == 1
    # feature labels: Chinese name first, English after
    first = src.iloc[0]
    assert mines.data["features"][0]["properties"]["_label"] == f"{first['name']} {first['name_en']}"
    fields = dict(mines.meta["fields"])
    assert fields["status"] == "状态 Status" and fields["illustrative"] == "数据性质 Data status"
    assert "name" not in fields                      # the name is the popup's title
    assert mines.data["features"][0]["properties"]["illustrative"].startswith("示意数据 illustrative")
    # real layers are marked as such, illustrative ones in the legend
    assert not m.layer("admin_county").illustrative and m.layer("ecological_redline").illustrative
    legend = m.html()
    assert "※示意 illustrative" in legend and "图例 Legend" in legend
    # outline-only polygons do not catch clicks over their inside
    assert m.layer("admin_county").styles[0]["fill"] is False


def test_offline_html_is_self_contained(built):
    page = built["offline"].html()
    assert offline_mod.external_references(page) == []
    assert "<script src=" not in page and 'rel="stylesheet"' not in page
    for header in ("leaflet 1.9.4 (BSD-2-Clause)", "leaflet.fullscreen 3.0.0 (MIT)", "leaflet-measure 2.1.7 (MIT)",
                   "leaflet-minimap 3.6.1 (BSD-2-Clause)"):
        assert header in page
    assert "Vladimir Agafonkin" in page                       # Leaflet's own licence header kept
    size = built["offline"].size
    assert size and size < 2_500_000, size                   # a county map stays small
    # an unknown external script is refused, not left in
    with pytest.raises(offline_mod.OfflineError):
        offline_mod.make_offline('<script src="https://example.invalid/x.js"></script>')


def test_vendored_files_have_their_licences():
    vendor = offline_mod.VENDOR
    for pkg, lic in (("leaflet", "LICENSE"), ("leaflet.fullscreen", "LICENSE"), ("leaflet-measure", "LICENSE"),
                     ("leaflet-minimap", "LICENSE.txt")):
        assert (vendor / pkg / lic).is_file()
    text = (vendor / "VENDOR.md").read_text(encoding="utf-8")
    for name in ("leaflet@1.9.4", "leaflet.fullscreen@3.0.0", "leaflet-measure@2.1.7", "leaflet-minimap@3.6.1"):
        assert name in text


def test_pattern_map_names_the_plans_pattern(built, ws):
    m = built["pattern"]
    page = m.html()
    assert "绿屏环绕、一心多点、三廊串联" in page
    ids = [lyr.id for lyr in m.layers]
    for k in ("eco_source", "eco_corridor", "eco_node"):
        assert k in ids


def test_check_map_colours_projects_by_verdict(built, check_result):
    m = built["check"]
    proj = m.layer("projects")
    verdicts = list(check_result.projects["verdict"])
    assert proj.count == len(verdicts)
    for feat, v in zip(proj.data["features"], verdicts):
        style = proj.styles[feat["properties"].get("_s", 0)]
        colour = style.get("fillColor") if style.get("fill", True) else style["color"]
        assert colour == styles.VERDICT_COLOURS[v]
        assert "<table" in feat["properties"]["_html"]        # one popup table per project
    pieces = m.layer("overlaps")
    assert pieces.count == len(check_result.pieces)
    ranks = [check_result.verdicts.ascending.index(f["properties"]["verdict"]) if "verdict" in f["properties"] else 0
             for f in pieces.data["features"]]
    assert ranks == sorted(ranks)                           # prohibited pieces drawn last, on top


def test_check_map_embeds_in_report(check_result, ws, tmp_path):
    from spatial.outputs.check_report import write_check_outputs

    frag = check_map_html(check_result, ws)
    assert frag.startswith("<iframe") and "srcdoc=" in frag and "https://cdn" not in frag
    path, link = write_check_map(check_result, tmp_path, ws, offline=True)
    assert path.name == "check_map.html" and 'src="check_map.html"' in link
    files = write_check_outputs(check_result, tmp_path, map_html=link, xlsx=False)
    report = Path(files["report.html"]).read_text(encoding="utf-8")
    assert 'src="check_map.html"' in report


# ------------------------------------------------------------------------------------------ browser

def test_offline_demo_map_in_chromium(built, chromium):
    m = built["offline"]
    page, log = _open(chromium, m.path)
    try:
        # the controls are there
        for sel in (".leaflet-control-scale", ".leaflet-control-minimap", ".leaflet-control-measure",
                    ".leaflet-control-zoom-fullscreen", ".pm-search input", ".pm-legend", ".pm-title"):
            assert page.locator(sel).count() >= 1, sel
        legend = page.inner_text(".pm-legend")
        assert "图例 Legend" in legend and "示意" in legend and "已修复 restored" in legend
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        # layer control: every layer, Chinese name first, under its catalogue group heading
        items = page.evaluate(CONTROL_JS)
        labels = {i["kind"]: i["label"] for i in items if "label" in i}
        groups = [i["group"] for i in items if "group" in i]
        for lyr in m.layers:
            assert labels[lyr.id] == lyr.label
            assert re.match(r"^[\u4e00-\u9fff]", labels[lyr.id]), labels[lyr.id]
            assert lyr.group in groups
        # every feature of every layer is in the DOM once all layers are on
        page.evaluate(ALL_ON_JS)
        page.wait_for_timeout(200)
        counts = page.evaluate(COUNT_JS)
        assert counts == {lyr.id: lyr.count for lyr in m.layers}
        # search by name opens the feature's popup, with its bilingual attribute table
        search = page.locator(".pm-search input")
        search.fill("东案乡小野叶腊石矿")
        search.press("Enter")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5000)
        text = popup.inner_text()
        assert "东案乡小野叶腊石矿" in text and "状态 Status" in text and "示意数据 illustrative" in text
        # the measuring tool starts and measures without an error
        page.hover(".leaflet-control-measure")
        page.click(".leaflet-control-measure a.start")
        box = page.locator("#" + m.map.get_name()).bounding_box()
        for dx, dy in ((0.45, 0.5), (0.55, 0.5), (0.55, 0.6)):
            page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
            page.wait_for_timeout(80)
        page.click(".leaflet-control-measure a.finish")
        page.wait_for_timeout(100)
    finally:
        page.context.close()
    assert log.errors == []
    assert log.external_requests == []


def test_online_map_needs_no_cdn(built, chromium):
    """The online variant without tiles runs with the network cut: its scripts are inlined from maps/vendor."""
    m = built["online_nobase"]
    page, log = _open(chromium, m.path)
    try:
        page.evaluate(ALL_ON_JS)
        page.wait_for_timeout(200)
        assert page.evaluate(COUNT_JS) == {lyr.id: lyr.count for lyr in m.layers}
    finally:
        page.context.close()
    assert log.errors == [] and log.external_requests == [] and log.served == []


def test_pattern_and_check_maps_in_chromium(built, chromium, check_result):
    for key in ("pattern", "check"):
        m = built[key]
        page, log = _open(chromium, m.path)
        try:
            visible = {lyr.id: lyr.count for lyr in m.layers if lyr.show}
            counts = page.evaluate(COUNT_JS)
            assert counts == visible, key
            legend = page.inner_text(".pm-legend")
            if key == "pattern":
                assert "绿屏环绕、一心多点、三廊串联" in legend
            else:
                assert "禁止 Prohibited" in legend and "重叠部分" in legend and "Overlap pieces" in legend
                fills = page.evaluate("""() => [...document.querySelectorAll('path.pm-k-projects')]
                    .map(p => p.getAttribute('fill') === 'none' ? p.getAttribute('stroke') : p.getAttribute('fill'))""")
                expected = sorted(styles.VERDICT_COLOURS[v] for v in check_result.projects["verdict"])
                assert sorted(fills) == expected
        finally:
            page.context.close()
        assert log.errors == [], key
        assert log.external_requests == [], key


def test_publish_site_opens_from_disk(ws, chromium, tmp_path):
    from typer.testing import CliRunner

    from spatial.cli.main import app

    out = tmp_path / "site"
    res = CliRunner().invoke(app, ["publish", "--out", str(out), "--offline"])
    assert res.exit_code == 0, res.output
    index = out / "index.html"
    html = index.read_text(encoding="utf-8")
    for link in ("maps/workspace.html", "maps/pattern.html", "check/check_map.html", "check/report.html",
                 "indicators/indicators.html"):
        assert f'href="{link}"' in html and (out / link).is_file(), link
    assert "指标 Indicators" in html and "图层 Layers" in html
    page, log = _open(chromium, index, ready=None, wait_ms=0)
    try:
        links = page.evaluate("() => [...document.querySelectorAll('.card a')].map(a => a.href)")
        assert len(links) == 5
        page.click("a[href='check/report.html']")
        page.wait_for_load_state("load")
        frame = page.frame_locator("iframe.check-map")
        frame.locator(".leaflet-control-layers").wait_for(timeout=10_000)
        assert frame.locator("path.pm-k-projects").count() == len(ws.projects.gdf)
    finally:
        page.context.close()
    assert log.errors == [] and log.external_requests == []
