"""The units an analysis reports on: the workspace's territory (its features dissolved) and the features of
a unit layer (admin_county, admin_township …), measured once, with the share of each inside the territory."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from spatial.geo.area import AreaMethod
from spatial.geo.crs import CGCS2000, to_workspace_crs
from spatial.geo.ops import clip, dissolve, layer_geoms, measure, polygonal
from spatial.sources.names import feature_names

if TYPE_CHECKING:  # pragma: no cover
    from spatial.sources.workspace import Workspace

__all__ = ["Units", "normalise_terrain", "territory_units", "territory_and_units", "units_of", "unit_names"]

MIN_COVERAGE = 0.99        # default: a unit less covered than this by the workspace territory gets 无数据 no data

_TERRAIN_ALIASES = {
    "mountain": "mountain", "mountainous": "mountain", "山区": "mountain", "山地": "mountain", "山区县": "mountain",
    "hill": "hill", "hilly": "hill", "丘陵": "hill", "丘陵区": "hill", "丘陵县": "hill",
    "plain": "plain", "平原": "plain", "平原区": "plain", "平原县": "plain",
}


def unit_names(gdf: gpd.GeoDataFrame, name_field: str | None = None) -> list[str]:
    """The name of each feature as text (see :func:`spatial.sources.names.feature_names`)."""
    return [str(v) for v in feature_names(gdf, name_field)]

@dataclass
class Units:
    """Administrative units (or the whole territory) the indicators are computed for; geometries in EPSG:4490."""

    kind: str                 # "territory" or a unit layer kind id (admin_county …)
    kind_label: str
    names: list[str]
    codes: list[str]
    geoms: np.ndarray
    terrain: list[str | None]
    area_m2: np.ndarray
    coverage: np.ndarray      # share of each unit inside the workspace territory (NaN: no territory known)

    def __len__(self) -> int:
        return len(self.names)

    def covered(self, i: int, min_coverage: float = MIN_COVERAGE) -> bool:
        c = self.coverage[i]
        return bool(np.isnan(c) or c >= min_coverage)

def normalise_terrain(value: Any) -> str | None:
    """'mountain' | 'hill' | 'plain' from English or Chinese spellings; None when unset or unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    key = str(value).strip()
    return _TERRAIN_ALIASES.get(key.lower(), _TERRAIN_ALIASES.get(key))

def _make_units(kind: str, kind_label: str, gdf: gpd.GeoDataFrame, name_field: str | None,
                default_terrain: str | None, method: AreaMethod, territory: Any | None) -> Units:
    geoms = polygonal(np.asarray(to_workspace_crs(gdf).geometry.values if not gdf.crs.equals(CGCS2000)
                                 else gdf.geometry.values, dtype=object))
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = polygonal(shapely.make_valid(geoms[bad]))
    codes = [str(c) for c in gdf["code"]] if "code" in gdf.columns else [""] * len(gdf)
    terrain = []
    for i in range(len(gdf)):
        own = normalise_terrain(gdf["terrain_class"].iloc[i]) if "terrain_class" in gdf.columns else None
        terrain.append(own or default_terrain)
    areas = measure(geoms, method)
    if territory is None:
        coverage = np.full(len(gdf), np.nan)
    else:
        inside = measure(clip(geoms, territory), method)
        coverage = np.divide(inside, areas, out=np.zeros(len(gdf)), where=areas > 0)
    return Units(kind=kind, kind_label=kind_label, names=unit_names(gdf, name_field), codes=codes, geoms=geoms,
                 terrain=terrain, area_m2=areas, coverage=coverage)

def territory_units(workspace: Workspace, method: AreaMethod = "official") -> Units | None:
    """The workspace's territory as one unit (its features dissolved), or None if it names none."""
    gdf = workspace.territory()
    if gdf is None or len(gdf) == 0:
        return None
    kind_id = workspace.settings.get("territory_kind")
    layer = workspace.layer(kind_id)
    default = normalise_terrain(workspace.settings.get("terrain_class"))
    names = unit_names(gdf, getattr(layer, "name_field", None))
    codes = [str(c) for c in gdf["code"]] if "code" in gdf.columns else [""]
    own = {normalise_terrain(v) for v in gdf["terrain_class"]} if "terrain_class" in gdf.columns else set()
    own.discard(None)
    geom = dissolve(layer_geoms(gdf))
    area = measure([geom], method)
    return Units(kind="territory", kind_label="全域 territory", names=["、".join(dict.fromkeys(names))],
                 codes=["、".join(dict.fromkeys(c for c in codes if c))],
                 geoms=np.asarray([geom], dtype=object),
                 terrain=[own.pop() if len(own) == 1 else default], area_m2=area, coverage=np.ones(1))

def territory_and_units(workspace: Workspace, by: str | None,
                        method: AreaMethod = "official") -> tuple[Units | None, list[Units]]:
    """The workspace's territory, and the unit sets to report on: the territory first, then the ``by`` units."""
    territory = territory_units(workspace, method)
    unit_sets = [territory] if territory is not None else []
    if by:
        unit_sets.append(units_of(workspace, by, method, territory))
    return territory, unit_sets

def units_of(workspace: Workspace, by: str, method: AreaMethod = "official",
             territory: Units | None = None) -> Units:
    """The features of the workspace layer ``by`` (admin_county, admin_township …) as units."""
    layer = workspace.layer(by)
    if layer is None:
        have = [k for k in workspace.layers if k.startswith("admin_")] or list(workspace.layers)
        raise ValueError(f"the workspace has no {by!r} layer to group by; it has: {', '.join(have)}")
    return _make_units(by, layer.kind.label, layer.gdf, layer.name_field,
                       normalise_terrain(workspace.settings.get("terrain_class")), method,
                       territory.geoms[0] if territory is not None else None)
