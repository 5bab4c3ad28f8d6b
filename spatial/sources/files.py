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

import struct
import warnings as _warnings
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import pyogrio
import shapely
from pyproj import CRS

from spatial.errors import BoundaryPointError, InputError
from spatial.geo.crs import CGCS2000
from spatial.sources.boundary_points import load_boundary_points
from spatial.sources.coordinate_table import TABLE_DRIVER, is_coordinate_table, load_coordinate_table
from spatial.sources.crs_detection import _fmt_bounds, _geometry_bounds, _in_china, _resolve_crs
from spatial.sources.encoding import _shapefile_encoding, _sibling
from spatial.sources.findings import Finding, ReadResult
from spatial.sources.postgis import is_postgis_url, read_postgis_source
from spatial.sources.validation import _validate, degenerate_polygons

__all__ = ["read_layer", "feature_count", "Finding", "ReadResult", "degenerate_polygons", "InputError"]

# KML/LIBKML bookkeeping fields dropped when they hold nothing but their defaults
_KML_BOOKKEEPING = ("timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility", "drawOrder",
                    "icon", "snippet")
_KML_DEFAULTS = {-1, 0}


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


# --- entry point ------------------------------------------------------------------------------------------

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
               name_field: str | None = None, rows: tuple[int, int] | None = None) -> ReadResult:
    """Read one layer of a vector file, validated; see the module docstring for what is checked.

    ``layer``: the layer of a multi-layer source (GeoPackage, KML folders…); required when it holds
    several.  ``encoding``: force the attribute encoding (Shapefile; boundary-point txt).  ``crs``: the
    CRS the coordinates are in, overriding the file's (no transformation).  ``name_field``: the field
    naming features in messages (default: the usual name fields, see :func:`feature_names`).  ``rows``:
    ``(skip, count)`` to read a range of features of a GDAL source (a streamed check); feature numbers stay
    those of the file.

    A string starting with ``postgresql://`` or ``postgres://`` is read from PostGIS
    (:func:`spatial.sources.postgis.read_postgis`; ``layer`` is then the table when the URL names none).
    """
    if isinstance(path, str) and is_postgis_url(path):
        return read_postgis_source(path.strip(), layer, crs=crs, name_field=name_field)
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
            skip, count = rows if rows is not None else (0, None)
            gdf = pyogrio.read_dataframe(source, layer=lyr, encoding=enc_pass, skip_features=skip,
                                         max_features=count)
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
    if rows is not None:
        gdf.index = gdf.index + rows[0]   # positions in the file, so feature numbers are the file's

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


def feature_count(path: str | Path, layer: str | None = None) -> int:
    """How many features a GDAL source's layer holds (to read it in ranges with ``read_layer(rows=…)``)."""
    source = _gdal_source(_resolve_path(Path(path), str(path)))
    lyr = _choose_layer(_list_layers(source, str(path)), layer, str(path), source)
    return int(pyogrio.read_info(source, layer=lyr)["features"])


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
