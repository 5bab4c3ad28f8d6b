"""The CRS of a layer as read: given (``crs=``, which wins and says so), the file's own (checked against its
coordinates: swapped axes, metres in a degree CRS, another zone's prefix), or proved by eastings that carry a
Gauss–Krüger zone prefix. The zone is never inferred from the longitude (Changshan straddles 118.5 °E, the
zone 39/40 border)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from spatial.errors import InputError
from spatial.geo.crs import detect_gk_crs, looks_swapped_gk, looks_swapped_lonlat
from spatial.sources.findings import Finding

CRS_FIX = ("pass --crs EPSG:4490 (CGCS2000 geographic) or the Gauss-Krüger zone, e.g. --crs EPSG:4527 "
           "(CGCS2000 3-degree zone 39 with zone prefix, CM 117°E) or EPSG:4549 (zone 40 without prefix, CM 120°E), "
           "or add a .prj")


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
