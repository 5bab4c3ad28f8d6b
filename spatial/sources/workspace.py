"""A workspace: the catalogue plus the user's layer files, described by workspace.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import geopandas as gpd
import shapely

from layers import DEMO_WORKSPACE as _DEMO_WORKSPACE
from spatial.rules.catalog import Catalog, LayerKind, load_catalog
from spatial.geo.crs import CGCS2000, to_workspace_crs
from spatial.sources.files import InputError, ReadResult, read_layer
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

    @property
    def name(self) -> str:
        zh, en = self.settings.get("name_zh", ""), self.settings.get("name_en", "")
        return f"{zh} {en}".strip() or self.path.name

    @property
    def illustrative(self) -> bool:
        return bool(self.settings.get("illustrative", False))

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


def _read_entry(base: Path, entry: dict[str, Any], what: str) -> ReadResult:
    if "url" in entry:
        # a PostGIS source: url = "postgresql://USER@HOST:PORT/DB", with table = "SCHEMA.TABLE" or sql = "SELECT …"
        if not is_postgis_url(entry["url"]):
            raise InputError(f"{base / 'workspace.toml'}: [{what}] url = {mask_url(str(entry['url']))!r} is not a "
                             f"postgresql:// URL; write url = \"postgresql://USER@HOST:PORT/DB\" and table = "
                             f"\"SCHEMA.TABLE\"")
        return read_postgis(entry["url"], table=entry.get("table"), sql=entry.get("sql"), crs=entry.get("crs"),
                            name_field=entry.get("name_field"))
    if "path" not in entry:
        raise InputError(f"{base / 'workspace.toml'}: [{what}] has no 'path'; add path = \"file.gpkg\" "
                         f"(or url = \"postgresql://…\" with table = \"SCHEMA.TABLE\")")
    return read_layer(
        base / entry["path"],
        entry.get("layer"),
        encoding=entry.get("encoding"),
        crs=entry.get("crs"),
    )


def load_workspace(
    path: str | Path = DEMO_WORKSPACE,
    *,
    catalog: Catalog | None = None,
    overrides: dict[str, str | Path] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Workspace:
    """Load workspace.toml and every layer it names, converted to CGCS2000 (EPSG:4490).

    ``overrides`` maps kind ids to files (or ``postgresql://…?table=`` URLs) that replace (or add to) the
    workspace's layers. A layer entry is ``path = "file"`` (with ``layer``, ``encoding``, ``crs``) or
    ``url = "postgresql://USER@HOST:PORT/DB"`` with ``table = "SCHEMA.TABLE"`` or ``sql = "SELECT …"``
    (:mod:`spatial.sources.postgis`).
    """
    base = Path(path)
    toml_path = base / "workspace.toml" if base.is_dir() else base
    base = toml_path.parent
    if not toml_path.exists():
        raise InputError(f"{toml_path}: no workspace.toml here; point --workspace at a folder holding one "
                         f"(the demo is {DEMO_WORKSPACE})")
    with open(toml_path, "rb") as fh:
        data = tomllib.load(fh)
    catalog = catalog or load_catalog(data.get("workspace", {}).get("catalog") and base / data["workspace"]["catalog"])
    entries: dict[str, dict[str, Any]] = dict(data.get("layers", {}))
    for kind_id, file in (overrides or {}).items():
        entries[kind_id] = {"url": file} if is_postgis_url(file) else {"path": str(Path(file).resolve())}
    ws = Workspace(path=base, catalog=catalog, settings=dict(data.get("workspace", {})))
    for kind_id, entry in entries.items():
        kind = catalog.kind(kind_id)
        if progress:
            progress(kind.label)
        read = _read_entry(base, entry, f"layers.{kind_id}")
        ws.layers[kind_id] = Layer(kind=kind, gdf=to_workspace_crs(read.gdf), read=read,
                                   name_field=entry.get("name_field"))
    if "projects" in data:
        ws.projects = _read_entry(base, data["projects"], "projects")
    return ws
