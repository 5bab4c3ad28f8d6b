"""The ecological security pattern (生态安全格局) of a workspace: its planning layers, territory, DEM and the
catalogue's ``[pattern]`` table handed to :func:`spatial.analysis.pattern.derive_pattern`.

源地识别 → 阻力面构建 → 廊道提取 → 夹点与节点, as Linkage Mapper and Circuitscape do it (docs/pattern.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from layers import DEMO_WORKSPACE
from spatial.analysis.pattern import PatternResult, derive_pattern
from spatial.errors import InputError
from spatial.sources.workspace import Workspace, load_workspace

__all__ = ["pattern"]


def pattern(
    workspace: str | Path | Workspace | None = None,
    *,
    cell_m: float | None = None,
    cutoff: float | None = None,
    resistance: str | Path | None = None,
    dem: str | Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> PatternResult:
    """Derive the ecological security pattern of a workspace.

    Parameters
    ----------
    workspace : str, Path or Workspace, optional
        The workspace (folder or loaded); default the bundled Changshan demo.
    cell_m : float, optional
        Grid cell in metres (default the catalogue's ``[pattern] cell_m``).
    cutoff : float, optional
        Corridor width as cost, resistance × m (default ``[pattern] cutoff``).
    resistance : str or Path, optional
        A user resistance GeoTIFF instead of the one built from the catalogue's table.
    dem : str or Path, optional
        A DEM for the slope factor; default the workspace's ``[rasters.dem]`` when it declares one.
    progress : callable, optional
        ``progress(step, done, total)`` after each step.

    Returns
    -------
    PatternResult
        Sources, corridors (lines and zones), pinch points, nodes, the rasters, a summary and the time per step.

    Raises
    ------
    InputError
        When the workspace has no territory or its catalogue no ``[pattern]`` table.

    Examples
    --------
    >>> import spatial
    >>> result = spatial.pattern(cell_m=250)          # doctest: +SKIP
    >>> result.corridors[["from_id", "to_id", "cost", "length_m"]]  # doctest: +SKIP
    """
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace or DEMO_WORKSPACE)
    table = ws.catalog.tables.get("pattern")
    if not table:
        raise InputError(f"{ws.catalog.path}: the catalogue has no [pattern] table (resistance classes, sources); "
                         "add one, e.g. copy it from the bundled layers/catalog.toml")
    territory = ws.territory()
    if territory is None or len(territory) == 0:
        raise InputError(f"{ws.path / 'workspace.toml'}: names no territory; set territory_kind and territory_code "
                         "under [workspace]")
    layers = {kind_id: layer.gdf for kind_id, layer in ws.layers.items()}
    return derive_pattern(layers, territory, table, dem=dem if dem is not None else ws.raster("dem"),
                          resistance=resistance, cell_m=cell_m, cutoff=cutoff, progress=progress)
