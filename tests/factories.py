"""Test data made on the fly (into pytest's tmp_path): layers, shapefiles, boundary-point txt files.

Everything is generated from a few coordinates near Changshan (常山县, around 118.5 °E, 28.9 °N,
on the border of Gauss–Krüger zones 39 and 40); nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient

GEOD = Geod(ellps="GRS80")

# Chinese names exercise the encodings; one is only in GBK's two-byte range, one has a rarer character.
NAMES = ["常山港生态保护红线", "辉埠镇矿山修复区", "三衢山地质公园"]


def lonlat_square(lon: float, lat: float, size_deg: float = 0.01) -> Polygon:
    return box(lon, lat, lon + size_deg, lat + size_deg)


def demo_layer(crs: str | int = 4490, n: int = 3) -> gpd.GeoDataFrame:
    """``n`` squares of ~1 km near Changshan with Chinese names (``name``) and a code."""
    geoms = [lonlat_square(118.40 + 0.03 * i, 28.90 + 0.01 * i) for i in range(n)]
    gdf = gpd.GeoDataFrame({"name": (NAMES * n)[:n], "code": [f"C{i + 1}" for i in range(n)]},
                           geometry=geoms, crs=4490)
    return gdf.to_crs(crs) if crs not in (4490, "EPSG:4490") else gdf


def geodesic_area_m2(geom, crs="EPSG:4490", step_m: float | None = None) -> float:
    """Independent geodesic area (pyproj.Geod on GRS80) of a (multi)polygon in ``crs``.

    ``step_m``: densify in the source CRS first (for projected sources, whose edges are straight in the
    plane); for geographic sources densify in degrees by ``step_m`` / 111 km.
    """
    tr = None
    if str(crs).upper() not in ("EPSG:4490", "4490"):
        tr = Transformer.from_crs(crs, 4490, always_xy=True)
    total = 0.0
    polys = list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]
    for poly in polys:
        for k, ring in enumerate([poly.exterior, *poly.interiors]):
            if step_m:
                step = step_m if tr is not None else step_m / 111_000.0
                ring = shapely.segmentize(ring, step)
            xy = np.asarray(ring.coords)
            x, y = (tr.transform(xy[:, 0], xy[:, 1]) if tr is not None else (xy[:, 0], xy[:, 1]))
            a = abs(GEOD.polygon_area_perimeter(x, y)[0])
            total += a if k == 0 else -a
    return total


def geod_area(geom, step_deg: float = 0.0002) -> float:
    """Independent geodesic area (pyproj.Geod, GRS80) of an EPSG:4490 geometry densified every ``step_deg``;
    0 for None or empty. Only its polygon parts count."""
    if geom is None or geom.is_empty:
        return 0.0
    geom = shapely.segmentize(geom, step_deg)
    return sum(GEOD.geometry_area_perimeter(orient(p, 1.0))[0]
               for p in shapely.get_parts(geom) if p.geom_type == "Polygon")


def gdf(*geoms) -> gpd.GeoDataFrame:
    """An EPSG:4490 layer of ``geoms`` named f0, f1, …"""
    return gpd.GeoDataFrame({"name": [f"f{i}" for i in range(len(geoms))]}, geometry=list(geoms), crs=4490)


def write_gpkg(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    for name, gdf in layers.items():
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG")
    return path


def write_shapefile(path: Path, gdf: gpd.GeoDataFrame, *, encoding: str = "UTF-8", cpg: bool = True,
                    prj: bool = True, ldid: int | None = None) -> Path:
    """A shapefile with its text in ``encoding``; optionally without the .cpg / .prj, or with a dBASE
    language-driver byte set in the .dbf header."""
    pyogrio.write_dataframe(gdf, path, driver="ESRI Shapefile", encoding=encoding)
    if not cpg:
        path.with_suffix(".cpg").unlink(missing_ok=True)
    if not prj:
        path.with_suffix(".prj").unlink(missing_ok=True)
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        data = bytearray(dbf.read_bytes())
        data[29] = ldid
        dbf.write_bytes(bytes(data))
    return path


def bowtie(lon: float = 118.45, lat: float = 28.95, d: float = 0.01) -> Polygon:
    """A self-intersecting ring crossing at its centre: two triangles of equal size."""
    return Polygon([(lon, lat), (lon + d, lat + d), (lon + d, lat), (lon, lat + d), (lon, lat)])


def gk_points(lonlat: Sequence[tuple[float, float]], epsg: int) -> list[tuple[float, float]]:
    tr = Transformer.from_crs(4490, epsg, always_xy=True)
    return [tuple(float(v) for v in tr.transform(lon, lat)) for lon, lat in lonlat]


def gk_rect(lon: float, lat: float, dx_m: float, dy_m: float, epsg: int) -> list[tuple[float, float]]:
    """Corners (easting, northing) of a dx × dy metre rectangle whose south-west corner is at lon/lat in ``epsg``,
    counter-clockwise, not closed."""
    (e, n), = gk_points([(lon, lat)], epsg)
    e, n = round(e, 3), round(n, 3)
    return [(e, n), (e + dx_m, n), (e + dx_m, n + dy_m), (e, n + dy_m)]


def boundary_point_text(parcels: Iterable[dict], *, header: dict[str, str] | None = None,
                        swap_xy: bool = False, close_rings: bool = True) -> str:
    """The text of a boundary-point file.

    Each parcel: ``{"rings": [[(easting, northing), ...], ...], "fields": [...header fields without the
    count and '@'...]}``; ring 1 is the outer ring, later rings holes.  Points are written ``J<n>,ring,X,Y``
    with X the northing and Y the easting (``swap_xy`` writes them the wrong way round).
    """
    head = {"格式版本号": "1.01", "数据产生单位": "常山县自然资源和规划局", "数据产生日期": "2024-05-01",
            "坐标系": "2000国家大地坐标系", "几度分带": "3", "投影类型": "高斯克吕格", "计量单位": "米",
            "带号": "39", "精度": "0.001", "转换参数": ",,,,,,"}
    head.update(header or {})
    lines = ["[属性描述]", *(f"{k}={v}" for k, v in head.items() if v is not None), "[地块坐标]"]
    for parcel in parcels:
        pts: list[str] = []
        no = 0
        for r, ring in enumerate(parcel["rings"], 1):
            first = no + 1
            for e, n in ring:
                no += 1
                x, y = (e, n) if swap_xy else (n, e)
                pts.append(f"J{no},{r},{x:.3f},{y:.3f}")
            if close_rings:
                e, n = ring[0]
                x, y = (e, n) if swap_xy else (n, e)
                pts.append(f"J{first},{r},{x:.3f},{y:.3f}")
        count = parcel.get("count", len(pts))
        lines.append(",".join([str(count), *parcel["fields"], "@"]))
        lines.extend(pts)
    return "\r\n".join(lines) + "\r\n"


def write_boundary_point_file(path: Path, parcels: Iterable[dict], *, encoding: str = "gbk", **kw) -> Path:
    path.write_bytes(boundary_point_text(parcels, **kw).encode(encoding))
    return path


def two_parcels(epsg: int = 4527) -> list[dict]:
    """Two parcels near Changshan in ``epsg``: a 300 m × 200 m block with a 100 m × 50 m hole, and a 150 m × 120 m
    block; declared areas (公顷) set to their plane areas."""
    outer = gk_rect(118.40, 28.90, 300.0, 200.0, epsg)
    e0, n0 = outer[0]
    hole = [(e0 + 100, n0 + 50), (e0 + 100, n0 + 100), (e0 + 200, n0 + 100), (e0 + 200, n0 + 50)]  # clockwise
    second = gk_rect(118.42, 28.91, 150.0, 120.0, epsg)
    return [
        {"rings": [outer, hole], "fields": ["5.5000", "1", "天马街道风电场升压站", "面", "H50G012034", "公用设施用地", ""]},
        {"rings": [second], "fields": ["1.8000", "2", "辉埠镇钙产业基地", "面", "H50G012035", "工业用地", "061",
                                       "浙江扩展字段"]},
    ]
