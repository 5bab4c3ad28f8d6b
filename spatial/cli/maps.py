"""`spatial map` and `spatial publish`: CLI over the maps package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from layers import DEMO_WORKSPACE
from maps.layers import DEFAULT_SIMPLIFY_M
from spatial.outputs.record import attach_record
from spatial.analysis.check import check
from spatial.analysis.indicators import indicator_result
from spatial.cli.options import console, err_console, fail, open_workspace
from spatial.errors import SpatialError

_WS_HELP = "工作空间目录 workspace folder (workspace.toml); default: the Changshan demo"
_BASEMAP_HELP = ("底图 basemap: osm | tianditu-vec | tianditu-img (needs env TIANDITU_KEY) | amap (layers shifted "
                 "to GCJ-02) | none; default osm, or none with --offline")
_OFFLINE_HELP = "离线自包含 self-contained HTML: Leaflet and plugins inlined, no network request (no basemap tiles)"
_SIMPLIFY_HELP = "简化容差 simplify geometry for display at this many metres (0: keep every vertex)"


def _kb(n: int | None) -> str:
    return f"{(n or 0) / 1024:,.0f} KB"


def register(app: typer.Typer) -> None:
    """Add the map commands to the CLI."""

    @app.command("map")
    def map_cmd(
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="输出文件 output HTML file")] = Path("out/map.html"),
        basemap: Annotated[Optional[str], typer.Option("--basemap", "-b", help=_BASEMAP_HELP)] = None,
        offline: Annotated[bool, typer.Option("--offline", help=_OFFLINE_HELP)] = False,
        simplify: Annotated[float, typer.Option("--simplify", help=_SIMPLIFY_HELP)] = DEFAULT_SIMPLIFY_M,
        pattern: Annotated[bool, typer.Option(
            "--pattern", help="生态安全格局图 map the ecological security pattern: the plan's sources, corridors "
                              "and nodes beside the pattern derived by `spatial pattern` (default settings)")] = False,
    ) -> None:
        """网络地图 A web map of every workspace layer (Folium/Leaflet), one toggleable layer each."""

        if simplify < 0:
            fail(f"--simplify must be 0 or a positive number of metres, not {simplify}")
        # folium and the pattern's scipy cost a second at start: imported by the commands that draw
        from maps.render import pattern_map, workspace_map
        from spatial.analysis.security_pattern import pattern as derive_pattern

        ws = open_workspace(workspace or DEMO_WORKSPACE)
        try:
            if pattern:
                result = pattern_map(ws, basemap=basemap, offline=offline, simplify_m=simplify,
                                     computed=derive_pattern(ws))
            else:
                result = workspace_map(ws, basemap=basemap, offline=offline, simplify_m=simplify)
            result.save(out)
        except SpatialError as exc:
            fail(str(exc))
            return
        console.print(f"地图 map: {out.resolve()}  ({_kb(result.size)}; 底图 basemap {result.basemap.label}; "
                      f"{'离线自包含 offline, self-contained' if offline else '在线底图 online basemap tiles; Leaflet inlined'}; "
                      f"简化 simplified at {simplify:g} m)")
        console.print("图层 layers: " + ", ".join(f"{lyr.label} ({lyr.count})" for lyr in result.layers))
        if result.basemap.crs == "gcj02":
            console.print("[yellow]注意 Note:[/] 高德底图为 GCJ-02，图层已转换为 GCJ-02 显示 (AMap tiles are GCJ-02; "
                          "the layers were shifted to GCJ-02 to match; the data themselves are unchanged).")

    @app.command("publish")
    def publish_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder for the site")],
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        basemap: Annotated[Optional[str], typer.Option("--basemap", "-b", help=_BASEMAP_HELP)] = None,
        offline: Annotated[bool, typer.Option("--offline", help=_OFFLINE_HELP)] = False,
        simplify: Annotated[float, typer.Option("--simplify", help=_SIMPLIFY_HELP)] = DEFAULT_SIMPLIFY_M,
    ) -> None:
        """发布静态网站 A static site (index, maps, check report, indicator tables) that opens from disk."""

        if simplify < 0:
            fail(f"--simplify must be 0 or a positive number of metres, not {simplify}")
        from maps.publish import publish
        from spatial.analysis.security_pattern import pattern as derive_pattern

        ws = open_workspace(workspace or DEMO_WORKSPACE)
        try:
            checked = check(ws.projects.gdf, ws) if ws.projects is not None else None
            if checked is not None:
                attach_record(checked, ws.projects, ws.layers)
            result = publish(ws, out, basemap=basemap, offline=offline, simplify_m=simplify,
                             check_result=checked, indicators=indicator_result(ws), pattern=derive_pattern(ws),
                             progress=lambda msg: err_console.print(f"[dim]… {msg}[/]"))
        except SpatialError as exc:
            fail(str(exc))
            return
        console.print(f"网站 site: {result.index.resolve()}")
        for page in result.pages:
            console.print(f"  {page.title}: {page.path.relative_to(result.out)} ({_kb(page.size)})")
        for note in result.notes:
            console.print(f"[yellow]提示 note:[/] {note}")
