#!/usr/bin/env python
"""Build ``layers/changshan/compliance.gpkg``: the demo's compliance layers, all illustrative (illustrative = 1).

Drawn deterministically (no random draws) from the committed ``changshan.gpkg`` and ``projects.gpkg``:

ecological_redline_2023
    The current red line (version 2020) with the 千里岗 north patch enlarged by a disc of 1.6 km radius
    centred on the free ecological space (no red line, farmland or urban boundary; 千里岗 zone) nearest the
    patch's centre, and a 680 m square cut from the 常山港枧头段 patch around its representative point: the
    金衢盆地 strategic zone loses area while the total grows.
farmland_occupied
    Three occupation parcels: the permanent-farmland parcels nearest the county-town urban boundary (the
    planted conflict parcel excepted), each cut to within 600 m of the boundary and to a 110 m disc around
    the point nearest it; ZLDJ = the grade of the farmland parcel.
farmland_compensated
    Four new parcels in agricultural space near 招贤镇, clear of farmland, the red line and urban space:
    three 150 m × 120 m rectangles in a row (one patch) and one apart; ZLDJ 6, 6, 7, 6 — more area than
    the occupation but of lower quality, so the balance fails on grade.
sensitive_receptor
    Five points (name, kind): a school 300 m north-west of the 浙江钙产业循环经济基地（辉埠） site, a housing
    area 500 m south of it, an elderly-care home 800 m east of it, the county hospital in the county town
    and a housing area 600 m from the waste incinerator.

Run after ``scripts/build_demo.py`` (which calls it): ``python scripts/build_demo_compliance.py``.  It
rewrites ``workspace.toml`` with the versions, receptor and ``[balance]`` entries.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely.geometry import Point, box
from shapely.ops import nearest_points

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

OUT = ROOT / "layers" / "changshan"
GPKG = "compliance.gpkg"
REDLINE_2023 = "ecological_redline_2023"
ENLARGE_RADIUS_M = 1600.0
CUT_HALF_M = 340.0
OCCUPY_WITHIN_M = 600.0
OCCUPY_RADIUS_M = 110.0
COMPENSATE_NEAR = (118.630, 28.915)  # 招贤镇 (approximate)
COMPENSATE_GRADES = (6, 6, 7, 6)
PARCEL_M = (150.0, 120.0)
HUIBU_PROJECT = "浙江钙产业循环经济基地（辉埠）"
INCINERATOR = "常山县垃圾焚烧项目"
RECEPTORS = [  # (name, kind, project or place, distance m from the project boundary, bearing degrees)
    ("辉埠镇中心小学（示意）", "学校", HUIBU_PROJECT, 300.0, 315.0),
    ("辉埠镇区居民区（示意）", "居民区", HUIBU_PROJECT, 500.0, 180.0),
    ("辉埠镇敬老院（示意）", "养老机构", HUIBU_PROJECT, 800.0, 90.0),
    ("常山县人民医院（示意）", "医院", (118.515, 28.905), 0.0, 0.0),
    ("招贤镇五里村居民点（示意）", "居民区", INCINERATOR, 600.0, 45.0),
]


def _demo():
    import build_demo as bd  # the helpers of the main build (projection, buffers, frames)

    return bd


def ring_point(bd, geom, dist_m: float, bearing_deg: float) -> Point:
    """The point ``dist_m`` beyond ``geom``'s boundary, seen from its centroid at ``bearing_deg`` (0 = north)."""
    work = bd.to_work(geom)
    c = work.centroid
    a = math.radians(bearing_deg)
    far = shapely.LineString([(c.x, c.y), (c.x + 50_000 * math.sin(a), c.y + 50_000 * math.cos(a))])
    edge = far.intersection(work.buffer(dist_m, quad_segs=32).exterior)
    hit = min(shapely.get_parts(edge), key=lambda p: p.distance(c)) if not edge.is_empty else c
    return bd.to_geo(Point(hit.x, hit.y))


