"""`spatial pattern`: CLI over spatial.analysis.security_pattern (the derived ecological security pattern)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from layers import DEMO_WORKSPACE
from spatial.cli.options import console, err_console, fail, open_workspace
from spatial.errors import SpatialError

if TYPE_CHECKING:
    from spatial.analysis.pattern import PatternResult

_WS_HELP = "工作空间目录 workspace folder (workspace.toml); default: the Changshan demo"


def print_pattern(result: PatternResult) -> None:
    """Sources, corridors and pinch points of a derived pattern, as bilingual tables."""
    src = Table(title=f"生态源地 Sources (computed) — {len(result.sources)}")
    for col in ("#", "面积 km²", "dPC", "依据 reason"):
        src.add_column(col, justify="right" if col in ("#", "面积 km²", "dPC") else "left")
    for r in result.sources.itertuples(index=False):
        src.add_row(str(r.id), f"{r.area_km2:,.2f}", f"{r.dPC:,.1f}", str(r.reason))
    console.print(src)
    cor = Table(title=f"生态廊道 Corridors (least-cost) — {len(result.corridors)}")
    for col in ("#", "源地 from–to", "累积阻力 cost", "长度 length km", "阻力/米 cost per m", "有效电阻 R_eff"):
        cor.add_column(col, justify="right")
    for r in result.corridors.itertuples(index=False):
        cor.add_row(str(r.corridor_id), f"{r.from_id}–{r.to_id}", f"{r.cost:,.0f}", f"{r.length_m / 1000:,.2f}",
                    f"{r.cost_per_m:,.2f}", f"{r.effective_resistance:,.3g}")
    console.print(cor)
    console.print(f"夹点 pinch points: {len(result.pinch_points)}   节点 nodes: {len(result.nodes)}   "
                  f"网格 grid: {result.grid.shape[1]} × {result.grid.shape[0]} cells of {result.grid.cell_m:g} m "
                  f"({result.grid.crs.to_string()})")


def register(app: typer.Typer) -> None:
    """Add `spatial pattern` to the CLI."""

    @app.command("pattern")
    def pattern_cmd(
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        cell: Annotated[Optional[float], typer.Option("--cell", help="网格大小 grid cell in metres (default: the "
                                                      "catalogue's [pattern] cell_m, 100 m for a county)")] = None,
        cutoff: Annotated[Optional[float], typer.Option("--cutoff", help="廊道宽度 corridor width as cost-weighted "
                                                        "distance (resistance × m) above the least cost")] = None,
        resistance: Annotated[Optional[Path], typer.Option("--resistance", help="阻力面 a resistance GeoTIFF "
                                                           "instead of the catalogue's table")] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder")] = Path("out/pattern"),
    ) -> None:
        """生态安全格局 Derive the ecological security pattern: sources, resistance, corridors, pinch points, nodes."""
        if cell is not None and cell <= 0:
            fail(f"--cell must be a positive number of metres, not {cell}")
        # the pattern's scipy, networkx and rasterio are imported here, not at every command's start
        from spatial.analysis.pattern import STEPS
        from spatial.analysis.security_pattern import pattern
        from spatial.outputs.pattern_report import write_pattern_outputs

        ws = open_workspace(workspace or DEMO_WORKSPACE)
        try:
            result = pattern(ws, cell_m=cell, cutoff=cutoff, resistance=resistance,
                             progress=lambda step, done, total: err_console.print(
                                 f"[dim]… {step} ({done}/{total})[/]"))
        except SpatialError as exc:
            fail(str(exc))
            return
        print_pattern(result)
        files = write_pattern_outputs(result, out)
        console.print(f"输出 outputs ({out}): " + ", ".join(p.name for p in files))
        console.print("耗时 time per step: " + ", ".join(f"{k} {result.timings.get(k, 0):.1f} s" for k in STEPS))
