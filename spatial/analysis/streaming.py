"""A streamed check: the projects of a large file read in ranges of features, each range checked against
constraint layers prepared once, so that memory stays flat however many projects there are.

Each range is read with :func:`spatial.sources.files.read_layer` (``rows=``: the file's own feature numbers,
validation and CRS as for the whole file) and checked with :func:`spatial.analysis.check.check` against one
:class:`~spatial.analysis.check_inputs.PreparedLayers`; the caller writes each result as it comes
(:class:`spatial.outputs.check_stream.StreamedCheckWriter`) and keeps none of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from spatial.analysis.check import CheckResult, check
from spatial.analysis.check_inputs import PreparedLayers, prepare_layers
from spatial.rules.catalog import Catalog
from spatial.sources.files import feature_count, read_layer
from spatial.sources.findings import ReadResult

__all__ = ["DEFAULT_CHUNK", "check_in_chunks"]

DEFAULT_CHUNK = 20_000   # projects per range: a few hundred MB at most, whatever the file's size


def check_in_chunks(
    path: str | Path,
    workspace_or_layers: Any,
    project_type: str | None = None,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    layer: str | None = None,
    encoding: str | None = None,
    crs: Any = None,
    catalog: Catalog | None = None,
    within: Mapping[str, float] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    **options: Any,
) -> Iterator[tuple[ReadResult, CheckResult]]:
    """Check the projects of ``path`` range by range.

    Parameters
    ----------
    path : str or Path
        A GDAL-readable projects file (GeoPackage, Shapefile, FlatGeobuf …).
    workspace_or_layers : Workspace, dict or PreparedLayers
        The constraint layers, prepared once here unless already prepared.
    project_type : str, optional
        As for :func:`~spatial.analysis.check.check`.
    chunk_size : int
        Projects per range.
    layer, encoding, crs
        Passed to :func:`~spatial.sources.files.read_layer`.
    catalog, within, **options
        Passed to :func:`~spatial.analysis.check.check` (``near_m``, ``area_method``, ``engine`` …).
    progress : callable, optional
        ``progress(done, total, label)`` after each range.

    Yields
    ------
    (ReadResult, CheckResult)
        Each range as read and its check; feature numbers are those of the file.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    prepared = (workspace_or_layers if isinstance(workspace_or_layers, PreparedLayers)
                else prepare_layers(workspace_or_layers, catalog, within))
    total = feature_count(path, layer)
    for start in range(0, total, chunk_size):
        read = read_layer(path, layer, encoding=encoding, crs=crs, rows=(start, chunk_size))
        result = check(read, prepared, project_type, **options)
        if progress is not None:
            progress(min(start + chunk_size, total), total, f"{Path(str(path)).name}")
        yield read, result
