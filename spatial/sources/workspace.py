"""A workspace: the catalogue plus the user's layer files, described by workspace.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import geopandas as gpd
import shapely

from layers import DEMO_WORKSPACE as _DEMO_WORKSPACE
from spatial.errors import InputError
from spatial.geo.crs import other_zone_inside, outside_territory, projected_crs_for, to_workspace_crs
from spatial.rules.catalog import Catalog, LayerKind, load_catalog
from spatial.sources.files import Finding, ReadResult, read_layer
from spatial.sources.names import feature_names, feature_numbers
from spatial.sources.postgis import is_postgis_url, mask_url, read_postgis

DEMO_WORKSPACE = _DEMO_WORKSPACE

@dataclass
class Layer:
    kind: LayerKind
    gdf: gpd.GeoDataFrame  # always EPSG:4490
    read: ReadResult
    name_field: str | None = None

    @property
    def source_crs(self) -> str:
        crs = self.read.gdf.crs
        return crs.to_string() if crs is not None else "?"


@dataclass
class Workspace:
    path: Path
    catalog: Catalog
    settings: dict[str, Any]
    layers: dict[str, Layer] = field(default_factory=dict)
    projects: ReadResult | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # workspace.toml as parsed (layer versions, [balance] …)

    def __repr__(self) -> str:
        projects = f", {len(self.projects.gdf)} projects" if self.projects is not None else ""
        return f"<Workspace {self.name!r} at {self.path}: {len(self.layers)} layers{projects}>"

    @property
    def name(self) -> str:
        zh, en = self.settings.get("name_zh", ""), self.settings.get("name_en", "")
        return f"{zh} {en}".strip() or self.path.name

    @property
    def illustrative(self) -> bool:
        return bool(self.settings.get("illustrative", False))

    def raster(self, name: str) -> Path | None:
        """The file of a raster the workspace declares (``[rasters.dem] path = "dem.tif"``), or None."""
        entry = (self.raw or {}).get("rasters", {}).get(name)
        if not entry or "path" not in entry:
            return None
        path = Path(entry["path"])
        path = path if path.is_absolute() else self.path / path
        if not path.exists():
            raise InputError(f"{self.path / 'workspace.toml'}: [rasters.{name}] names {path}, which does not exist; "
                             "correct the path")
        return path

    def layer(self, kind_id: str) -> Layer | None:
        return self.layers.get(kind_id)

    def territory(self) -> gpd.GeoDataFrame | None:
        """The unit(s) that make up the workspace's territory, as set by territory_kind / territory_code."""
        kind_id = self.settings.get("territory_kind")
        layer = self.layers.get(kind_id) if kind_id else None
        if layer is None:
            return None
        code = self.settings.get("territory_code")
        if code is None or "code" not in layer.gdf.columns:
            return layer.gdf
        return layer.gdf[layer.gdf["code"].astype(str) == str(code)]

    def findings(self) -> list[tuple[str, Any]]:
        """Every repair, set-aside feature and warning from reading the layers, tagged with the kind."""
        out: list[tuple[str, Any]] = []
        for kind_id, layer in self.layers.items():
            for item in (*layer.read.repairs, *layer.read.set_aside, *layer.read.warnings):
                out.append((kind_id, item))
        return out


def territory_findings(ws: Workspace, read: ReadResult) -> list[Finding]:
    """An ``outside_territory`` warning for each feature of ``read`` wholly outside the workspace's
    territory, with its distance and, for Gauss–Krüger data, the 带号 that would put it inside.

    Parameters
    ----------
    ws : the workspace (its ``territory_kind`` / ``territory_code`` give the territory).
    read : a layer read with :func:`spatial.sources.files.read_layer`, typically the projects.

    Returns
    -------
    list of Finding (empty without a territory or when every feature touches it).
    """
    territory = ws.territory()
    if territory is None or not len(territory) or not len(read.gdf):
        return []
    mask = outside_territory(read.gdf, territory)
    if not mask.any():
        return []
    far = read.gdf[mask]
    work = projected_crs_for(territory)
    land = shapely.union_all(territory.to_crs(work).geometry.values)
    km = shapely.distance(land, far.to_crs(work).geometry.values) / 1000.0
    zone = other_zone_inside(far, territory)
    hint = f"; read with 带号={zone} it lies inside: 带号 is probably {zone}" if zone else ""
    names, numbers = feature_names(far), feature_numbers(far)
    src = str(read.path)
    return [Finding(src, f"#{n} {nm}", "outside_territory",
                    f"{src}: feature #{n} {nm} lies outside the workspace territory ({ws.name}), {d:,.1f} km away; "
                    f"check 带号 / the CRS{hint}", number=int(n), details={"distance_km": float(d), "zone": zone})
            for n, nm, d in zip(numbers, names, km)]


def _read_entry(base: Path, entry: dict[str, Any], what: str, allow_outside: bool = True) -> ReadResult:
    toml = base / "workspace.toml"
    if isinstance(entry, dict) and "url" in entry:
        # a PostGIS source: url = "postgresql://USER@HOST:PORT/DB", with table = "SCHEMA.TABLE" or sql = "SELECT …"
        if not is_postgis_url(entry["url"]):
            raise InputError(f"{toml}: [{what}] url = {mask_url(str(entry['url']))!r} is not a postgresql:// URL; "
                             f"write url = \"postgresql://USER@HOST:PORT/DB\" and table = \"SCHEMA.TABLE\"")
        return read_postgis(entry["url"], table=entry.get("table"), sql=entry.get("sql"), crs=entry.get("crs"),
                            name_field=entry.get("name_field"))
    if not isinstance(entry, dict) or "path" not in entry:
        raise InputError(f"{toml}: [{what}] has no 'path'; add path = \"file.gpkg\" (or url = \"postgresql://…\" "
                         f"with table = \"SCHEMA.TABLE\")")
    file = base / str(entry["path"])
    outside = _outside_note(base, file, toml, what, allow_outside)
    if not file.exists() and file.suffix:  # without a suffix read_layer tries .shp, .gpkg …
        raise InputError(f"{toml}: [{what}] path = {entry['path']!r}: {file} does not exist; correct the path in "
                         f"workspace.toml (relative to {base}) or put the file there")
    read = read_layer(file, entry.get("layer"), encoding=entry.get("encoding"), crs=entry.get("crs"))
    if outside:
        read.warnings.append(Finding(str(file), None, "outside_workspace", outside))
    return read


