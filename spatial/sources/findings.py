"""What reading a layer found: each repair, set-aside feature and warning (:class:`Finding`) and the layer as read
(:class:`ReadResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from spatial.geo.crs import to_workspace_crs


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
