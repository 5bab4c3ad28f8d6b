"""Basemaps: OpenStreetMap, Tianditu (天地图) vector and imagery with annotation, AMap (高德, GCJ-02), or none.

Our layers are CGCS2000 (EPSG:4490), which web maps can take as WGS84 (they differ by centimetres).
Tianditu's web-Mercator services (``vec_w``/``cva_w``, ``img_w``/``cia_w``) are CGCS2000 too, so the layers
sit on them as they are. AMap tiles are drawn in GCJ-02 (火星坐标, shifted some 500 m around Changshan):
with that basemap every overlay is converted to GCJ-02 on the fly (``spatial.geo.gcj02``) and the legend says so;
the map never shows CGCS2000 layers on GCJ-02 tiles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from spatial.errors import MapError

BASEMAPS = ("osm", "tianditu-vec", "tianditu-img", "amap", "none")
TIANDITU_ENV = "TIANDITU_KEY"


@dataclass(frozen=True)
class Basemap:
    id: str
    label: str                     # Chinese first, for the layer control
    tiles: list[dict[str, Any]] = field(default_factory=list)
    crs: str = "wgs84"             # wgs84 (CGCS2000 ≈ WGS84) | gcj02: the datum the overlays must be drawn in
    note: str = ""                 # shown in the legend

    @property
    def has_tiles(self) -> bool:
        return bool(self.tiles)


OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

TIANDITU_URL = ("https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
                "&TILECOL={{x}}&tk={key}")
TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> 国家地理信息公共服务平台'

AMAP_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
AMAP_ATTRIBUTION = '&copy; <a href="https://www.amap.com/">高德地图 AMap</a> (GCJ-02)'


def _tianditu(layer: str, key: str, attribution: str = "") -> dict[str, Any]:
    options: dict[str, Any] = {"subdomains": "01234567", "maxZoom": 18, "maxNativeZoom": 18}
    if attribution:
        options["attribution"] = attribution
    return {"url": TIANDITU_URL.format(layer=layer, key=key, s="{s}"), "options": options}


def basemap(name: str, *, tianditu_key: str | None = None) -> Basemap:
    """The basemap called ``name`` (one of :data:`BASEMAPS`).

    Tianditu needs a key: ``tianditu_key`` or the environment variable ``TIANDITU_KEY``. The key ends up in the
    HTML (the tiles are requested by the browser), so use a browser-side key (浏览器端密钥).
    """
    name = (name or "osm").strip().lower()
    if name == "osm":
        return Basemap("osm", "OpenStreetMap 开放街道地图",
                       [{"url": OSM_URL, "options": {"maxZoom": 19, "attribution": OSM_ATTRIBUTION}}],
                       note="底图 Basemap: OpenStreetMap (WGS84 ≈ CGCS2000)")
    if name in ("tianditu-vec", "tianditu-img"):
        key = tianditu_key or os.environ.get(TIANDITU_ENV, "").strip()
        if not key:
            raise MapError(
                f"basemap {name!r} needs a Tianditu (天地图) key: set the environment variable {TIANDITU_ENV} "
                f"(e.g. export {TIANDITU_ENV}=your-browser-key, from https://console.tianditu.gov.cn), or choose "
                f"--basemap osm or --basemap none")
        if name == "tianditu-vec":
            return Basemap(name, "天地图矢量 Tianditu vector",
                           [_tianditu("vec", key, TIANDITU_ATTRIBUTION), _tianditu("cva", key)],
                           note="底图 Basemap: 天地图矢量+注记 Tianditu vector + annotation (CGCS2000)")
        return Basemap(name, "天地图影像 Tianditu imagery",
                       [_tianditu("img", key, TIANDITU_ATTRIBUTION), _tianditu("cia", key)],
                       note="底图 Basemap: 天地图影像+注记 Tianditu imagery + annotation (CGCS2000)")
    if name == "amap":
        return Basemap("amap", "高德地图 AMap (GCJ-02)",
                       [{"url": AMAP_URL, "options": {"subdomains": "1234", "maxZoom": 18,
                                                      "attribution": AMAP_ATTRIBUTION}}],
                       crs="gcj02",
                       note="底图 Basemap: 高德地图 AMap，GCJ-02 坐标；图层已实时转换为 GCJ-02 以与底图对齐 "
                            "(overlays shifted from CGCS2000 to GCJ-02, ~500 m, to match the tiles)")
    if name == "none":
        return Basemap("none", "无底图 No basemap", [], note="无底图 No basemap")
    raise MapError(f"unknown basemap {name!r}; choose one of {', '.join(BASEMAPS)}")
