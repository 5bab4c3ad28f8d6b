"""Read any vector source into a validated GeoDataFrame plus what was repaired, set aside or worth a warning.

Formats: Shapefile, GeoPackage, GeoJSON, KML/KMZ, FlatGeobuf and anything else GDAL reads (through
pyogrio), plus the land-approval boundary-point txt (界址点坐标, :mod:`spatial.sources.boundary_points`).

Nothing is lost silently:

* invalid geometries are repaired with ``shapely.make_valid`` (polygon layers keep the polygonal part,
  so a bow-tie becomes a MultiPolygon of its two lobes); each repair is a :class:`Finding` with the
  feature, what was wrong (``shapely.is_valid_reason``) and the geodesic area before and after;
* features without geometry, or whose geometry cannot be used, are set aside and listed;
* exact duplicate geometries (same vertices) are kept and reported, Z/M values dropped (reported once per
  layer), mixed geometry types reported;
* the CRS comes from the file, or from ``crs=`` (which wins and says so), or — with no CRS in the file —
  from eastings that carry a Gauss–Krüger zone prefix; otherwise :class:`InputError` names the file and
  the fix.  The zone is never inferred from the longitude (Changshan straddles 118.5 °E, the zone
  39/40 border).

Shapefile text encoding: the ``.cpg`` when present (checked against the bytes), else detected from the
``.dbf`` records (strict UTF-8; else the dBASE language-driver byte; else GB18030, the GBK superset that
Chinese software writes).  ``encoding=`` forces one.

The returned layer keeps the file's CRS (callers convert, e.g. :meth:`ReadResult.to_cgcs2000`); its index
is the 0-based position of each feature in the file, so feature numbers stay those of the file when
features are set aside.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import struct
import warnings as _warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from spatial.errors import BoundaryPointError, InputError
from spatial.geo.area import area_m2, length_m
from spatial.geo.crs import CGCS2000, detect_gk_crs, looks_swapped_gk, looks_swapped_lonlat, to_workspace_crs
from spatial.sources.boundary_points import load_boundary_points
from spatial.sources.coordinate_table import TABLE_DRIVER, is_coordinate_table, load_coordinate_table
from spatial.sources.names import LazyLabels, feature_numbers

CRS_FIX = ("pass --crs EPSG:4490 (CGCS2000 geographic) or the Gauss-Krüger zone, e.g. --crs EPSG:4527 "
           "(CGCS2000 3-degree zone 39 with zone prefix, CM 117°E) or EPSG:4549 (zone 40 without prefix, CM 120°E), "
           "or add a .prj")

# Densify projected sources every 10 m when converting to EPSG:4490 (as the workspace does).

# dBASE language-driver id (byte 29 of the .dbf header) -> code page (a name both Python and iconv know).
# 0x57 ("ANSI", the writer's system code page: CP936 on Chinese Windows) and 0x00 say nothing.
LDID_CODEPAGES = {
    0x01: "CP437", 0x02: "CP850", 0x03: "CP1252", 0x08: "CP865", 0x09: "CP437", 0x0A: "CP850", 0x0B: "CP437",
    0x0D: "CP437", 0x0E: "CP850", 0x0F: "CP437", 0x10: "CP850", 0x11: "CP437", 0x12: "CP850", 0x13: "CP932",
    0x14: "CP850", 0x15: "CP437", 0x16: "CP850", 0x17: "CP865", 0x18: "CP437", 0x19: "CP437", 0x1A: "CP850",
    0x1B: "CP437", 0x1C: "CP863", 0x1D: "CP850", 0x1F: "CP852", 0x22: "CP852", 0x23: "CP852", 0x24: "CP860",
    0x25: "CP850", 0x26: "CP866", 0x37: "CP850", 0x40: "CP852",
    0x4D: "GB18030", 0x4E: "CP949", 0x4F: "CP950", 0x50: "CP874",
    0x58: "CP1252", 0x59: "CP1252", 0x64: "CP852", 0x65: "CP866", 0x66: "CP865", 0x67: "CP861", 0x6A: "CP737",
    0x6B: "CP857", 0x78: "CP950", 0x79: "CP949", 0x7A: "GB18030", 0x7B: "CP932", 0x7C: "CP874",
    0x7D: "CP1255", 0x7E: "CP1256", 0xC8: "CP1250", 0xC9: "CP1251", 0xCA: "CP1254", 0xCB: "CP1253",
    0xCC: "CP1257",
}

# How much of a .dbf the encoding detection looks at (the whole file for usual layers).
_ENCODING_SAMPLE_BYTES = 64 << 20

# KML/LIBKML bookkeeping fields dropped when they hold nothing but their defaults
_KML_BOOKKEEPING = ("timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility", "drawOrder",
                    "icon", "snippet")
_KML_DEFAULTS = {-1, 0}

_POLY, _LINE, _POINT = "polygon", "line", "point"
_FAMILY_OF_TYPE = {"Polygon": _POLY, "MultiPolygon": _POLY, "LineString": _LINE, "MultiLineString": _LINE,
                   "LinearRing": _LINE, "Point": _POINT, "MultiPoint": _POINT}
_MULTI = {_POLY: shapely.MultiPolygon, _LINE: shapely.MultiLineString, _POINT: shapely.MultiPoint}
_DIM = {_POLY: 2, _LINE: 1, _POINT: 0}


@dataclass
class Finding:
    """One repair, set-aside feature or warning from reading a layer (JSON-friendly)."""
    file: str
    feature: str | None      # "#3 常山港湿地" (1-based number in the file and name), None for the whole layer
    kind: str                # repaired, collapsed, empty_geometry, unusable_geometry, duplicate_geometry, z_dropped,
                             # mixed_geometry_types, crs_detected, crs_override, encoding, area_mismatch, ...
    message: str             # a full sentence naming the file and the feature
    number: int | None = None            # 1-based feature number in the file
    reason: str | None = None            # e.g. shapely.is_valid_reason
    area_before_m2: float | None = None  # geodesic (GRS80)
    area_after_m2: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


@dataclass
class ReadResult:
    gdf: gpd.GeoDataFrame            # validated features, in the file's CRS (or the one given / detected)
    path: Path                       # a str for a database source: its URL without password
    layer: str | None
    driver: str
    encoding: str | None
    crs_source: str
    repairs: list[Finding] = field(default_factory=list)
    set_aside: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    encoding_source: str | None = None
    layers: list[str] = field(default_factory=list)     # every layer of the source
    set_aside_features: gpd.GeoDataFrame | None = None  # the rows set aside, attributes intact

    @property
    def name(self) -> str:
        """The file's name (``red.gpkg``); for a database source (``path`` a URL) the URL without its query."""
        if isinstance(self.path, str):
            return self.path.split("?", 1)[0]
        return self.path.name

    @property
    def findings(self) -> list[Finding]:
        return [*self.repairs, *self.set_aside, *self.warnings]

    def to_cgcs2000(self) -> gpd.GeoDataFrame:
        """The layer in EPSG:4490; projected sources densified every 10 m so their plane edges survive."""
        return to_workspace_crs(self.gdf)


# --- shapefile encoding -----------------------------------------------------------------------------------

def _sibling(path: Path, suffix: str) -> Path | None:
    for cand in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if cand.exists():
            return cand
    try:
        for cand in path.parent.iterdir():  # other letter cases, e.g. .Dbf
            if cand.stem == path.stem and cand.suffix.lower() == suffix.lower():
                return cand
    except OSError:
        pass
    return None


def _python_codec(name: str) -> str | None:
    text = name.strip().strip("\ufeff").strip()
    m = re.fullmatch(r"(?:ANSI\s*|CP\s*|windows-?)?(\d{3,5})", text, flags=re.I)
    if m:
        num = m.group(1)
        text = "utf-8" if num == "65001" else f"cp{num}"
    elif re.fullmatch(r"8859-?\d+", text):
        text = "iso" + text
    try:
        return codecs.lookup(text).name
    except LookupError:
        return None


