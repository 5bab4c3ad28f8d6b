"""生态空间规划工具包 — ecological spatial-planning toolkit (analysis package).

The public API, re-exported from the modules that own it (imports run downward: errors → geo → rules →
sources → engine → analysis → outputs → cli; this package file only gathers them)::

    import spatial
    ws = spatial.load_workspace()                  # the bundled Changshan demo
    result = spatial.check_file("parcels.shp", ws, project_type="energy")
    result.summary
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Each public name and the module that owns it. They are imported on first use (PEP 562), so that a command
# needing only the check does not pay for the pattern's scipy and networkx or the maps' folium at start.
_EXPORTS = {
    "balance": "spatial.analysis.balance",
    "CheckResult": "spatial.analysis.check",
    "check": "spatial.analysis.check",
    "check_conflicts": "spatial.analysis.conflicts",
    "indicator_result": "spatial.analysis.indicators",
    "ledger": "spatial.analysis.ledger",
    "pattern": "spatial.analysis.security_pattern",
    "diff_versions": "spatial.analysis.versions",
    "check_file": "spatial.api",
    "BoundaryPointError": "spatial.errors",
    "CatalogError": "spatial.errors",
    "InputError": "spatial.errors",
    "MapError": "spatial.errors",
    "OfflineError": "spatial.errors",
    "SpatialError": "spatial.errors",
    "area_m2": "spatial.geo.area",
    "union_area_m2": "spatial.geo.area",
    "load_catalog": "spatial.rules.catalog",
    "read_layer": "spatial.sources.files",
    "load_workspace": "spatial.sources.workspace",
}

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from spatial.analysis.balance import balance
    from spatial.analysis.check import CheckResult, check
    from spatial.analysis.conflicts import check_conflicts
    from spatial.analysis.indicators import indicator_result
    from spatial.analysis.ledger import ledger
    from spatial.analysis.security_pattern import pattern
    from spatial.analysis.versions import diff_versions
    from spatial.api import check_file
    from spatial.errors import BoundaryPointError, CatalogError, InputError, MapError, OfflineError, SpatialError
    from spatial.geo.area import area_m2, union_area_m2
    from spatial.rules.catalog import load_catalog
    from spatial.sources.files import read_layer
    from spatial.sources.workspace import load_workspace


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'spatial' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

__version__ = "0.1.0"

__all__ = [
    "CheckResult", "check", "check_file", "check_conflicts", "indicator_result", "diff_versions", "pattern",
    "balance", "ledger",
    "SpatialError", "InputError", "BoundaryPointError", "CatalogError", "MapError", "OfflineError",
    "area_m2", "union_area_m2", "load_catalog", "read_layer", "load_workspace",
]
