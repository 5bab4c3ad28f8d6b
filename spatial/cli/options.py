"""What every command shares: the consoles, the workspace and area options, and how a run ends on bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

from spatial.errors import SpatialError
from spatial.geo.area import AreaMethod
from spatial.sources.workspace import Workspace, load_workspace

__all__ = ["console", "err_console", "WorkspaceOpt", "AreaOpt", "fail", "check_area_method", "open_workspace"]

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="工作空间目录 workspace folder (workspace.toml)")]
AreaOpt = Annotated[str, typer.Option("--area", help="面积算法 area method: official (国土调查椭球面积) | geodesic")]


def fail(message: str) -> None:
    err_console.print(f"[bold red]错误 Error:[/] {message}")
    raise typer.Exit(2)


def check_area_method(method: str) -> AreaMethod:
    if method not in ("official", "geodesic"):
        fail(f"--area must be 'official' or 'geodesic', not {method!r}")
    return method  # type: ignore[return-value]


def open_workspace(path: Path, overrides: dict[str, str] | None = None) -> Workspace:
    """Load a workspace with a progress line per layer; input problems end the run with their message."""
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True) as bar:
            task = bar.add_task("读取图层 reading layers")
            return load_workspace(path, overrides=overrides,
                                  progress=lambda label: bar.update(task, description=f"读取 reading {label}"))
    except (SpatialError, KeyError) as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


