"""Land-approval boundary-point files (界址点坐标 txt): reader and writer.

The exchange format of construction-land approval (建设用地报批) coordinate files, usually GBK::

    [属性描述]
    格式版本号=1.01
    数据产生单位=某某县自然资源和规划局
    数据产生日期=2024-05-01
    坐标系=2000国家大地坐标系
    几度分带=3
    投影类型=高斯克吕格
    计量单位=米
    带号=39
    精度=0.001
    转换参数=,,,,,,
    [地块坐标]
    9,1.2345,1,某某地块,面,H50G012034,建设用地,,@
    J1,1,3207654.321,39512345.678
    J2,1,3207654.321,39512445.678
    ...
    J1,1,3207654.321,39512345.678

Per parcel a header line ``界址点数,地块面积(公顷),地块编号,地块名称,图形属性(点/线/面),图幅号,地块用途,
地类编码…,@`` (the number of fields varies by province; the last is ``@``), then point lines
``点号,圈号,X,Y`` where **X is the northing and Y the easting** (with the zone prefix when present).
Ring 1 is the outer boundary, further rings are holes; each ring is closed by repeating its first
point.  The zone comes from ``带号`` (or a ``.prj`` beside the file, or the easting prefix), never
from the longitude (118.5 °E, in Changshan, is exactly the zone 39/40 border).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import (
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)

from spatial.errors import BoundaryPointError
from spatial.geo.area import area_m2
from spatial.geo.crs import (
    GK3_ZONES,
    GK6_ZONES,
    central_meridian,
    detect_gk_crs,
    gk_epsg,
    gk_epsg_for,
    gk_zone_for_lon,
    gk_zone_of_epsg,
    zone_excess_deg,
)
from spatial.sources.names import feature_names

M2_PER_HA = 10_000.0
AREA_TOLERANCE = 0.01  # relative difference between declared and computed area worth a warning

HEADER_SECTION = "属性描述"
COORD_SECTION = "地块坐标"

# the usual [属性描述] keys, in the order files list them
HEADER_KEYS = ("格式版本号", "数据产生单位", "数据产生日期", "坐标系", "几度分带", "投影类型", "计量单位", "带号",
               "精度", "转换参数")

COLUMNS = ("name", "parcel_no", "declared_area_ha", "computed_area_ha", "point_count", "land_use", "shape_kind",
           "sheet", "remark")


@dataclass
class Note:
    """Something worth telling the user about a boundary-point file (a parcel or the whole file)."""
    kind: str
    message: str
    parcel: str | None = None      # "#2 某某地块"
    number: int | None = None      # 1-based parcel number in the file
    declared_area_ha: float | None = None
    computed_area_ha: float | None = None


@dataclass
class BoundaryPoints:
    gdf: gpd.GeoDataFrame
    header: dict[str, str]
    encoding: str
    encoding_source: str
    crs_source: str
    notes: list[Note] = field(default_factory=list)


# --- reading ----------------------------------------------------------------------------------------------

def decode_text(raw: bytes, encoding: str | None) -> tuple[str, str, str]:
    """(text, encoding, how it was chosen): ``encoding`` if given, else UTF-8 (with or without BOM), else GB18030."""
    if encoding:
        return raw.decode(encoding), encoding, "given"
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8", "UTF-8 byte-order mark"
    try:
        return raw.decode("utf-8"), "utf-8", "decodes strictly as UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030"), "gb18030", "not UTF-8; read as GB18030 (the GBK superset these files use)"
    except UnicodeDecodeError as exc:
        raise BoundaryPointError(
            f"cannot decode the text as UTF-8 or GB18030/GBK ({exc}); pass the encoding, e.g. --encoding gbk") from None


def _split(line: str) -> list[str]:
    return [f.strip() for f in re.split(r"[,，]", line)]


def _to_float(text: str) -> float:
    return float(text.replace(" ", ""))


def _zone_number(text: str) -> int | None:
    m = re.search(r"\d+", text or "")
    return int(m.group()) if m else None


def _datum(text: str) -> tuple[str, str | None]:
    """(datum id, note) from the 坐标系 value."""
    t = (text or "").replace(" ", "")
    if not t:
        return "cgcs2000", "坐标系 is empty: CGCS2000 (2000国家大地坐标系) assumed"
    if "2000" in t or "CGCS" in t.upper():
        return "cgcs2000", None
    if "80" in t or "西安" in t:
        return "xian1980", ("the file is in the Xian 1980 datum (西安80): converting it to CGCS2000 without the official "
                            "transformation parameters is approximate (errors of tens of metres)")
    if "54" in t or "北京" in t:
        return "beijing1954", ("the file is in the Beijing 1954 datum (北京54): converting it to CGCS2000 without the "
                               "official transformation parameters is approximate (errors of tens of metres)")
    return "cgcs2000", f"坐标系={text} is not recognised: CGCS2000 assumed"


@dataclass
class _Parcel:
    line_no: int
    fields: list[str]
    points: list[tuple[str, str, float, float]] = field(default_factory=list)  # (name, ring, X, Y)


def _parse(text: str, src: str) -> tuple[dict[str, str], list[_Parcel], list[Note]]:
    header: dict[str, str] = {}
    parcels: list[_Parcel] = []
    notes: list[Note] = []
    section = None
    seen_coord_section = False
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section == COORD_SECTION:
                seen_coord_section = True
            elif section != HEADER_SECTION:
                notes.append(Note("unknown_section",
                                  f"line {no}: section [{section}] is not part of the format; ignored"))
            continue
        if section == HEADER_SECTION:
            key, sep, value = line.partition("=")
            if not sep:
                key, sep, value = line.partition("＝")
            if sep:
                header[key.strip()] = value.strip()
            continue
        if section != COORD_SECTION:
            continue
        fields = _split(line)
        while fields and fields[-1] == "" and len(fields) > 1:
            fields.pop()
        if fields and fields[-1] == "@":
            parcels.append(_Parcel(no, fields[:-1]))
            continue
        if len(fields) < 4:
            raise BoundaryPointError(f"{src} line {no}: {line!r} is neither a parcel header (ending in '@') nor a "
                                     f"point line '点号,圈号,X,Y'; fix or remove the line")
        if not parcels:
            raise BoundaryPointError(f"{src} line {no}: a point comes before any parcel header line "
                                     f"('界址点数,面积,编号,名称,面,…,@'); add the header")
        try:
            x, y = _to_float(fields[2]), _to_float(fields[3])
        except ValueError:
            raise BoundaryPointError(f"{src} line {no}: coordinates {fields[2]!r}, {fields[3]!r} are not numbers; "
                                     f"point lines are '点号,圈号,X(北),Y(东)'") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise BoundaryPointError(f"{src} line {no}: coordinates must be finite numbers")
        parcels[-1].points.append((fields[0], fields[1] or "1", x, y))
    if not seen_coord_section:
        raise BoundaryPointError(
            f"{src}: no [{COORD_SECTION}] section: not a boundary-point (界址点坐标) file. Expected '[{HEADER_SECTION}]' "
            f"with 带号=…, then '[{COORD_SECTION}]' with parcel lines ending in '@' and point lines '点号,圈号,X,Y'")
    if not parcels:
        raise BoundaryPointError(f"{src}: the [{COORD_SECTION}] section holds no parcel (no line ending in '@'); "
                                 f"the file is empty or not in the boundary-point format")
    return header, parcels, notes


def _axes(parcels: list[_Parcel]) -> tuple[np.ndarray, np.ndarray, bool]:
    """(easting, northing) arrays of all points and whether the file's X/Y had to be exchanged."""
    pts = np.array([(p[2], p[3]) for parcel in parcels for p in parcel.points], dtype=float).reshape(-1, 2)
    return orient_axes(pts[:, 0], pts[:, 1])


