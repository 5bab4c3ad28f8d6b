"""`spatial indicators`, `conflicts`, `diff`: CLI over spatial.analysis.indicators, spatial.analysis.conflicts, spatial.analysis.versions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from layers import DEMO_WORKSPACE
from spatial.analysis.conflicts import check_conflicts
from spatial.analysis.indicators import indicator_result
from spatial.analysis.versions import diff_versions
from spatial.cli.options import check_area_method, console, fail, open_workspace
from spatial.errors import InputError
from spatial.outputs.indicator_report import write_indicator_outputs
from spatial.outputs.review_report import write_conflict_outputs, write_diff_outputs

_WS_HELP = "工作空间目录 workspace folder (workspace.toml); default: the Changshan demo"
_BY_HELP = "分单位统计 also per unit of this layer, e.g. admin_county, admin_township (when the workspace has it)"
_AREA_HELP = "面积算法 area method: official (国土调查椭球面积) | geodesic"
_SLIVER_M2_HELP = ("碎片面积阈值 pieces smaller than this many m² are slivers, reported apart (default: the catalogue's "
                   "[thresholds] sliver_m2)")
_SLIVER_W_HELP = ("碎片宽度阈值 pieces thinner than this (mean width 2·area/perimeter, m) are slivers (default: the "
                  "catalogue's [thresholds] sliver_width_m)")


def _path_layer(value: str, layer: str | None) -> tuple[Path, str | None]:
    """PATH or PATH:LAYER (the colon form only when PATH itself does not exist)."""

    path = Path(value)
    if not path.exists() and ":" in value:
        head, tail = value.rsplit(":", 1)
        if Path(head).exists():
            return Path(head), layer or tail
    if not path.exists():
        fail(f"{value}: file not found; give a vector file (gpkg, shp, geojson …), optionally FILE.gpkg:LAYER")
    return path, layer


def _fmt(v: Any, digits: int = 2) -> str:
    import math

    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:,.{digits}f}"
    return str(v)


def _status_style(status: str) -> str:
    if status.startswith("达标") or status.startswith("一致") or status.startswith("面积未减少"):
        return f"[green]{status}[/]"
    if status.startswith("未达标") or status.startswith("冲突") or status.startswith("缝隙") \
            or status.startswith("越界") or status.startswith("面积减少"):
        return f"[bold red]{status}[/]"
    return f"[yellow]{status}[/]"


def _print_outputs(paths: dict[str, Path]) -> None:

    console.print("输出 outputs: " + ", ".join(str(p) for p in dict.fromkeys(paths.values())))


def print_indicators(result: Any, ws_name: str, method: str) -> None:
    """The indicator rows against their targets, and the mines still to restore."""


    table = Table(title=f"指标 Indicators — {ws_name} ({method})")
    for col in ("指标 indicator", "单位 unit", "值 value", "目标 target", "状态 status", "差额 margin",
                "规划报告值 reported"):
        table.add_column(col, justify="right" if col[0] in "值差规" else "left")
    for row in result.table.itertuples(index=False):
        target = f"{row.target_label}年 {row.target}" if row.target_label else row.target
        margin = f"{_fmt(row.margin)} {row.margin_unit}".strip()
        table.add_row(row.indicator.split(" ", 1)[0], row.unit,
                      f"{_fmt(row.value)} {row.value_unit}" if _fmt(row.value) else "",
                      target, _status_style(row.status), margin, _fmt(row.reported))
    console.print(table)
    if len(result.to_restore):
        console.print(f"待修复矿山 mines still to restore: {len(result.to_restore)} — "
                      + "、".join(result.to_restore["name"].astype(str)))


def print_conflicts(result: Any, ws_name: str, method: str) -> None:
    """Every 三区三线 check for the whole layers; per unit only the rows where something was found."""


    table = Table(title=f"三区三线一致性 Three zones, three lines — {ws_name} ({method})")
    for col in ("检查 check", "单位 unit", "面积 area ha", "图斑 pieces", "碎片 slivers", "状态 status"):
        table.add_column(col, justify="right" if col[0] in "面图碎" else "left")
    shown = 0
    for row in result.summary.itertuples(index=False):
        if row.unit_kind != "全部 all" and not (row.pieces or row.sliver_pieces):
            continue
        shown += 1
        table.add_row(row.check_label, row.unit, _fmt(row.area_ha, 4), str(row.pieces), str(row.sliver_pieces),
                      _status_style(row.status))
    console.print(table)
    if shown < len(result.summary):
        console.print(f"（{len(result.summary) - shown} 行无发现，见输出文件 rows with nothing found are in the files）")


def register(app: typer.Typer) -> None:
    """Add the indicator commands to the CLI."""

    @app.command("indicators")
    def indicators_cmd(
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        by: Annotated[Optional[str], typer.Option("--by", help=_BY_HELP)] = None,
        area: Annotated[str, typer.Option("--area", help=_AREA_HELP)] = "official",
        out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder")] = Path("out/indicators"),
        indicator: Annotated[Optional[list[str]], typer.Option(
            "--indicator", "-i", help="只算这些指标 only these indicator ids (repeatable), e.g. protected_share")] = None,
        min_coverage: Annotated[float, typer.Option(
            "--min-coverage", help="覆盖阈值 a unit less than this share inside the workspace territory gets "
                                   "无数据 no data")] = 0.99,
    ) -> None:
        """指标 Area-share indicators against the plans' targets (受保护地区, 红线, 生态空间, 森林, 矿山修复).

        Writes indicators.csv, indicators_breakdown.csv, indicators_mines_to_restore.csv, indicators.xlsx,
        indicators.md, indicators.html and indicators.gpkg (flattened protected parts, mines to restore).
        """

        method = check_area_method(area)
        ws = open_workspace(workspace or DEMO_WORKSPACE)
        try:
            result = indicator_result(ws, by, method, indicators=indicator, min_coverage=min_coverage)
        except ValueError as exc:
            fail(str(exc))
            return
        if ws.illustrative:
            console.print("[bold yellow]注意 Note:[/] 示意数据，非官方 illustrative layers, not official figures.")
        print_indicators(result, ws.name, method)
        for note in result.notes:
            console.print(f"[yellow]提示 note:[/] {note}")
        _print_outputs(write_indicator_outputs(result, out))

    @app.command("conflicts")
    def conflicts_cmd(
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        by: Annotated[Optional[str], typer.Option("--by", help=_BY_HELP)] = None,
        area: Annotated[str, typer.Option("--area", help=_AREA_HELP)] = "official",
        out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder")] = Path("out/conflicts"),
        sliver_m2: Annotated[Optional[float], typer.Option("--sliver-m2", help=_SLIVER_M2_HELP)] = None,
        sliver_width_m: Annotated[Optional[float], typer.Option("--sliver-width-m", help=_SLIVER_W_HELP)] = None,
    ) -> None:
        """三区三线一致性 Three lines overlapping each other, zone gaps and overlaps, red line outside ecological space.

        Writes conflicts.csv, conflicts.xlsx, conflicts.md, conflicts.html and conflicts.gpkg (pieces).
        """

        method = check_area_method(area)
        ws = open_workspace(workspace or DEMO_WORKSPACE)
        try:
            result = check_conflicts(ws, by, method, sliver_m2=sliver_m2, sliver_width_m=sliver_width_m)
        except ValueError as exc:
            fail(str(exc))
            return
        print_conflicts(result, ws.name, method)
        for note in result.notes:
            console.print(f"[yellow]提示 note:[/] {note}")
        _print_outputs(write_conflict_outputs(result, out))

    @app.command("diff")
    def diff_cmd(
        old: Annotated[str, typer.Argument(help="旧版 old version: FILE or FILE.gpkg:LAYER")],
        new: Annotated[Optional[str], typer.Argument(
            help="新版 new version: FILE or FILE.gpkg:LAYER; default: the workspace's layer of --kind")] = None,
        kind: Annotated[str, typer.Option("--kind", help="图层类型 layer kind of both versions")] = "ecological_redline",
        by: Annotated[Optional[str], typer.Option("--by", help=_BY_HELP)] = None,
        workspace: Annotated[Optional[Path], typer.Option(
            "--workspace", "-w", help="工作空间 workspace for --by units and the territory row (default: the demo "
                                      "when --by is given or NEW is omitted)")] = None,
        area: Annotated[str, typer.Option("--area", help=_AREA_HELP)] = "official",
        sliver_m2: Annotated[Optional[float], typer.Option("--sliver-m2", help=_SLIVER_M2_HELP)] = None,
        sliver_width_m: Annotated[Optional[float], typer.Option("--sliver-width-m", help=_SLIVER_W_HELP)] = None,
        old_layer: Annotated[Optional[str], typer.Option("--old-layer", help="旧版图层名 layer in OLD")] = None,
        new_layer: Annotated[Optional[str], typer.Option("--new-layer", help="新版图层名 layer in NEW")] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder")] = Path("out/diff"),
        strict: Annotated[bool, typer.Option(
            "--strict", help="面积减少时退出码1 exit with code 1 when the real area is reduced")] = False,
    ) -> None:
        """版本对比 Red-line (or any layer) change between two versions: added, removed, net, slivers apart,
        and the verdict on 面积不减少 area not reduced (000:936).

        Writes diff.csv, diff.xlsx, diff.md, diff.html and diff.gpkg (layers removed, added).
        """



        method = check_area_method(area)
        old_path, old_lyr = _path_layer(old, old_layer)
        new_path, new_lyr = _path_layer(new, new_layer) if new is not None else (None, None)
        ws = open_workspace(workspace or DEMO_WORKSPACE) if (workspace or by or new is None) else None
        try:
            result = diff_versions(old_path, new_path, old_layer=old_lyr, new_layer=new_lyr, kind=kind,
                                   workspace=ws, by=by, method=method, sliver_m2=sliver_m2,
                                   sliver_width_m=sliver_width_m)
        except (ValueError, KeyError, InputError) as exc:
            fail(str(exc))
            return
        s = result.settings
        table = Table(title=f"版本对比 Version change — {s['kind']} ({method})")
        for col in ("单位 unit", "旧 old km²", "新 new km²", "实际新增 added km²", "实际减少 removed km²",
                    "实际净变化 net km²", "碎片 slivers", "结论 verdict"):
            table.add_column(col, justify="left" if col[0] in "单结" else "right")
        for row in result.summary.itertuples(index=False):
            table.add_row(row.unit, _fmt(row.old_km2, 4), _fmt(row.new_km2, 4), _fmt(row.real_added_km2, 4),
                          _fmt(row.real_removed_km2, 4), _fmt(row.real_net_km2, 4),
                          f"{row.sliver_pieces} ({_fmt(row.sliver_added_m2 + row.sliver_removed_m2)} m²)",
                          _status_style(row.verdict))
        console.print(table)
        _print_outputs(write_diff_outputs(result, out))
        if strict and not result.area_not_reduced:
            raise typer.Exit(1)