def build_redline_2023(bd, layers):
    red = layers["ecological_redline"]
    north = red["name"].str.contains("北片")
    jiantou = red["name"].str.contains("枧头")
    zones = layers["strategic_zone"]
    qianligang = zones.loc[zones["name"].str.startswith("千里岗"), "geometry"].iloc[0]
    free = shapely.difference(shapely.union_all(layers["ecological_space"].geometry.values),
                              shapely.union_all([*layers["permanent_farmland"].geometry,
                                                 *layers["urban_boundary"].geometry, *red.geometry]))
    free = shapely.intersection(free, qianligang)
    # the enlargement: a disc on the free ecological space nearest the north patch's centre
    north_geom = red.loc[north, "geometry"].iloc[0]
    centre = nearest_points(free, north_geom.centroid)[0]
    disc = shapely.intersection(bd.buffer_m(centre, ENLARGE_RADIUS_M, quad_segs=16), free)
    # the removal: a square around the 枧头 patch's representative point
    jt = red.loc[jiantou, "geometry"].iloc[0].representative_point()
    cx, cy = bd._TO_WORK.transform(jt.x, jt.y)
    cut = bd.to_geo(box(cx - CUT_HALF_M, cy - CUT_HALF_M, cx + CUT_HALF_M, cy + CUT_HALF_M))
    out = red.copy()
    out.loc[north, "geometry"] = [bd.polygonal(shapely.union(g, disc, grid_size=bd.GRID))
                                  for g in out.loc[north, "geometry"]]
    out.loc[jiantou, "geometry"] = [bd.polygonal(shapely.difference(g, cut, grid_size=bd.GRID))
                                    for g in out.loc[jiantou, "geometry"]]
    out["version"] = "2023"
    out["illustrative"] = 1
    out["note"] = [bd.ILLUSTRATIVE_NOTE + ("; 扩大 enlarged 2023" if n else "; 调出一块 piece removed 2023" if j else "")
                   for n, j in zip(north, jiantou)]
    out["geometry"] = [shapely.MultiPolygon(shapely.get_parts(g)) if g.geom_type == "Polygon" else g
                       for g in out.geometry]
    return out


def build_occupied(bd, layers):
    farmland = layers["permanent_farmland"]
    town = layers["urban_boundary"].geometry.iloc[0]  # the county town
    fl = farmland[farmland["conflict_demo"] != 1]
    fl = fl[~fl.intersects(town)]
    dist = bd.to_work(town).distance(gpd.GeoSeries([bd.to_work(g) for g in fl.geometry]).values)
    near = fl.iloc[np.argsort(dist)[:3]]
    zone = bd.buffer_m(town, OCCUPY_WITHIN_M)
    rows = []
    for k, (_, row) in enumerate(near.iterrows(), 1):
        nearest = nearest_points(row.geometry, town)[0]
        piece = bd.polygonal(shapely.intersection(row.geometry, shapely.intersection(
            zone, bd.buffer_m(nearest, OCCUPY_RADIUS_M, quad_segs=16))))
        rows.append({"name": f"城西建设占用地块{k}（示意）", "name_en": f"Occupation parcel {k} by the county town",
                     "ZLDJ": int(row["grade"]), "farmland_parcel": row["name"], "geometry": piece})
    return bd.gdf(rows)


def _room(bd, layers):
    agri = shapely.union_all(layers["agricultural_space"].geometry.values)
    blocked = shapely.union_all([*layers["permanent_farmland"].geometry, *layers["ecological_redline"].geometry,
                                 *layers["urban_space"].geometry])
    return bd.to_work(shapely.difference(agri, bd.buffer_m(blocked, 30.0)))