def orient_axes(x_file: np.ndarray, y_file: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(easting, northing) from a file's X (northing by the format) and Y (easting), and whether they had
    to be exchanged: a zone prefix, or else the larger number (the northing, ≥ 2 000 km in China), decides."""
    x_file, y_file = np.asarray(x_file, dtype=float), np.asarray(y_file, dtype=float)
    if len(x_file) == 0:
        return y_file, x_file, False
    normal = (y_file.min(), x_file.min(), y_file.max(), x_file.max())
    swapped = (x_file.min(), y_file.min(), x_file.max(), y_file.max())
    if detect_gk_crs(normal) is not None:
        return y_file, x_file, False
    if detect_gk_crs(swapped) is not None:
        return x_file, y_file, True
    # no zone prefix: the northing (≥ 2 000 km in China) is the larger number, the easting is < 1 000 km
    if x_file.min() < 1_000_000 <= y_file.min():
        return x_file, y_file, True
    return y_file, x_file, False


def _prj_crs(path: Path) -> CRS | None:
    for prj in (path.with_suffix(".prj"), path.with_suffix(".PRJ")):
        if prj.exists():
            try:
                return CRS.from_user_input(prj.read_text(errors="replace"))
            except Exception:  # noqa: BLE001 - an unreadable .prj is reported by the caller
                return None
    return None


def resolve_crs(path: Path, src: str, header: dict[str, str], east: np.ndarray, north: np.ndarray,
                crs: Any, notes: list[Note], *, zone_fix: str | None = None) -> tuple[CRS, str]:
    """The CRS of Gauss–Krüger coordinates and how it was found: ``crs`` if given, else the zone from
    ``header["带号"]`` or the easting prefix (they must agree), the datum from ``坐标系``, the zone width from
    ``几度分带``, or a ``.prj`` beside ``path``; never from the longitude.  ``zone_fix``: the fix named when
    the zone is unknown (default: the boundary-point header's)."""
    if crs is not None:
        try:
            given = CRS.from_user_input(crs)
        except Exception:  # noqa: BLE001 - pyproj raises CRSError
            raise BoundaryPointError(f"{src}: crs={crs!r} is not a coordinate reference system pyproj knows; use e.g. "
                                     f"EPSG:4527 (CGCS2000 3-degree GK zone 39 with zone prefix)") from None
        daihao = header.get("带号", "")
        return given, f"given (crs={crs})" + (f", overriding 带号={daihao}" if daihao else "")
    datum, datum_note = _datum(header.get("坐标系", ""))
    if datum_note:
        notes.append(Note("datum", datum_note))
    width_text = header.get("几度分带", "").strip()
    width = _zone_number(width_text) or 3
    if width not in (3, 6):
        raise BoundaryPointError(f"{src}: 几度分带={width_text} must be 3 or 6; fix the [属性描述] header")
    zones = GK3_ZONES if width == 3 else GK6_ZONES
    zone = _zone_number(header.get("带号", ""))
    prefixes = np.unique((east // 1_000_000).astype(int)) if len(east) else np.array([], dtype=int)
    if len(prefixes) > 1:
        shown = ", ".join(str(p) if p else "none" for p in prefixes.tolist())
        raise BoundaryPointError(f"{src}: the eastings (Y) carry different zone prefixes ({shown}); a file holds one "
                                 f"zone, all with or all without the prefix: split or correct it")
    with_prefix = bool(len(prefixes)) and int(prefixes[0]) > 0
    if with_prefix:
        prefix = int(prefixes[0])
        if zone is None:
            zone = prefix
            notes.append(Note("zone_from_prefix", f"带号 is missing: zone {zone} taken from the easting prefix"))
        elif zone != prefix:
            raise BoundaryPointError(f"{src}: 带号={header.get('带号')} but the eastings (Y) start with zone prefix "
                                     f"{prefix}; correct 带号 or the coordinates (X is the northing, Y the easting)")
    if zone is None:
        prj = _prj_crs(path)
        if prj is not None:
            return prj, f"{path.with_suffix('.prj').name} beside the file (no 带号 in the header)"
        fix = zone_fix or f"add e.g. 带号=39 to the [{HEADER_SECTION}] header, put a .prj beside the file"
        raise BoundaryPointError(
            f"{src}: no 带号 (zone) is given and the eastings carry no zone prefix, so the zone is "
            f"unknown (never guessed from the longitude); {fix}, "
            f"or pass --crs EPSG:4548 (CGCS2000 3-degree GK zone 39 without prefix) / EPSG:4549 (zone 40)")
    if zone not in zones:
        raise BoundaryPointError(f"{src}: 带号={zone} is not a {width}-degree Gauss-Krüger zone of China "
                                 f"({zones.start}–{zones.stop - 1}); check 带号 and 几度分带")
    epsg = gk_epsg_for(zone, with_prefix, width=width, datum=datum)
    _check_zone_range(src, epsg, zone, width, east, north, notes)
    prj = _prj_crs(path)
    if prj is not None and not prj.equals(CRS.from_epsg(epsg)):
        notes.append(Note("prj_disagrees", f"the .prj beside the file ({prj.name}) differs from 带号={zone}: "
                                           f"带号 used (EPSG:{epsg})"))
    how = f"带号={zone}" if header.get("带号") else f"easting prefix {zone}"
    return CRS.from_epsg(epsg), (f"{how}, {width}-degree zones, {'with' if with_prefix else 'without'} zone prefix "
                                 f"-> EPSG:{epsg}")


# Data kept up to this far (degrees of longitude) beyond their zone's edge are usual (a county straddling
# two zones); farther out 带号 is probably wrong; beyond the neighbouring zone too it cannot be right.
ZONE_MARGIN_DEG = 0.5


def _check_zone_range(src: str, epsg: int, zone: int, width: int, east: np.ndarray, north: np.ndarray,
                      notes: list[Note]) -> None:
    if not len(east):
        return
    excess = zone_excess_deg(epsg, (east.min(), north.min(), east.max(), north.max()))
    if excess is None or excess <= ZONE_MARGIN_DEG:
        return
    where = (f"the eastings (Y, {east.min():,.3f} … {east.max():,.3f}) lie {excess:.2f}° of longitude beyond the "
             f"edge of zone {zone} (central meridian {central_meridian(zone, width):g}°E ± {width / 2:g}°)")
    advice = ("check 带号: it is the zone of the central meridian the coordinates were projected with "
              f"({width}-degree zone n: central meridian {'3n' if width == 3 else '6n − 3'} °E), or the number in "
              "front of a prefixed easting")
    if excess > width:
        raise BoundaryPointError(f"{src}: 带号={zone}, but {where}: no zone is used that far out; {advice}")
    notes.append(Note("outside_zone", f"带号={zone}, but {where}; {advice}"))


def _ring_geoms(parcel: _Parcel, kind: str, east: np.ndarray, north: np.ndarray, label: str,
                notes: list[Note], number: int):
    return parcel_geometry([p[1] for p in parcel.points], east, north, kind, label, notes, number)


def parcel_geometry(ring_ids: list[str], east: np.ndarray, north: np.ndarray, kind: str, label: str,
                    notes: list[Note], number: int):
    """One parcel's geometry from its points in file order (``ring_ids``: the 圈号 of each point).

    面 (polygon): rings are closed when open (noted), rings of fewer than 3 distinct points are dropped
    (noted); ring 1 (the first listed) is the outer boundary, a later ring inside it a hole, outside it a
    further part.  线 / 点: lines or points.
    """
    rings: dict[str, list[tuple[float, float]]] = {}
    for ring, e, n in zip(ring_ids, east, north):
        rings.setdefault(ring, []).append((float(e), float(n)))
    if kind in ("点", "point"):
        pts = [Point(c) for r in rings.values() for c in r]
        return pts[0] if len(pts) == 1 else MultiPoint(pts) if pts else None
    if kind in ("线", "line"):
        lines = [LineString(r) for r in rings.values() if len(r) >= 2]
        return None if not lines else lines[0] if len(lines) == 1 else MultiLineString(lines)
    closed: list[tuple[str, list[tuple[float, float]]]] = []
    for ring_no, coords in rings.items():
        if len(coords) >= 2 and coords[0] != coords[-1]:
            notes.append(Note("ring_not_closed", f"{label}: ring {ring_no} does not end on its first point; closed it",
                              parcel=label, number=number))
            coords = coords + [coords[0]]
        if len(set(coords)) < 3:
            notes.append(Note("ring_too_short", f"{label}: ring {ring_no} has fewer than 3 distinct points; ignored",
                              parcel=label, number=number))
            continue
        closed.append((ring_no, coords))
    if not closed:
        return None
    # ring 1 (or the first ring listed) is the outer boundary; others are holes when inside an outer ring,
    # otherwise further parts of the parcel
    outers: list[tuple[Polygon, list, list]] = []  # (outer polygon, its ring, its holes)
    for i, (ring_no, coords) in enumerate(closed):
        poly = Polygon(coords)
        host = None
        if i > 0:
            probe = Point(coords[0])
            for outer in outers:
                if outer[0].covers(probe) and outer[0].covers(poly.representative_point()):
                    host = outer
                    break
        if host is None:
            if i > 0:
                notes.append(Note("separate_part", f"{label}: ring {ring_no} lies outside the outer ring: read as a "
                                                   f"further part of the parcel", parcel=label, number=number))
            outers.append((poly, coords, []))
        else:
            host[2].append(coords)
    polys = [Polygon(shell, holes) for _, shell, holes in outers]
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def load_boundary_points(path: str | Path, encoding: str | None = None, *, crs: Any = None,
                         tolerance: float = AREA_TOLERANCE) -> BoundaryPoints:
    """Read a boundary-point txt with everything learnt on the way (header, encoding, CRS source, notes)."""
    path = Path(path)
    src = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BoundaryPointError(f"{src}: cannot read the file ({exc.strerror or exc}); check the path") from None
    if b"\x00" in raw[:65536]:  # text files hold no NUL bytes; a GeoPackage, zip or image does
        raise BoundaryPointError(f"{src}: holds binary data, not text: not a boundary-point (界址点坐标) txt; check "
                                 f"that it is the right file (a GIS file needs its own extension, e.g. .gpkg, .shp)")
    try:
        text, enc, enc_source = decode_text(raw, encoding)
    except BoundaryPointError as exc:
        raise BoundaryPointError(f"{src}: {exc}") from None
    except (UnicodeDecodeError, LookupError) as exc:
        raise BoundaryPointError(f"{src}: cannot decode with encoding {encoding!r} ({exc}); try --encoding gbk "
                                 f"or --encoding utf-8") from None
    header, parcels, notes = _parse(text, src)
    east, north, swapped = _axes(parcels)
    if swapped:
        notes.append(Note("axes_swapped", "X holds the eastings and Y the northings (the format has X = northing): "
                                          "read with the axes exchanged"))
    crs_obj, crs_source = resolve_crs(path, src, header, east, north, crs, notes)

    rows: list[dict[str, Any]] = []
    geoms = []
    start = 0
    for i, parcel in enumerate(parcels, 1):
        f = parcel.fields + [""] * max(0, 8 - len(parcel.fields))
        n = len(parcel.points)
        name = f[3] or None
        label = f"#{i} {name}" if name else f"#{i}"
        try:
            declared = _to_float(f[1]) if f[1] else math.nan
        except ValueError:
            notes.append(Note("bad_area", f"{label}: area {f[1]!r} in the header line (line {parcel.line_no}) is not a "
                                          f"number", parcel=label, number=i))
            declared = math.nan
        try:
            count = int(float(f[0])) if f[0] else None
        except ValueError:
            count = None
        if count is not None and count != n:
            notes.append(Note("point_count", f"{label}: the header line says {count} points, the file lists {n}",
                              parcel=label, number=i))
        kind = f[4] or "面"
        geoms.append(_ring_geoms(parcel, kind, east[start:start + n], north[start:start + n], label, notes, i)
                     if n else None)
        if not n:
            notes.append(Note("no_points", f"{label}: the parcel has no points", parcel=label, number=i))
        start += n
        rows.append({
            "name": name,
            "parcel_no": f[2] or None,
            "declared_area_ha": declared,
            "point_count": n,
            "land_use": f[6] or None,
            "shape_kind": kind,
            "sheet": f[5] or None,
            "remark": ",".join(x for x in f[7:] if x) or None,
        })
    gdf = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(geoms, crs=crs_obj))

    gdf["computed_area_ha"] = area_m2(gdf, "official") / M2_PER_HA
    gdf = gdf[[*COLUMNS, "geometry"]]
    notes.extend(area_mismatches(gdf, tolerance))
    return BoundaryPoints(gdf=gdf, header=header, encoding=enc, encoding_source=enc_source,
                          crs_source=crs_source, notes=notes)


def read_boundary_points(path: str | Path, encoding: str | None = None, *, crs: Any = None) -> gpd.GeoDataFrame:
    """Parcels of a boundary-point txt as a GeoDataFrame in the file's GK CRS (zone from 带号).

    Columns: name, parcel_no, declared_area_ha (公顷, from the header line), computed_area_ha (ellipsoidal
    area, official method), point_count, land_use, shape_kind (面/线/点), sheet (图幅号), remark, geometry.
    The [属性描述] header is in ``gdf.attrs["header"]``.
    """
    bp = load_boundary_points(path, encoding, crs=crs)
    bp.gdf.attrs["header"] = dict(bp.header)
    return bp.gdf


def area_mismatches(gdf: gpd.GeoDataFrame, tolerance: float = AREA_TOLERANCE) -> list[Note]:
    """Parcels whose declared area (公顷) differs from the computed one by more than ``tolerance`` (relative)."""
    out: list[Note] = []
    rows = zip(gdf["name"], gdf["declared_area_ha"], gdf["computed_area_ha"])
    for i, (name, declared, computed) in enumerate(rows, 1):
        if not (declared is not None and math.isfinite(declared) and math.isfinite(computed)):
            continue
        if declared == 0 and computed == 0:
            continue
        ref = max(abs(declared), abs(computed))
        diff = (computed - declared) / declared if declared else math.inf
        if abs(computed - declared) > tolerance * ref:
            label = f"#{i} {name}" if name else f"#{i}"
            out.append(Note("area_mismatch",
                            f"{label}: declared area {declared:,.4f} ha, computed from the coordinates "
                            f"{computed:,.4f} ha ({diff:+.2%}); check the coordinates or the declared area "
                            f"(the header area is in hectares 公顷)",
                            parcel=label, number=i, declared_area_ha=float(declared),
                            computed_area_ha=float(computed)))
    return out


# --- writing ----------------------------------------------------------------------------------------------

def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    text = str(value).strip()
    if text.lower() in ("nan", "none", "<na>"):
        return ""
    return text.replace(",", "，").replace("\r", " ").replace("\n", " ")


def _column(gdf: gpd.GeoDataFrame, name: str) -> list[Any]:
    return list(gdf[name]) if name in gdf.columns else [None] * len(gdf)


def write_boundary_points(gdf: gpd.GeoDataFrame, path: str | Path, *, zone: int | None = None,
                          with_prefix: bool = True, encoding: str = "gbk", header: dict[str, str] | None = None,
                          decimals: int = 3) -> Path:
    """Write polygons as a boundary-point txt in a CGCS2000 3-degree GK zone (X = northing, Y = easting).

    ``zone``: the GK zone; by default the zone of ``gdf``'s CRS if it is a CGCS2000 3-degree GK zone, else
    the zone of the layer's centre longitude (choosing a projection to write in, not reading data).
    The declared area is ``declared_area_ha`` where the column holds a number, else the ellipsoidal area
    (official method) in hectares.  Names come from the usual name fields (see ``spatial.sources.names.feature_names``);
    ``parcel_no``, ``land_use``, ``sheet`` and ``remark`` columns are written when present.
    """

    path = Path(path)
    if gdf.crs is None:
        raise ValueError("write_boundary_points: the layer has no CRS; set it first, e.g. gdf.set_crs('EPSG:4490')")
    if zone is None:
        known = gk_zone_of_epsg(gdf.crs.to_epsg())
        if known is not None and known[0] == "cgcs2000" and known[1] == 3:
            zone = known[2]
        else:
            lon = gdf.to_crs(4490).total_bounds
            zone = gk_zone_for_lon((lon[0] + lon[2]) / 2.0)
    epsg = gk_epsg(int(zone), with_prefix)
    gk = gdf.to_crs(epsg)
    names = list(feature_names(gk))
    areas = area_m2(gk, "official") / M2_PER_HA
    declared = _column(gk, "declared_area_ha")
    parcel_nos = _column(gk, "parcel_no")
    land_uses = _column(gk, "land_use")
    sheets = _column(gk, "sheet")
    remarks = _column(gk, "remark")

    head = {
        "格式版本号": "1.01",
        "数据产生单位": "",
        "数据产生日期": _dt.date.today().isoformat(),
        "坐标系": "2000国家大地坐标系",
        "几度分带": "3",
        "投影类型": "高斯克吕格",
        "计量单位": "米",
        "带号": str(int(zone)),
        "精度": f"{10.0 ** -decimals:.{decimals}f}",
        "转换参数": ",,,,,,",
    }
    head.update(header or {})
    lines = [f"[{HEADER_SECTION}]", *(f"{k}={v}" for k, v in head.items()), f"[{COORD_SECTION}]"]
    fmt = f"{{:.{decimals}f}}"
    for i, geom in enumerate(gk.geometry.values):
        label = f"#{i + 1} {names[i]}"
        if geom is None or geom.is_empty:
            raise ValueError(f"write_boundary_points: feature {label} has no geometry; remove it first")
        polys = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom] if isinstance(geom, Polygon) else None
        if polys is None:
            raise ValueError(f"write_boundary_points: feature {label} is a {geom.geom_type}; the format holds "
                             f"parcels (polygons) here")
        point_lines: list[str] = []
        ring_no = 0
        point_no = 0
        for poly in polys:
            for ring in [poly.exterior, *poly.interiors]:
                ring_no += 1
                coords = shapely.get_coordinates(ring)[:-1]
                first = point_no + 1
                for e, n in coords:
                    point_no += 1
                    point_lines.append(f"J{point_no},{ring_no},{fmt.format(n)},{fmt.format(e)}")
                e, n = coords[0]
                point_lines.append(f"J{first},{ring_no},{fmt.format(n)},{fmt.format(e)}")
        area = declared[i]
        try:
            area = float(area)
        except (TypeError, ValueError):
            area = math.nan
        if not math.isfinite(area):
            area = float(areas[i])
        fields = [str(len(point_lines)), f"{area:.4f}", _clean(parcel_nos[i]) or str(i + 1), _clean(names[i]), "面",
                  _clean(sheets[i]), _clean(land_uses[i]), _clean(remarks[i]), "@"]
        lines.append(",".join(fields))
        lines.extend(point_lines)
    text = "\r\n".join(lines) + "\r\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end]
        raise ValueError(f"write_boundary_points: {bad!r} cannot be written in {encoding}; pass encoding='gb18030' "
                         f"or 'utf-8'") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