def _outside_note(base: Path, file: Path, toml: Path, what: str, allowed: bool) -> str | None:
    """The warning for a layer file outside the workspace folder (a copied workspace would lose it), or
    InputError when that was not allowed."""
    try:
        file.resolve().relative_to(base.resolve())
        return None
    except ValueError:
        pass
    if not allowed:
        raise InputError(f"{toml}: [{what}] path {file} lies outside the workspace folder {base}; move or copy the "
                         f"file into the folder, or allow it with allow_outside = true under [workspace] "
                         f"(load_workspace(..., allow_outside=True))")
    return (f"{file}: [{what}] is read from outside the workspace folder {base} (allowed: given explicitly or "
            f"allow_outside = true); a copy of the workspace folder will not hold it")


def _load_toml(toml_path: Path) -> dict[str, Any]:
    try:
        with open(toml_path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{toml_path}: not valid TOML: {exc}; fix that line (strings in double quotes, "
                         f"[section] headers, key = value)") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{toml_path}: not UTF-8 text (byte {exc.start}); save workspace.toml as UTF-8") from None
    except OSError as exc:
        raise InputError(f"{toml_path}: cannot be read ({exc.strerror or exc}); check the path") from None


def load_workspace(
    path: str | Path = DEMO_WORKSPACE,
    *,
    catalog: Catalog | None = None,
    overrides: dict[str, str | Path] | None = None,
    progress: Callable[[str], None] | None = None,
    allow_outside: bool = False,
) -> Workspace:
    """Load workspace.toml and every layer it names, converted to CGCS2000 (EPSG:4490).

    ``overrides`` maps kind ids to files (or ``postgresql://…?table=`` URLs) that replace (or add to) the
    workspace's layers. A layer entry is ``path = "file"`` (with ``layer``, ``encoding``, ``crs``) or
    ``url = "postgresql://USER@HOST:PORT/DB"`` with ``table = "SCHEMA.TABLE"`` or ``sql = "SELECT …"``
    (:mod:`spatial.sources.postgis`).
    ``allow_outside``: accept layer paths outside the workspace folder (``../x.shp``, absolute), as
    ``allow_outside = true`` under ``[workspace]`` does; each such layer gets an ``outside_workspace``
    warning.  Otherwise they are an :class:`InputError`.
    """
    base = Path(path)
    toml_path = base / "workspace.toml" if base.is_dir() else base
    base = toml_path.parent
    if not toml_path.exists():
        raise InputError(f"{toml_path}: no workspace.toml here; point --workspace at a folder holding one "
                         f"(the demo is {DEMO_WORKSPACE})")
    data = _load_toml(toml_path)
    for table in ("workspace", "layers"):
        if not isinstance(data.get(table, {}), dict):
            raise InputError(f"{toml_path}: '{table}' must be a [{table}] table of settings; see docs/CONTRACTS.md")
    catalog = catalog or _catalog_of(data, base, toml_path)
    entries: dict[str, dict[str, Any]] = dict(data.get("layers", {}))
    for kind_id, file in (overrides or {}).items():
        entries[kind_id] = ({"url": file, "_given": True} if is_postgis_url(file)
                            else {"path": str(Path(file).resolve()), "_given": True})
    if not entries and "projects" not in data:
        raise InputError(f"{toml_path}: names no layers (empty or no [layers.KIND] tables); add e.g. "
                         f"[layers.ecological_redline] with path = \"STBHHX.shp\" (see docs/CONTRACTS.md)")
    ws = Workspace(path=base, catalog=catalog, settings=dict(data.get("workspace", {})), raw=data)
    allowed = bool(allow_outside) or ws.settings.get("allow_outside") is True
    for kind_id, entry in entries.items():
        if kind_id not in catalog.kinds:
            raise InputError(f"{toml_path}: [layers.{kind_id}]: {kind_id!r} is not a layer kind of the catalogue "
                             f"{catalog.path}; use one of {', '.join(catalog.kinds)}")
        kind = catalog.kind(kind_id)
        if progress:
            progress(kind.label)
        # files given on the command line (overrides) are the user's explicit choice: never refused
        read = _read_entry(base, entry, f"layers.{kind_id}", allowed or bool(entry.get("_given")))
        ws.layers[kind_id] = Layer(kind=kind, gdf=to_workspace_crs(read.gdf), read=read,
                                   name_field=entry.get("name_field"))
    if "projects" in data:
        ws.projects = _read_entry(base, data["projects"], "projects", allowed)
        ws.projects.warnings.extend(territory_findings(ws, ws.projects))
    return ws


def _catalog_of(data: dict[str, Any], base: Path, toml_path: Path) -> Catalog:
    name = data.get("workspace", {}).get("catalog") if isinstance(data.get("workspace"), dict) else None
    try:
        return load_catalog(name and base / name)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # TOMLDecodeError is a ValueError
        raise InputError(f"{toml_path}: the catalogue {base / name if name else 'bundled'} cannot be used ({exc}); "
                         f"fix catalog = ... under [workspace] or the catalogue file") from None