def build_compensated(bd, layers, occupied_m2: float):
    room = _room(bd, layers)
    shapely.prepare(room)
    w, h = PARCEL_M
    footprint = [(0, 0), (w, 0), (2 * w, 0), (w, 3 * h)]   # three in a row, one 2 rows above the middle one
    cx, cy = bd._TO_WORK.transform(*COMPENSATE_NEAR)
    for step in range(0, 6000, 50):
        ring = [(cx + dx, cy + dy) for dx in range(-step, step + 1, 50) for dy in (-step, step)] if step else [(cx, cy)]
        for x0, y0 in ring:
            rects = [box(x0 + dx, y0 + dy, x0 + dx + w, y0 + dy + h) for dx, dy in footprint]
            if all(room.contains(r) for r in rects):
                rows = [{"name": f"招贤镇补充耕地地块{k}（示意）", "name_en": f"Compensation parcel {k} near Zhaoxian",
                         "ZLDJ": g, "geometry": bd.to_geo(r)}
                        for k, (r, g) in enumerate(zip(rects, COMPENSATE_GRADES), 1)]
                frame = bd.gdf(rows)
                assert sum(bd.geod_area_m2(g) for g in frame.geometry) > occupied_m2, "compensation too small"
                return frame
    raise RuntimeError("no room for the compensation parcels near 招贤镇; move COMPENSATE_NEAR")


def build_receptors(bd, projects):
    rows = []
    for name, kind, where, dist, bearing in RECEPTORS:
        if isinstance(where, tuple):
            pt = Point(where)
        else:
            pt = ring_point(bd, projects.loc[projects["name"] == where, "geometry"].iloc[0], dist, bearing)
        rows.append({"name": name, "kind": kind, "near_project": where if isinstance(where, str) else "",
                     "distance_m": dist if isinstance(where, str) else None,
                     "geometry": Point(round(pt.x, 7), round(pt.y, 7))})
    return bd.gdf(rows)


COMPLIANCE_TOML = """
[layers.sensitive_receptor]
path = "compliance.gpkg"
layer = "sensitive_receptor"
name_field = "name"

# Versions of the red line (spatial ledger); both illustrative.
[layers.ecological_redline.versions.2020]
layer = "ecological_redline"
date = "2020-12-31"
note = "示意：当前红线 illustrative: the current red line"

[layers.ecological_redline.versions.2023]
path = "compliance.gpkg"
layer = "ecological_redline_2023"
date = "2023-12-31"
note = "示意：千里岗北片扩大，枧头段调出一块 illustrative: north patch enlarged, a piece removed at Jiantou"

# Farmland occupation and compensation (spatial balance); illustrative.
[balance]
grade_field = "ZLDJ"
best_grade = "low"
occupied = { path = "compliance.gpkg", layer = "farmland_occupied" }
compensated = { path = "compliance.gpkg", layer = "farmland_compensated" }

# Distances of the distance rules (spatial check): the plans give none (SEED_BRIEF note 10); these are the demo's
# own illustrative choices, to show the rules at work. Set yours.
[within]
sensitive_receptor = 500   # SO10 / SO11 (000:1093)
water_source_zone = 1000   # WA2 (000:1059)
river = 50                 # WA6 shoreline buffer strip (001:327)
"""


def build(out: Path = OUT) -> dict[str, gpd.GeoDataFrame]:
    """Write compliance.gpkg and workspace.toml (with the compliance entries) in ``out``."""
    bd = _demo()
    src = out / "changshan.gpkg"
    layers = {n: gpd.read_file(src, layer=n, engine="pyogrio") for n in pyogrio.list_layers(src)[:, 0]}
    projects = gpd.read_file(out / "projects.gpkg", layer="projects", engine="pyogrio")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": bd.BUILD_DATE})
    occupied = build_occupied(bd, layers)
    frames = {
        REDLINE_2023: build_redline_2023(bd, layers),
        "farmland_occupied": occupied,
        "farmland_compensated": build_compensated(bd, layers, sum(bd.geod_area_m2(g) for g in occupied.geometry)),
        "sensitive_receptor": build_receptors(bd, projects),
    }
    bd.write_layers(out / GPKG, frames)
    toml = bd.workspace_toml(list(layers), (out / "dem.tif").exists(), compliance=True)
    (out / "workspace.toml").write_text(toml, encoding="utf-8")
    return frames


def main() -> int:
    frames = build()
    for name, frame in frames.items():
        print(f"{name}: {len(frame)} features")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
