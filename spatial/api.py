"""One-call entry points for notebooks and scripts: read a file and check it in one step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from layers import DEMO_WORKSPACE
from spatial.analysis.check import CheckResult, check
from spatial.sources.files import read_layer
from spatial.sources.workspace import Workspace, load_workspace

__all__ = ["check_file"]


def check_file(path: str | Path, workspace: str | Path | Workspace | None = None, project_type: str | None = None,
               *, layer: str | None = None, encoding: str | None = None, crs: Any = None,
               **options: Any) -> CheckResult:
    """Read a project file and check it against a workspace.

    Parameters
    ----------
    path : str or Path
        Any project file :func:`spatial.sources.files.read_layer` reads: Shapefile, GeoPackage, GeoJSON, KML,
        FlatGeobuf, a boundary-point txt (界址点坐标文件).
    workspace : str, Path or Workspace, optional
        The workspace folder (or a loaded workspace); default the bundled Changshan demo.
    project_type : str, optional
        One catalogue project type for every project (else the file's ``project_type`` column).
    layer, encoding, crs
        Passed to :func:`~spatial.sources.files.read_layer`.
    **options
        Passed to :func:`spatial.analysis.check.check` (``near_m``, ``line_width_m``, ``area_method``,
        ``engine`` …).

    Returns
    -------
    CheckResult
        Its ``notes`` start with the repairs and set-asides made while reading the file.

    Raises
    ------
    spatial.errors.InputError
        A file that cannot be read or checked; the message names the file, the feature and the fix.

    Examples
    --------
    >>> import spatial
    >>> from layers import DEMO_WORKSPACE
    >>> txt = DEMO_WORKSPACE / "projects" / "四省边际生态文化旅游小镇.txt"
    >>> spatial.check_file(txt, project_type="tourism").summary["verdict"].tolist()
    ['needs_approval']
    """
    read = read_layer(path, layer, encoding=encoding, crs=crs)
    ws = workspace if isinstance(workspace, Workspace) else load_workspace(workspace or DEMO_WORKSPACE)
    result = check(read, ws, project_type, **options)
    result.notes[:0] = [f.message for f in read.findings]
    return result
