"""生态空间规划工具包 — ecological spatial-planning toolkit (analysis package).

The public API, re-exported from the modules that own it (imports run downward: errors → geo → rules →
sources → engine → analysis → outputs → cli; this package file only gathers them)::

    import spatial
    ws = spatial.load_workspace()                  # the bundled Changshan demo
    result = spatial.check_file("parcels.shp", ws, project_type="energy")
    result.summary
"""

from spatial.analysis.balance import balance
from spatial.analysis.check import CheckResult, check
from spatial.analysis.conflicts import check_conflicts
from spatial.analysis.indicators import indicator_result
from spatial.analysis.ledger import ledger
from spatial.analysis.security_pattern import pattern
from spatial.analysis.versions import diff_versions
from spatial.api import check_file
from spatial.errors import (
    BoundaryPointError,
    CatalogError,
    InputError,
    MapError,
    OfflineError,
    SpatialError,
)
from spatial.geo.area import area_m2, union_area_m2
from spatial.rules.catalog import load_catalog
from spatial.sources.files import read_layer
from spatial.sources.workspace import load_workspace

__version__ = "0.1.0"

__all__ = [
    "CheckResult", "check", "check_file", "check_conflicts", "indicator_result", "diff_versions", "pattern",
    "balance", "ledger",
    "SpatialError", "InputError", "BoundaryPointError", "CatalogError", "MapError", "OfflineError",
    "area_m2", "union_area_m2", "load_catalog", "read_layer", "load_workspace",
]