def _read_part(path: Path, layer: str, suffix: str, limit: int | None = None) -> bytes | None:
    """The bytes (at most ``limit``) of one part (``.dbf``, ``.cpg``) of the shapefile ``layer`` in ``path``:
    a .shp, a folder of shapefiles or a .zip holding them; None if there is no such part."""
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    p = PurePosixPath(member)
                    if p.suffix.lower() == suffix and p.stem.lower() == layer.lower():
                        with zf.open(member) as fh:
                            return fh.read(-1 if limit is None else limit)
        except (OSError, zipfile.BadZipFile):
            return None
        return None
    base = path / f"{layer}.shp" if path.is_dir() else path
    part = _sibling(base, suffix)
    if part is None:
        return None
    with open(part, "rb") as fh:
        return fh.read(-1 if limit is None else limit)


def _dbf_text(data: bytes) -> tuple[int, list[bytes]]:
    """(language-driver byte, the non-ASCII text of the field names and character fields) of .dbf bytes
    (possibly cut short: only the complete records are looked at)."""
    if len(data) < 32:
        return 0, []
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    ldid = data[29]
    values: list[bytes] = []
    fields: list[tuple[int, int]] = []
    offset = 1  # the deletion flag
    for i in range(32, min(header_len, len(data)) - 31, 32):
        desc = data[i:i + 32]
        if desc[0] == 0x0D:
            break
        name = desc[:11].split(b"\x00")[0]
        if any(b >= 0x80 for b in name):
            values.append(name)
        if chr(desc[11]) == "C":
            fields.append((offset, desc[16]))
        offset += desc[16]
    if not fields or record_len == 0:
        return ldid, values
    n = min(n_records, max(0, len(data) - header_len) // record_len)
    if n == 0:
        return ldid, values
    rows = np.frombuffer(data, dtype=np.uint8, count=n * record_len, offset=header_len).reshape(n, record_len)
    for off, flen in fields:
        col = rows[:, off:off + flen]
        hit = np.flatnonzero((col >= 0x80).any(axis=1))
        values.extend(bytes(col[r]).rstrip(b" \x00") for r in hit)
    return ldid, values


def _undecodable(values: list[bytes], codec: str) -> int:
    """How many values do not decode in ``codec`` (a UTF-8 value cut short at the field width is tolerated)."""
    bad = 0
    for v in values:
        try:
            v.decode(codec)
        except UnicodeDecodeError as exc:
            truncated = codec.replace("_", "-").lower() in ("utf-8", "utf8") and exc.reason == "unexpected end of data"
            if not truncated:
                bad += 1
    return bad


def _detect_dbf_encoding(ldid: int, values: list[bytes]) -> tuple[str | None, str]:
    if not values:
        return None, "all text is ASCII (any encoding reads it the same)"
    if _undecodable(values, "utf-8") == 0:
        return "UTF-8", "the .dbf text decodes strictly as UTF-8"
    cp = LDID_CODEPAGES.get(ldid)
    if cp is not None:
        return cp, f"not UTF-8; the .dbf language-driver byte 0x{ldid:02X} means {cp}"
    what = "is 0x57 (the writer's system ANSI code page)" if ldid == 0x57 else f"0x{ldid:02X} says nothing"
    return "GB18030", f"not UTF-8 and the .dbf language-driver byte {what}: GB18030 (the GBK superset) assumed"


# .cpg values that name no encoding, only "the writer's local code page" (CP936/GBK on Chinese Windows)
_LEGACY_CPG = {"", "ANSI", "OEM", "SYSTEM", "DEFAULT", "ACP", "OEMCP", "LOCAL"}


def _legacy_cpg_encoding(cpg_text: str, ldid: int, values: list[bytes], src: str
                         ) -> tuple[str | None, str | None, str, list[str]]:
    """A .cpg naming no encoding: detected from the bytes as without a .cpg, and said so."""
    shown = repr(cpg_text) if cpg_text else "nothing (empty)"
    enc, how = _detect_dbf_encoding(ldid, values)
    read_as = f"read as {enc} ({how})" if enc else f"all text is ASCII, so nothing depends on it"
    msg = (f"{src}: the .cpg says {shown}, the writer's legacy local code page, not a named encoding; attributes "
           f"{read_as}; if names look garbled pass --encoding (e.g. gbk), and write the real encoding (e.g. GBK) "
           f"into the .cpg")
    source = f"detected, .cpg ({cpg_text or 'empty'}) names no encoding: {how}"
    return enc, enc or "ASCII", source, [msg]


def _shapefile_encoding(path: Path, layer: str, forced: str | None, src: str
                        ) -> tuple[str | None, str | None, str, list[str]]:
    """(encoding to pass to pyogrio or None for GDAL's own, encoding label, how it was found, warnings)."""
    cpg_bytes = _read_part(path, layer, ".cpg", 1024)
    cpg_text = cpg_bytes.decode("ascii", errors="replace").strip() if cpg_bytes else None
    if forced:
        try:
            codecs.lookup(forced)
        except LookupError:
            raise InputError(f"{src}: encoding {forced!r} is unknown; use e.g. gbk, gb18030 or utf-8") from None
        how = "given (encoding=" + forced + ")" + (f", overriding the .cpg ({cpg_text})" if cpg_text else "")
        return forced, forced, how, []
    dbf = _read_part(path, layer, ".dbf", _ENCODING_SAMPLE_BYTES)
    if dbf is None:
        return None, None, "no .dbf: no attributes", []
    ldid, values = _dbf_text(dbf)
    if cpg_bytes is not None and (cpg_text or "").upper() in _LEGACY_CPG:
        return _legacy_cpg_encoding(cpg_text or "", ldid, values, src)
    if cpg_text:
        codec = _python_codec(cpg_text)
        if codec is None:
            return None, cpg_text, f".cpg ({cpg_text}; read by GDAL)", []
        bad = _undecodable(values, codec)
        if bad == 0:
            return None, cpg_text, f".cpg ({cpg_text})", []
        enc, how = _detect_dbf_encoding(ldid, values)
        enc = enc or "UTF-8"
        msg = (f"{src}: the .cpg says {cpg_text}, but {bad} text value(s) in the .dbf are not valid {cpg_text}; "
               f"read as {enc} instead ({how}); pass --encoding to force another")
        return enc, enc, f"detected, .cpg ({cpg_text}) contradicted by the bytes: {how}", [msg]
    enc, how = _detect_dbf_encoding(ldid, values)
    if enc is None:
        return None, "ASCII", f"no .cpg; {how}", []
    msg = (f"{src}: no .cpg beside the shapefile; attributes read as {enc} ({how}); if names look garbled pass "
           f"--encoding (e.g. gbk or utf-8), or add a .cpg holding the encoding")
    return enc, enc, f"detected (no .cpg): {how}", [msg]


# --- layers -----------------------------------------------------------------------------------------------

def _list_layers(path: Path | str, src: str) -> list[tuple[str, str | None]]:
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")
            layers = pyogrio.list_layers(path)
    except Exception as exc:  # noqa: BLE001 - every GDAL failure becomes an InputError
        raise InputError(f"{src}: cannot be read as a vector data file ({_gdal_message(exc)}); use a Shapefile "
                         f"(.shp with .shx/.dbf/.prj), GeoPackage, GeoJSON, KML, FlatGeobuf or a boundary-point "
                         f".txt, or convert the file in QGIS") from None
    return [(str(name), None if gt is None else str(gt)) for name, gt in layers]


def _gdal_message(exc: Exception) -> str:
    text = str(exc).strip()
    return text.split("; It might help")[0] if text else type(exc).__name__


def _choose_layer(layers: list[tuple[str, str | None]], layer: str | None, src: str, path: Path | str) -> str:
    names = [n for n, _ in layers]
    if layer is not None:
        if layer in names:
            return layer
        raise InputError(f"{src}: has no layer {layer!r}; its layers: {_describe_layers(path, layers)}; "
                         f"pass one of them (--layer NAME)")
    spatial = [(n, g) for n, g in layers if g is not None]
    candidates = spatial or layers
    if not candidates:
        raise InputError(f"{src}: holds no layer; check the file")
    if len(candidates) == 1:
        return candidates[0][0]
    raise InputError(f"{src}: holds {len(candidates)} layers: {_describe_layers(path, candidates)}; "
                     f"say which to read (--layer NAME, or layer = \"NAME\" in workspace.toml)")


def _describe_layers(path: Path | str, layers: list[tuple[str, str | None]]) -> str:
    parts = []
    for name, gtype in layers:
        try:
            count = pyogrio.read_info(path, layer=name)["features"]
            count_text = (f", {count} feature{'s' if count != 1 else ''}" if count is not None and count >= 0
                          else "")
        except Exception:  # noqa: BLE001
            count_text = ""
        parts.append(f"{name} ({gtype or 'no geometry'}{count_text})")
    return "; ".join(parts)


def _drop_kml_bookkeeping(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    drop = []
    for col in _KML_BOOKKEEPING:
        if col not in gdf.columns:
            continue
        values = gdf[col].dropna()
        if values.empty or values.astype(object).isin(_KML_DEFAULTS).all():
            drop.append(col)
    return gdf.drop(columns=drop)


# --- CRS --------------------------------------------------------------------------------------------------

def _geometry_bounds(gdf: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        return None
    # a feature with an infinite coordinate is set aside later: it must not hide the others' extent
    per = shapely.bounds(geoms[ok])
    per = per[np.isfinite(per).all(axis=1)]
    if not len(per):
        return None
    b = (per[:, 0].min(), per[:, 1].min(), per[:, 2].max(), per[:, 3].max())
    if not np.all(np.isfinite(b)):
        return None
    return tuple(float(v) for v in b)  # type: ignore[return-value]


def _fmt_bounds(b: tuple[float, float, float, float]) -> str:
    return f"x {b[0]:,.3f} … {b[2]:,.3f}, y {b[1]:,.3f} … {b[3]:,.3f}"


def _lonlat_plausible(b: tuple[float, float, float, float]) -> bool:
    return -180.0 <= b[0] <= b[2] <= 180.0 and -90.0 <= b[1] <= b[3] <= 90.0


def _in_china(crs: CRS, b: tuple[float, float, float, float]) -> bool:
    try:
        lon0, lat0, lon1, lat1 = Transformer.from_crs(crs, 4490, always_xy=True).transform_bounds(*b)
    except Exception:  # noqa: BLE001
        return False
    vals = (lon0, lat0, lon1, lat1)
    return all(math.isfinite(v) for v in vals) and 70.0 <= lon0 <= lon1 <= 140.0 and 0.0 <= lat0 <= lat1 <= 56.0


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _no_crs_error(src: str, b: tuple[float, float, float, float] | None) -> InputError:
    hint = ""
    if b is not None:
        swapped = looks_swapped_gk(b)
        if swapped:
            hint = (f" The coordinates ({_fmt_bounds(b)}) look like Gauss-Krüger with x and y exchanged (x = northing, "
                    f"y = easting with zone prefix, as surveyors write X/Y): swap the columns, then the zone prefix "
                    f"proves EPSG:{swapped}.")
        elif looks_swapped_lonlat(b):
            hint = (f" The coordinates ({_fmt_bounds(b)}) look like latitude, longitude (axes swapped): swap the axes "
                    f"so that x is the longitude, then pass --crs EPSG:4490.")
        elif _lonlat_plausible(b):
            hint = (f" The coordinates ({_fmt_bounds(b)}) look like longitude/latitude: CGCS2000 (EPSG:4490) or "
                    f"WGS84 (EPSG:4326) — make sure they are not GCJ-02 web-map (Gaode/AMap) coordinates.")
        elif 0 < b[0] and b[2] < 1_000_000 and 200_000 < b[1]:
            hint = (f" The coordinates ({_fmt_bounds(b)}) look like Gauss-Krüger eastings without the zone prefix: "
                    f"the zone cannot be told from them (and is never guessed from the longitude); give it, e.g. "
                    f"--crs EPSG:4548 (CGCS2000 3-degree zone 39, CM 117°E) or EPSG:4549 (zone 40, CM 120°E).")
        else:
            hint = f" Coordinates: {_fmt_bounds(b)}."
    return InputError(f"{src}: has no coordinate reference system (no .prj / CRS) and it cannot be proved from the "
                      f"coordinates; {CRS_FIX}.{hint}")


def _swapped_lonlat_error(src: str, b: tuple[float, float, float, float], said: str) -> InputError:
    return InputError(f"{src}: {said}the coordinates ({_fmt_bounds(b)}) are latitude, longitude — the file writes "
                      f"[lat, lon] where x must be the longitude (GeoJSON and KML put longitude first): with the axes "
                      f"swapped they lie in China (longitude {b[1]:.4f} … {b[3]:.4f} °E, latitude {b[0]:.4f} … "
                      f"{b[2]:.4f} °N). Fix: swap the axes — re-export with longitude as x, or in QGIS run "
                      f"'Swap X and Y coordinates' (native:swapxy) and save again")


def _zone_prefix_wins(gdf: gpd.GeoDataFrame, proved: int, file_crs: CRS, finding: Finding,
                      warnings: list[Finding]) -> tuple[gpd.GeoDataFrame, str]:
    """The file's CRS contradicts its coordinates, whose zone prefix proves EPSG:``proved``: use that, say why."""
    warnings.append(finding)
    return gdf.set_crs(proved, allow_override=True), \
        f"detected from the zone prefix (EPSG:{proved}); the file's {_crs_label(file_crs)} contradicts the coordinates"


def _resolve_crs(gdf: gpd.GeoDataFrame, src: str, crs: Any, driver: str, path: Path,
                 warnings: list[Finding]) -> tuple[gpd.GeoDataFrame, str]:
    """The layer with its CRS and how it was found: given (``crs=``), the file's own (checked against the
    coordinates), or proved by the eastings' Gauss–Krüger zone prefix; else a clear error."""
    b = _geometry_bounds(gdf)
    file_crs = CRS.from_user_input(gdf.crs) if gdf.crs is not None else None
    if crs is not None:
        return _given_crs(gdf, src, crs, file_crs, b, warnings)
    if file_crs is not None:
        return _file_crs(gdf, src, file_crs, driver, path, b, warnings)
    proved = detect_gk_crs(b) if b is not None else None
    if proved is None:
        raise _no_crs_error(src, b)
    warnings.append(Finding(src, None, "crs_detected",
                            f"{src}: no CRS in the file; the eastings carry Gauss-Krüger zone prefix "
                            f"{int(b[0] // 1_000_000)} ({_fmt_bounds(b)}), which proves "
                            f"{_crs_label(CRS.from_epsg(proved))}; CGCS2000 assumed (for Xian 1980 / Beijing 1954 "
                            f"data pass --crs with their EPSG code)"))
    return gdf.set_crs(proved), f"detected from the easting zone prefix (no CRS in the file): EPSG:{proved}"


def _given_crs(gdf: gpd.GeoDataFrame, src: str, crs: Any, file_crs: CRS | None, b: Any,
               warnings: list[Finding]) -> tuple[gpd.GeoDataFrame, str]:
    """``crs=`` as the user gave it, refused where the coordinates contradict it."""
    try:
        given = CRS.from_user_input(crs)
    except Exception:  # noqa: BLE001
        raise InputError(f"{src}: crs={crs!r} is not a coordinate reference system pyproj knows; use an EPSG code "
                         f"such as EPSG:4490 (CGCS2000 geographic) or EPSG:4527 (GK zone 39 with prefix)") from None
    if b is not None and given.is_geographic and looks_swapped_lonlat(b):
        raise _swapped_lonlat_error(src, b, f"crs={crs} is longitude/latitude, but ")
    if b is not None and given.is_geographic and not _lonlat_plausible(b):
        proved = detect_gk_crs(b)
        extra = f"; the zone prefix proves EPSG:{proved}: pass --crs EPSG:{proved}" if proved else f"; {CRS_FIX}"
        raise InputError(f"{src}: crs={crs} is longitude/latitude, but the coordinates ({_fmt_bounds(b)}) are not "
                         f"degrees{extra}")
    if b is not None and given.is_projected and _lonlat_plausible(b) and _in_china(CRS.from_epsg(4490), b):
        raise InputError(f"{src}: crs={crs} is a projected CRS (metres), but the coordinates ({_fmt_bounds(b)}) "
                         f"look like longitude/latitude in China; pass --crs EPSG:4490 (CGCS2000 geographic) "
                         f"instead")
    proved = detect_gk_crs(b) if b is not None else None
    if proved is not None and _prefix_conflict(given, proved):
        raise InputError(f"{src}: crs={crs} is a different Gauss-Krüger zone than the eastings' zone prefix "
                         f"proves ({_fmt_bounds(b)}: EPSG:{proved}); pass --crs EPSG:{proved}, or the Xian 1980 / "
                         f"Beijing 1954 zone with the same number")
    if b is not None and not _in_china(given, b):
        warnings.append(Finding(src, None, "outside_china",
                                f"{src}: with crs={crs} the coordinates ({_fmt_bounds(b)}) fall outside China; "
                                f"check the CRS ({CRS_FIX})"))
    source = f"given (crs={crs})"
    if file_crs is not None and not file_crs.equals(given):
        source += f", overriding the file's {_crs_label(file_crs)}"
        warnings.append(Finding(src, None, "crs_override",
                                f"{src}: the file says {_crs_label(file_crs)}; crs={crs} given overrides it "
                                f"(coordinates are taken as {_crs_label(given)}, not transformed)"))
    return gdf.set_crs(given, allow_override=True), source



def _file_crs(gdf: gpd.GeoDataFrame, src: str, file_crs: CRS, driver: str, path: Path, b: Any,
              warnings: list[Finding]) -> tuple[gpd.GeoDataFrame, str]:
    """The file's CRS, unless its coordinates prove it wrong (swapped axes, metres in a degree CRS, another
    zone's prefix)."""
    source = {"ESRI Shapefile": "file (.prj)", "KML": "file (KML is WGS84 longitude/latitude by definition)",
              "LIBKML": "file (KML is WGS84 longitude/latitude by definition)"}.get(driver, "file")
    if driver == "GeoJSON" and not _geojson_has_crs(path):
        source = "file (GeoJSON without a crs member: WGS84 longitude/latitude, RFC 7946)"
    if b is None:
        return gdf, source
    if file_crs.is_geographic and looks_swapped_lonlat(b):
        raise _swapped_lonlat_error(src, b, f"the file says {_crs_label(file_crs)} (longitude/latitude), but ")
    if file_crs.is_geographic and not _lonlat_plausible(b):
        proved = detect_gk_crs(b)
        if proved is None:
            raise InputError(f"{src}: the file says {_crs_label(file_crs)} (longitude/latitude) but the "
                             f"coordinates ({_fmt_bounds(b)}) are not degrees; {CRS_FIX} (--crs overrides the "
                             f"file's CRS)")
        return _zone_prefix_wins(gdf, proved, file_crs, Finding(
            src, None, "crs_detected",
            f"{src}: the file says {_crs_label(file_crs)} (longitude/latitude) but the coordinates "
            f"({_fmt_bounds(b)}) are not degrees; the eastings' zone prefix proves CGCS2000 Gauss-Krüger "
            f"EPSG:{proved}, used instead (pass --crs to override)"), warnings)
    if file_crs.is_projected and _lonlat_plausible(b) and _in_china(CRS.from_epsg(4490), b):
        raise InputError(f"{src}: the file says {_crs_label(file_crs)} (metres), but the coordinates "
                         f"({_fmt_bounds(b)}) look like longitude/latitude in China: the .prj is wrong; pass "
                         f"--crs EPSG:4490 (CGCS2000 geographic) or EPSG:4326 (WGS84) to override it")
    proved = detect_gk_crs(b)
    if proved is not None and file_crs.is_projected and _prefix_conflict(file_crs, proved):
        return _zone_prefix_wins(gdf, proved, file_crs, Finding(
            src, None, "crs_detected",
            f"{src}: the file says {_crs_label(file_crs)}, but the eastings ({_fmt_bounds(b)}) carry the zone "
            f"prefix of EPSG:{proved}, which is used instead (pass --crs to override)"), warnings)
    if not _in_china(file_crs, b):
        if proved is not None and not file_crs.equals(CRS.from_epsg(proved)):
            return _zone_prefix_wins(gdf, proved, file_crs, Finding(
                src, None, "crs_detected",
                f"{src}: in the file's CRS {_crs_label(file_crs)} the coordinates ({_fmt_bounds(b)}) fall "
                f"outside China; their zone prefix proves CGCS2000 Gauss-Krüger EPSG:{proved}, used instead "
                f"(pass --crs to override)"), warnings)
        warnings.append(Finding(src, None, "outside_china",
                                f"{src}: in the file's CRS {_crs_label(file_crs)} the coordinates "
                                f"({_fmt_bounds(b)}) fall outside China; check the CRS ({CRS_FIX})"))
    return gdf, source


def _false_easting(crs: CRS) -> float | None:
    op = crs.coordinate_operation
    if op is None:
        return None
    for p in op.params:
        if p.name.lower() in ("false easting", "easting at false origin"):
            return float(p.value)
    return None


def _prefix_conflict(crs: CRS, proved: int) -> bool:
    """Whether a projected ``crs`` puts its false easting in another zone than the proved EPSG's prefix."""
    if not crs.is_projected:
        return True
    fe = _false_easting(crs)
    if fe is None:
        return False
    return int(fe // 1_000_000) != int(_false_easting(CRS.from_epsg(proved)) // 1_000_000)


def _geojson_has_crs(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError:
        return True
    return b'"crs"' in head


# --- validation -------------------------------------------------------------------------------------------

def _family(geoms: np.ndarray) -> np.ndarray:
    types = shapely.get_type_id(geoms)
    fam = np.full(len(geoms), None, dtype=object)
    fam[np.isin(types, [3, 6])] = _POLY
    fam[np.isin(types, [1, 2, 5])] = _LINE
    fam[np.isin(types, [0, 4])] = _POINT
    fam[types == 7] = "collection"
    return fam


def _declared_family(geometry_type: str | None) -> str | None:
    if not geometry_type:
        return None
    t = geometry_type.replace("3D ", "").replace("Measured ", "").replace(" Z", "").replace(" M", "").strip()
    for key, fam in _FAMILY_OF_TYPE.items():
        if t == key:
            return fam
    if "Polygon" in t or "Surface" in t:
        return _POLY
    if "Line" in t or "Curve" in t:
        return _LINE
    if "Point" in t:
        return _POINT
    return None


def _parts_of(geom: Any) -> list[Any]:
    out = []
    stack = [geom]
    while stack:
        g = stack.pop()
        if g is None or g.is_empty:
            continue
        if shapely.get_type_id(g) in (4, 5, 6, 7):
            stack.extend(reversed(list(g.geoms)))
        else:
            out.append(g)
    return out


def _keep_family(geom: Any, fam: str) -> Any:
    """The parts of ``geom`` of one family as a single or multi geometry (None if there are none)."""
    parts = [p for p in _parts_of(geom) if _FAMILY_OF_TYPE.get(p.geom_type) == fam]
    if fam == _LINE:
        parts = [shapely.LineString(p.coords) if p.geom_type == "LinearRing" else p for p in parts]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return _MULTI[fam](parts)


# Below this many vertices one thread validates as fast as several.
_PARALLEL_COORDS = 200_000


def _parallel(func: Any, geoms: np.ndarray) -> np.ndarray:
    """``func(geoms)`` for an element-wise shapely function, over threads on big inputs (GEOS releases
    the GIL); the pieces hold about the same number of vertices."""
    workers = min(os.cpu_count() or 1, 8)
    if workers <= 1 or len(geoms) < 2 * workers:
        return func(geoms)
    csum = np.cumsum(shapely.get_num_coordinates(geoms))
    if csum[-1] < _PARALLEL_COORDS:
        return func(geoms)
    n_parts = 4 * workers
    cuts = np.unique(np.r_[0, np.searchsorted(csum, csum[-1] * np.arange(1, n_parts) / n_parts), len(geoms)])
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        parts = list(pool.map(lambda ab: func(geoms[ab[0]:ab[1]]), zip(cuts[:-1], cuts[1:])))
    return np.concatenate(parts)


def _may_be_duplicates(geoms: np.ndarray) -> np.ndarray:
    """False where a geometry certainly has no exact duplicate among ``geoms``: same vertices in whatever
    order means the same type, vertex count and bounding box.  Non-finite boxes always count as possible."""
    b = shapely.bounds(geoms) + 0.0  # -0.0 -> 0.0
    keys = pd.DataFrame({"t": shapely.get_type_id(geoms), "n": shapely.get_num_coordinates(geoms),
                         "x0": b[:, 0], "y0": b[:, 1], "x1": b[:, 2], "y1": b[:, 3]})
    return keys.duplicated(keep=False).to_numpy() | ~np.isfinite(b).all(axis=1)


def _non_finite_vertices(geoms: np.ndarray, piece: int = 50_000) -> np.ndarray:
    """How many x/y coordinates of each geometry are NaN or infinite (in pieces: a big layer's
    coordinates are not copied all at once)."""
    out = np.zeros(len(geoms), dtype=np.int64)
    for start in range(0, len(geoms), piece):
        coords, idx = shapely.get_coordinates(geoms[start:start + piece], return_index=True)
        bad = ~np.isfinite(coords).all(axis=1)
        if bad.any():
            out[start:start + piece] = np.bincount(idx[bad], minlength=len(geoms[start:start + piece]))
    return out


def _without_repeats(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with exactly repeated consecutive vertices removed; a geometry whose ring would fall
    below 3 points is left as it is (step 4 repairs or sets it aside)."""
    try:
        return shapely.remove_repeated_points(geoms, 0.0)
    except shapely.errors.GEOSException:
        out = geoms.copy()
        for k, g in enumerate(geoms):
            try:
                out[k] = shapely.remove_repeated_points(g, 0.0)
            except shapely.errors.GEOSException:
                pass
        return out


def _overlapping_parts(geom: Any) -> bool:
    """Whether a MultiPolygon is invalid only because its (each valid) parts overlap."""
    if shapely.get_type_id(geom) != 6:
        return False
    parts = shapely.get_parts(geom)
    return bool(shapely.is_valid(parts).all())


def _extent_m(geom: Any, crs: Any) -> float:
    """Half the geodesic perimeter: the length of a polygon that encloses no area."""


    return float(length_m(gpd.GeoSeries([geom], crs=crs))[0]) / 2.0


def _geodesic_m2(geoms: list[Any], crs: Any) -> np.ndarray:

    if not geoms:
        return np.zeros(0)
    return area_m2(gpd.GeoSeries(geoms, crs=crs), method="geodesic")


@dataclass
class _Validation:
    """What the validation steps share: the geometries being repaired, which are set aside, and the findings."""

    src: str
    labels: Any
    nums: pd.Series
    crs: Any
    geoms: np.ndarray
    aside: np.ndarray
    repairs: list[Finding]
    set_aside: list[Finding]
    warnings: list[Finding]
    fam: np.ndarray | None = None

    def label(self, i: int) -> str:
        return self.labels.iloc[i]

    def put_aside(self, i: int, kind: str, message: str, **kw: Any) -> None:
        self.aside[i] = True
        self.set_aside.append(Finding(self.src, self.label(i), kind, message, number=int(self.nums.iloc[i]), **kw))

    def live(self) -> np.ndarray:
        return np.flatnonzero(~self.aside)


def _validate(gdf: gpd.GeoDataFrame, src: str, declared_type: str | None, name_field: str | None,
              repairs: list[Finding], set_aside: list[Finding], warnings: list[Finding]
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The features that can be used, repaired where they can be, and those set aside; every step a finding."""
    v = _Validation(src, LazyLabels(gdf, name_field), feature_numbers(gdf), gdf.crs,
                    np.asarray(gdf.geometry.values, dtype=object).copy(), np.zeros(len(gdf), dtype=bool),
                    repairs, set_aside, warnings)
    _set_aside_empty(v)
    _set_aside_non_finite(v)
    _drop_z(v)
    _settle_geometry_types(v, _declared_family(declared_type))
    _remove_repeated_vertices(v)
    _repair_invalid(v)
    _flag_duplicates(v)
    out = gdf.set_geometry(gpd.GeoSeries(v.geoms, index=gdf.index, crs=v.crs))
    return out[~v.aside], out[v.aside]


def _set_aside_empty(v: _Validation) -> None:
    empty = shapely.is_missing(v.geoms) | shapely.is_empty(v.geoms)
    for i in np.flatnonzero(empty):
        what = "no geometry (NULL)" if v.geoms[i] is None else f"an empty {v.geoms[i].geom_type}"
        v.put_aside(i, "empty_geometry", f"{v.src}: feature {v.label(i)} has {what}; set aside (not used)")


def _set_aside_non_finite(v: _Validation) -> None:
    """NaN / Inf coordinates: GEOS cannot compute with them and no repair can guess the true value."""
    live = v.live()
    counts = _non_finite_vertices(v.geoms[live]) if len(live) else np.zeros(0, dtype=np.int64)
    for i, count in zip(live[counts > 0], counts[counts > 0]):
        v.put_aside(i, "non_finite_coordinates",
                    f"{v.src}: feature {v.label(i)} has {int(count)} coordinate(s) that are NaN or infinite (not a "
                    f"number); set aside — correct those vertices in the source (re-digitise or re-export the "
                    f"feature)", details={"count": int(count)})


def _drop_z(v: _Validation) -> None:
    live = ~v.aside
    has_zm = np.zeros(len(v.geoms), dtype=bool)
    has_zm[live] = shapely.has_z(v.geoms[live])
    if hasattr(shapely, "has_m"):
        has_zm[live] |= shapely.has_m(v.geoms[live])
    if has_zm.any():
        v.geoms[has_zm] = shapely.force_2d(v.geoms[has_zm])
        v.warnings.append(Finding(v.src, None, "z_dropped",
                                  f"{v.src}: {int(has_zm.sum())} of {int(live.sum())} features carry Z (height) or M "
                                  f"values; dropped — areas and overlays are 2-D", details={"count": int(has_zm.sum())}))


def _settle_geometry_types(v: _Validation, layer_fam: str | None) -> None:
    """One geometry family per feature: collections unpacked, unusable types set aside, mixed layers warned."""
    fam = _family(v.geoms)
    fam[v.aside] = None
    if layer_fam is None:
        counts = pd.Series(fam[~v.aside & (fam != "collection")]).value_counts()
        if len(counts):
            layer_fam = str(counts.index[0])
    for i in np.flatnonzero(fam == "collection"):
        fam[i] = _unpack_collection(v, i, layer_fam)
    for i in np.flatnonzero(~v.aside & (fam == None)):  # noqa: E711 - element-wise on an object array
        v.put_aside(i, "unusable_geometry", f"{v.src}: feature {v.label(i)} is a {v.geoms[i].geom_type}, which "
                                            f"cannot be used; set aside")
    rings = ~v.aside & (shapely.get_type_id(v.geoms) == 2)
    if rings.any():
        v.geoms[rings] = [shapely.LineString(g.coords) for g in v.geoms[rings]]
    live = ~v.aside
    present = pd.Series(fam[live]).value_counts()
    if len(present) > 1:
        minority = [f for f in present.index if f != layer_fam]
        examples = [v.label(i) for i in np.flatnonzero(live & np.isin(fam, minority))[:5]]
        v.warnings.append(Finding(v.src, None, "mixed_geometry_types",
                                  f"{v.src}: mixed geometry types: " + ", ".join(f"{n} {f}" for f, n in present.items())
                                  + f"; e.g. {', '.join(examples)} — check the layer (split it by type if needed)",
                                  details={str(k): int(n) for k, n in present.items()}))
    v.fam = fam


def _unpack_collection(v: _Validation, i: int, layer_fam: str | None) -> str | None:
    """A GeometryCollection read as the layer's family (other parts dropped, said), else set aside."""
    parts = _parts_of(v.geoms[i])
    fams = {_FAMILY_OF_TYPE.get(p.geom_type) for p in parts}
    target = layer_fam if layer_fam in fams else (fams.pop() if len(fams) == 1 else None)
    kept = _keep_family(v.geoms[i], target) if target else None
    if kept is None or None in fams:
        held = ", ".join(sorted(p.geom_type for p in parts)) or "nothing"
        v.put_aside(i, "unusable_geometry", f"{v.src}: feature {v.label(i)} is a GeometryCollection of {held} that "
                                            f"cannot be used as a {layer_fam or 'single-type'} feature; set aside")
        return None
    dropped = [p.geom_type for p in parts if _FAMILY_OF_TYPE.get(p.geom_type) != target]
    msg = f"{v.src}: feature {v.label(i)} is a GeometryCollection; read as {kept.geom_type}"
    if dropped:
        msg += f" (its {', '.join(dropped)} part(s) dropped)"
    v.repairs.append(Finding(v.src, v.label(i), "collection_unpacked", msg, number=int(v.nums.iloc[i])))
    v.geoms[i] = kept
    return target


def _remove_repeated_vertices(v: _Validation) -> None:
    """Repeated consecutive vertices: valid for GEOS but digitising noise; removed and counted."""
    live = np.flatnonzero(~v.aside & np.isin(v.fam, [_POLY, _LINE]))
    if not len(live):
        return
    cleaned = _without_repeats(v.geoms[live])
    removed = shapely.get_num_coordinates(v.geoms[live]) - shapely.get_num_coordinates(cleaned)
    hit = np.flatnonzero(removed > 0)
    before = _geodesic_m2(list(v.geoms[live[hit]]), v.crs)
    after = _geodesic_m2(list(cleaned[hit]), v.crs)
    for j, k in enumerate(hit):
        i = live[k]
        v.geoms[i] = cleaned[k]
        v.repairs.append(Finding(v.src, v.label(i), "duplicate_vertices",
                                 f"{v.src}: feature {v.label(i)} repeats {int(removed[k])} vertex(es) right after "
                                 f"themselves; removed (the shape is unchanged: geodesic area {before[j]:,.2f} m² "
                                 f"before, {after[j]:,.2f} m² after)",
                                 number=int(v.nums.iloc[i]), area_before_m2=float(before[j]),
                                 area_after_m2=float(after[j]), details={"removed": int(removed[k])}))


def _repair_invalid(v: _Validation) -> None:
    """Invalid geometries repaired with make_valid (areas before and after), or set aside when nothing is left."""
    live = v.live()
    invalid = live[~_parallel(shapely.is_valid, v.geoms[live])] if len(live) else live
    if not len(invalid):
        return
    before_geoms = list(v.geoms[invalid])
    reasons = shapely.is_valid_reason(v.geoms[invalid])
    kept = _made_valid(v.geoms[invalid], v.fam[invalid])
    overlap = [_overlapping_parts(g) for g in before_geoms]
    before = _geodesic_m2(before_geoms, v.crs)
    after = _geodesic_m2([k if k is not None else shapely.Polygon() for k in kept], v.crs)
    for j, i in enumerate(invalid):
        label, poly = v.label(i), v.fam[i] == _POLY
        if kept[j] is None:
            what = (f"encloses no area (a sliver {_extent_m(before_geoms[j], v.crs):,.1f} m long); set aside — "
                    f"redraw it as a polygon, or deliver it in a line layer if it is a line"
                    if poly else f"has no usable {v.fam[i]} left after repair; set aside")
            v.put_aside(i, "collapsed", f"{v.src}: feature {label} is invalid ({reasons[j]}) and {what} — area before "
                                        f"{before[j]:,.2f} m²", reason=str(reasons[j]),
                        area_before_m2=float(before[j]), area_after_m2=0.0)
            continue
        v.geoms[i] = kept[j]
        area_text = f"; geodesic area {before[j]:,.2f} m² before, {after[j]:,.2f} m² after" if poly else ""
        msg = (f"{v.src}: feature {label} was invalid ({reasons[j]}); repaired with make_valid into "
               f"a {kept[j].geom_type}{area_text}")
        if overlap[j]:
            msg = (f"{v.src}: feature {label} has parts that overlap ({reasons[j]}); merged into their union, a "
                   f"{kept[j].geom_type}, so the overlap counts once — geodesic area {before[j]:,.2f} m² "
                   f"(sum of the parts) before, {after[j]:,.2f} m² after; if the parts are separate parcels, "
                   f"deliver them as separate features")
        v.repairs.append(Finding(v.src, label, "overlapping_parts" if overlap[j] else "repaired", msg,
                                 number=int(v.nums.iloc[i]), reason=str(reasons[j]),
                                 area_before_m2=float(before[j]) if poly else None,
                                 area_after_m2=float(after[j]) if poly else None))


def _made_valid(geoms: np.ndarray, fams: np.ndarray) -> list[Any]:
    """make_valid, kept to each feature's family (None when nothing of it is left).

    Polygons use 'structure', which unions the shells (overlapping parts count once, as drawn) and subtracts
    the holes; the default 'linework' would cut an overlap out as a hole.
    """
    poly = fams == _POLY
    fixed = np.empty(len(geoms), dtype=object)
    if poly.any():
        fixed[poly] = shapely.make_valid(geoms[poly], method="structure", keep_collapsed=False)
    if (~poly).any():
        fixed[~poly] = shapely.make_valid(geoms[~poly])
    return [_keep_family(g, f) for g, f in zip(fixed, fams)]


def _flag_duplicates(v: _Validation) -> None:
    """Exact duplicates (same vertices, whatever the ring start or orientation): kept, and warned."""
    live = v.live()
    if len(live) <= 1:
        return
    # only features agreeing in type, vertex count and bounding box can be duplicates: compare those
    cand = live[_may_be_duplicates(v.geoms[live])]
    keys = pd.Series(shapely.to_wkb(shapely.normalize(v.geoms[cand])), index=cand)
    dup = keys[keys.duplicated(keep=False)]
    for _, group in dup.groupby(dup, sort=False):
        members = [v.label(i) for i in group.index]
        v.warnings.append(Finding(v.src, members[0], "duplicate_geometry",
                                  f"{v.src}: features {', '.join(members)} have identical geometry; all kept "
                                  f"(remove duplicates if they are not intended: overlapping areas are counted "
                                  f"once in unions but twice in sums)",
                                  number=int(v.nums.iloc[group.index[0]]),
                                  details={"features": [int(v.nums.iloc[i]) for i in group.index]}))


# --- degenerate polygons ----------------------------------------------------------------------------------

def degenerate_polygons(gdf: gpd.GeoDataFrame, *, min_area_m2: float = 1.0, min_width_m: float = 0.5,
                        areas_m2: np.ndarray | None = None) -> pd.DataFrame:
    """Polygons too small or too thin to be what they claim (drawing errors whose overlaps can vanish).

    Parameters
    ----------
    gdf : GeoDataFrame with a CRS; only its (multi)polygons are looked at.
    min_area_m2 : a polygon whose official area (:mod:`spatial.geo.area`) is below this is degenerate.
    min_width_m : a polygon whose mean width, 2 × area / perimeter (geodesic), is below this is a needle.
    areas_m2 : the areas, when the caller has them already (one per row of ``gdf``).

    Returns
    -------
    DataFrame indexed like the degenerate rows of ``gdf``: ``area_m2``, ``length_m`` (half the perimeter,
    the length of a needle), ``width_m`` and ``reason`` (a phrase naming the threshold crossed).
    Thresholds come from the catalogue's ``[validation]`` table.
    """


    poly = np.isin(shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)), [3, 6])
    cols = ["area_m2", "length_m", "width_m", "reason"]
    if not poly.any():
        return pd.DataFrame(columns=cols)
    sub = gdf[poly]
    area = np.asarray(areas_m2, dtype=float)[poly] if areas_m2 is not None else area_m2(sub, "official")
    perimeter = length_m(sub)
    width = np.divide(2.0 * area, perimeter, out=np.zeros(len(sub)), where=perimeter > 0)
    small, thin = area < min_area_m2, width < min_width_m
    reasons = [" and ".join(filter(None, [f"area {a:,.3f} m² below {min_area_m2:g} m²" if s else "",
                                          f"mean width {w:,.3f} m below {min_width_m:g} m over {p / 2:,.1f} m"
                                          if t else ""]))
               for a, w, p, s, t in zip(area, width, perimeter, small, thin)]
    out = pd.DataFrame({"area_m2": area, "length_m": perimeter / 2.0, "width_m": width, "reason": reasons},
                       index=sub.index)
    return out[small | thin]


# --- entry point ------------------------------------------------------------------------------------------

# Readers of sources named by a URL (scheme prefix -> reader(url, layer, encoding=, crs=, name_field=)).
# spatial.sources.postgis registers postgresql:// and postgres:// when the package spatial.sources is imported;
# the registry keeps this module free of an import of its own readers (no import cycle).
_URL_READERS: dict[str, Any] = {}


def register_url_reader(prefixes: tuple[str, ...], reader: Any) -> None:
    """Let :func:`read_layer` hand sources whose name starts with one of ``prefixes`` to ``reader``.

    Parameters
    ----------
    prefixes : tuple of str
        Lower-case scheme prefixes, e.g. ``("postgresql://", "postgres://")``.
    reader : callable
        ``reader(url, layer, *, encoding=None, crs=None, name_field=None) -> ReadResult``.
    """
    for prefix in prefixes:
        _URL_READERS[prefix.lower()] = reader


def _url_reader(path: Any) -> Any:
    if not isinstance(path, str):
        return None
    head = path.strip().lower()
    for prefix, reader in _URL_READERS.items():
        if head.startswith(prefix):
            return reader
    return None

def _resolve_path(path: Path, src: str) -> Path:
    if not path.exists():
        if path.suffix == "":
            for ext in (".shp", ".gpkg", ".geojson", ".kml", ".fgb"):
                if path.with_suffix(ext).exists():
                    return path.with_suffix(ext)
        raise InputError(f"{src}: no such file; check the path (for a shapefile give the .shp)")
    suffix = path.suffix.lower()
    if suffix in (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx"):
        shp = _sibling(path, ".shp")
        if shp is None:
            raise InputError(f"{src}: part of a shapefile, but the .shp beside it is missing; copy all the parts "
                             f"(.shp, .shx, .dbf, .prj, .cpg)")
        return shp
    if suffix == ".shp":
        missing = [s for s in (".shx", ".dbf") if _sibling(path, s) is None]
        if ".shx" in missing:
            raise InputError(f"{src}: the .shx index beside the .shp is missing; copy all the parts of the shapefile "
                             f"(.shp, .shx, .dbf, .prj, .cpg)")
        for part in (path, _sibling(path, ".shx"), _sibling(path, ".dbf")):
            if part is not None:
                _check_complete(part)
    return path


_SHAPE_MAGIC = 9994  # file code opening every .shp and .shx (big-endian)


def _expected_size(part: Path, head: bytes) -> int | None:
    """The size a shapefile part announces in its header (None: nothing announced)."""
    if part.suffix.lower() in (".shp", ".shx"):
        if len(head) < 4 or struct.unpack(">i", head[:4])[0] != _SHAPE_MAGIC:
            return -1
        if len(head) < 28:
            return 100  # cut inside the header itself
        return max(100, struct.unpack(">i", head[24:28])[0] * 2)  # in 16-bit words
    if len(head) < 12:
        return -1
    n_records, header_len, record_len = struct.unpack("<IHH", head[4:12])
    return header_len + n_records * record_len  # the 0x1A end marker after the records is optional


def _check_complete(part: Path) -> None:
    """InputError when a shapefile part is cut short (an interrupted copy or export): GDAL would read the
    missing features as NULL geometries or blank attributes without a word."""
    try:
        size = part.stat().st_size
        with open(part, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise InputError(f"{part}: cannot be read ({exc.strerror or exc}); check the file's permissions") from None
    expected = _expected_size(part, head)
    fix = "copy it again from the source, or re-export the layer (all of .shp, .shx, .dbf, .prj, .cpg)"
    if expected is None:
        return
    if expected < 0:
        what = "is empty (0 bytes)" if size == 0 else f"does not start with a shapefile header ({size:,d} bytes)"
        raise InputError(f"{part}: {what} — the file is damaged or not a shapefile part; {fix}")
    if size < expected:
        raise InputError(f"{part}: the file is incomplete: its header announces {expected:,d} bytes but it holds only "
                         f"{size:,d} ({size / expected:.0%}) — cut short by an interrupted copy, download or "
                         f"export; {fix}")


# formats whose text is UTF-8 by definition: encoding= does not apply
_UTF8_DRIVERS = ("GPKG", "GeoJSON", "GeoJSONSeq", "FlatGeobuf", "KML", "LIBKML", "OpenFileGDB", "FileGDB", "Parquet")

_VECTOR_EXTS = (".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".gml", ".tab", ".mif")


def _gdal_source(path: Path) -> Path | str:
    """What to hand GDAL: the path itself, or for a .zip the folder or file inside it holding the data."""
    if path.suffix.lower() != ".zip":
        return path
    try:
        with zipfile.ZipFile(path) as zf:
            members = [PurePosixPath(m) for m in zf.namelist() if not m.endswith("/")]
    except (OSError, zipfile.BadZipFile):
        return path
    data = [m for m in members if m.suffix.lower() in _VECTOR_EXTS and not m.name.startswith(".")
            and "__MACOSX" not in m.parts]
    if not data or any(m.suffix.lower() == ".shp" and len(m.parts) == 1 for m in data):
        return path
    shp = [m for m in data if m.suffix.lower() == ".shp"]
    inner = str(shp[0].parent) if shp else str(data[0])
    return f"/vsizip/{path}/{inner}"


def _named_errors(func: Any) -> Any:
    """Whatever a damaged file makes GEOS, the OS or a decoder raise leaves as an InputError naming it."""
    import functools

    @functools.wraps(func)
    def wrapper(path: str | Path, *args: Any, **kwargs: Any) -> ReadResult:
        try:
            return func(path, *args, **kwargs)
        except InputError:
            raise
        except (shapely.errors.GEOSException, OSError, UnicodeError, ValueError, struct.error,
                zipfile.BadZipFile) as exc:
            raise InputError(f"{path}: cannot be read ({type(exc).__name__}: {exc}); the file may be damaged: copy "
                             f"it again or re-export it, or convert it in QGIS") from exc
    return wrapper


@_named_errors
def read_layer(path: str | Path, layer: str | None = None, *, encoding: str | None = None, crs: Any = None,
               name_field: str | None = None) -> ReadResult:
    """Read one layer of a vector file, validated; see the module docstring for what is checked.

    ``layer``: the layer of a multi-layer source (GeoPackage, KML folders…); required when it holds
    several.  ``encoding``: force the attribute encoding (Shapefile; boundary-point txt).  ``crs``: the
    CRS the coordinates are in, overriding the file's (no transformation).  ``name_field``: the field
    naming features in messages (default: the usual name fields, see :func:`feature_names`).

    A string starting with ``postgresql://`` or ``postgres://`` is read from PostGIS
    (:func:`spatial.sources.postgis.read_postgis`; ``layer`` is then the table when the URL names none).
    """
    url_reader = _url_reader(path)
    if url_reader is not None:
        return url_reader(path.strip(), layer, encoding=encoding, crs=crs, name_field=name_field)
    path = Path(path)
    src = str(path)
    path = _resolve_path(path, src)
    src = str(path)
    if path.suffix.lower() == ".txt":
        return _read_boundary_points(path, src, encoding, crs, name_field)
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".csv"):
        if is_coordinate_table(path, layer, encoding):
            table = load_coordinate_table(path, layer, encoding=encoding, crs=crs)
            return _parcels_result(table, path, src, crs, name_field, TABLE_DRIVER, table.sheet)

    source = _gdal_source(path)
    layers = _list_layers(source, src)
    lyr = _choose_layer(layers, layer, src, source)
    try:
        info = pyogrio.read_info(source, layer=lyr)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{src}: layer {lyr!r} cannot be read ({_gdal_message(exc)})") from None
    driver = str(info.get("driver") or "")
    warnings: list[Finding] = []
    _extension_warning(path, driver, src, warnings)
    enc_pass, enc_label, enc_source = None, info.get("encoding"), "the format's own encoding"
    if driver == "ESRI Shapefile":
        enc_pass, enc_label, enc_source, enc_warn = _shapefile_encoding(path, lyr, encoding, src)
        warnings.extend(Finding(src, None, "encoding", m) for m in enc_warn)
    elif encoding and driver in _UTF8_DRIVERS:
        warnings.append(Finding(src, None, "encoding",
                                f"{src}: encoding={encoding} ignored: {driver} text is UTF-8 by definition"))
    elif encoding:
        enc_pass, enc_label, enc_source = encoding, encoding, f"given (encoding={encoding})"
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore", RuntimeWarning)
            gdf = pyogrio.read_dataframe(source, layer=lyr, encoding=enc_pass)
    except Exception as exc:  # noqa: BLE001
        fix = " (try --encoding gbk or --encoding utf-8)" if isinstance(exc, UnicodeDecodeError) else ""
        raise InputError(f"{src}: layer {lyr!r} cannot be read ({_gdal_message(exc)}){fix}") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{src}: layer {lyr!r} has no geometry column (an attribute table); pass a spatial layer")
    if len(gdf) == 0:
        raise InputError(f"{src}: layer {lyr!r} holds no features; check that it is the right file or layer")
    if driver in ("KML", "LIBKML"):
        gdf = _drop_kml_bookkeeping(gdf)
    gdf = gdf.reset_index(drop=True)

    gdf, crs_source = _resolve_crs(gdf, src, crs, driver, path, warnings)
    repairs: list[Finding] = []
    set_aside: list[Finding] = []
    good, bad = _validate(gdf, src, info.get("geometry_type"), name_field, repairs, set_aside, warnings)
    if len(good) == 0:
        raise InputError(f"{src}: layer {lyr!r} has no usable geometry ({len(bad)} features set aside: "
                         f"{'; '.join(f.message for f in set_aside[:3])}); fix the geometries in a GIS")
    return ReadResult(gdf=good, path=path, layer=lyr, driver=driver, encoding=enc_label, crs_source=crs_source,
                      repairs=repairs, set_aside=set_aside, warnings=warnings, encoding_source=enc_source,
                      layers=[n for n, _ in layers], set_aside_features=bad)


# file extensions each driver's files carry (a folder or a .zip may hold any)
_DRIVER_EXTS = {"GPKG": (".gpkg",), "GeoJSON": (".geojson", ".json"), "ESRI Shapefile": (".shp",),
                "KML": (".kml",), "LIBKML": (".kml", ".kmz"), "FlatGeobuf": (".fgb",)}


def _extension_warning(path: Path, driver: str, src: str, warnings: list[Finding]) -> None:
    """GDAL knows a format by its content: a GeoJSON named .gpkg reads fine, but other software will not."""
    exts = _DRIVER_EXTS.get(driver)
    if exts is None or path.is_dir() or path.suffix.lower() in (*exts, ".zip"):
        return
    warnings.append(Finding(src, None, "wrong_extension",
                            f"{src}: the file is {driver} although named {path.suffix or 'without extension'}; read "
                            f"as {driver} — rename it to {exts[0]} so that other software opens it"))


def _read_boundary_points(path: Path, src: str, encoding: str | None, crs: Any, name_field: str | None) -> ReadResult:

    try:
        bp = load_boundary_points(path, encoding, crs=crs)
    except BoundaryPointError as exc:
        raise InputError(str(exc)) from None
    except (ValueError, LookupError) as exc:
        raise InputError(f"{src}: cannot be read as a boundary-point (界址点坐标) file ({exc}); check the file or "
                         f"pass --encoding / --crs") from None
    return _parcels_result(bp, path, src, crs, name_field, "boundary-points (界址点坐标 txt)", None)


def _parcels_result(bp: Any, path: Path, src: str, crs: Any, name_field: str | None, driver: str,
                    layer: str | None) -> ReadResult:
    """A ReadResult from parcels read from coordinates (boundary-point txt or coordinate table): their notes
    as findings, a check that they fall in China, and the usual validation."""
    gdf = bp.gdf
    gdf.attrs["header"] = dict(bp.header)
    repairs: list[Finding] = []
    set_aside: list[Finding] = []
    warnings: list[Finding] = []
    for note in bp.notes:
        finding = Finding(src, note.parcel, note.kind, f"{src}: {note.message}", number=note.number)
        if note.kind == "area_mismatch":
            finding.details = {"declared_area_ha": note.declared_area_ha, "computed_area_ha": note.computed_area_ha}
        (repairs if note.kind in ("ring_not_closed", "ring_too_short") else warnings).append(finding)
    if crs is None and not gdf.crs.equals(CRS.from_user_input(CGCS2000)):
        b = _geometry_bounds(gdf)
        if b is not None and not _in_china(gdf.crs, b):
            warnings.append(Finding(src, None, "outside_china",
                                    f"{src}: with {bp.crs_source} the parcels ({_fmt_bounds(b)}) fall outside China; "
                                    f"check 带号 and the coordinates (X = northing, Y = easting)"))
    polygonal = bool((gdf["shape_kind"] == "面").all())
    good, bad = _validate(gdf, src, "Polygon" if polygonal else None, name_field, repairs, set_aside, warnings)
    if len(good) == 0:
        raise InputError(f"{src}: no parcel has a usable boundary; check the point lines")
    return ReadResult(gdf=good, path=path, layer=layer, driver=driver, encoding=bp.encoding,
                      crs_source=bp.crs_source, repairs=repairs, set_aside=set_aside, warnings=warnings,
                      encoding_source=bp.encoding_source, layers=[], set_aside_features=bad)
