"""Outputs of the ecological security pattern: ``pattern.gpkg`` (sources, corridors, corridor_zones,
pinch_points, nodes; EPSG:4490), the rasters ``resistance.tif``, ``cost_distance.tif`` and ``current.tif``
(float32, Gauss–Krüger, nodata for impassable cells) and ``summary.csv`` / ``corridors.csv``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spatial.analysis.pattern.grid import write_raster
from spatial.analysis.pattern.result import LAYERS, NODATA, PatternResult
from spatial.outputs.tables import write_csv

__all__ = ["write_pattern_outputs"]


def write_pattern_outputs(result: PatternResult, out_dir: str | Path) -> list[Path]:
    """Write the GeoPackage, the three rasters and the tables into ``out_dir``.

    Parameters
    ----------
    result : PatternResult
    out_dir : str or Path

    Returns
    -------
    list of Path
        Files written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "pattern.gpkg"
    if gpkg.exists():
        gpkg.unlink()  # layers are replaced together, never mixed with an older run
    for name in LAYERS:
        getattr(result, name).to_file(gpkg, layer=name, driver="GPKG")
    passable = np.isfinite(result.resistance)
    return [
        gpkg,
        write_raster(out / "resistance.tif", result.resistance, result.grid, NODATA),
        write_raster(out / "cost_distance.tif", result.cwd, result.grid, NODATA),
        write_raster(out / "current.tif", np.where(passable, result.current, np.nan), result.grid, NODATA),
        write_csv(result.summary, out / "summary.csv"),
        write_csv(pd.DataFrame(result.corridors.drop(columns=result.corridors.geometry.name)), out / "corridors.csv"),
    ]
