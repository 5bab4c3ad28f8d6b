"""GCJ-02 ("Mars coordinates", 火星坐标) <-> WGS84, vectorised with numpy.

GCJ-02 is the obfuscated datum that Chinese web maps (AMap/Gaode 高德, Tencent, Google
China) and data scraped from them use. It shifts points by a smooth, deliberately irregular
offset of a few hundred metres (about 540 m around Changshan). The forward transform
(WGS84 -> GCJ-02) is the widely published one (Krasovsky semi-major axis a = 6378245 m,
e² = 0.00669342162296594323; e.g. the coordtransform and eviltransform projects); the
inverse has no closed form, so :func:`gcj02_to_wgs84` iterates the forward transform to
convergence (far below a millimetre).

Outside the rough bounding box of China (lon 72.004–137.8347, lat 0.8293–55.8271) the offset
is zero, as in every published implementation.

WGS84 and CGCS2000 (EPSG:4490) differ by centimetres, so the output of
:func:`gcj02_to_wgs84` may be tagged EPSG:4490 for planning work.
"""

from __future__ import annotations

from typing import Literal

import geopandas as gpd
import numpy as np
import shapely

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the published algorithm uses
_EE = 0.00669342162296594323  # first eccentricity squared

# The bounding box every published implementation uses as "inside China".
CHINA_BBOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max

Direction = Literal["to_wgs84", "to_gcj02"]


def out_of_china(lon, lat) -> np.ndarray:
    """True where the point lies outside the box in which GCJ-02 shifts coordinates."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = CHINA_BBOX
    return ~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))


def _raw_offset(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The published polynomial/trigonometric offset, in its own units, at x = lon-105, y = lat-35."""
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    return dlon, dlat


def offset(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 (degrees of lon, degrees of lat) at a WGS84 position; zero outside China."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _raw_offset(lon - 105.0, lat - 35.0)
    radlat = np.radians(lat)
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 (or CGCS2000) longitude/latitude in degrees -> GCJ-02. Arrays or scalars; NaN passes through."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, iterations: int = 20, tolerance: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 longitude/latitude in degrees -> WGS84, by fixed-point iteration of the forward transform.

    Each step corrects the estimate by the residual ``wgs84_to_gcj02(estimate) - target``; the
    offset field varies so slowly that the error shrinks about a thousandfold per step, so three
    or four steps reach 1e-12 degrees (0.1 µm). Iteration stops early once every finite point has
    converged below ``tolerance`` degrees.
    """
    if iterations < 1:
        raise ValueError("iterations must be at least 1")
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    dlon, dlat = offset(glon, glat)
    wlon, wlat = glon - dlon, glat - dlat  # the usual one-step approximation (~1 m)
    for _ in range(iterations - 1):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        rlon, rlat = flon - glon, flat - glat
        wlon, wlat = wlon - rlon, wlat - rlat
        residual = np.nanmax(np.abs(np.concatenate([np.ravel(rlon), np.ravel(rlat)])), initial=0.0)
        if residual < tolerance:
            break
    return wlon, wlat


def _coords_func(direction: Direction):
    if direction == "to_wgs84":
        fn = gcj02_to_wgs84
    elif direction == "to_gcj02":
        fn = wgs84_to_gcj02
    else:
        raise ValueError(f"direction must be 'to_wgs84' or 'to_gcj02', not {direction!r}")

    def apply(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float, copy=True)
        if len(out):
            out[:, 0], out[:, 1] = fn(out[:, 0], out[:, 1])
        return out

    return apply


def transform_geometries(geoms, direction: Direction):
    """Shift every vertex of ``geoms`` between GCJ-02 and WGS84.

    ``geoms`` may be a GeoSeries, a GeoDataFrame (its active geometry is used), a shapely
    geometry or an array of them. A GeoSeries comes back as a GeoSeries with the same index and
    CRS label: GCJ-02 has no EPSG code, so the CRS stays whatever geographic CRS the caller
    attached (raw AMap data usually claim EPSG:4326). A projected CRS is refused, since the
    transform works in degrees. Z values are kept unchanged.
    """
    func = _coords_func(direction)
    if isinstance(geoms, (gpd.GeoSeries, gpd.GeoDataFrame)):
        series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
        if series.crs is not None and not series.crs.is_geographic:
            raise ValueError(
                f"GCJ-02 works on longitude/latitude; these geometries are in the projected CRS "
                f"{series.crs.to_string()}. Convert them to EPSG:4490 or EPSG:4326 first."
            )
        values = shapely.transform(np.asarray(series.values, dtype=object), func, include_z=None)
        return gpd.GeoSeries(values, index=series.index, crs=series.crs, name=series.name)
    return shapely.transform(geoms, func, include_z=None)


__all__ = [
    "CHINA_BBOX",
    "gcj02_to_wgs84",
    "offset",
    "out_of_china",
    "transform_geometries",
    "wgs84_to_gcj02",
]
