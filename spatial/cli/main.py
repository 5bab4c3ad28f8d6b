"""Command-line interface: a thin layer over the Python API."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from layers import DEMO_WORKSPACE
from spatial.analysis.check import check
from spatial.sources.postgis import is_postgis_url
from spatial.analysis.conflicts import check_conflicts
from spatial.analysis.indicators import indicator_result
from spatial.analysis.balance import workspace_balance
from spatial.analysis.ledger import ledger, workspace_versions
from spatial.cli.compliance import print_balance, print_ledger, register as _register_compliance
from spatial.cli.pattern import print_pattern, register as _register_pattern
from spatial.cli.check import print_check_summary
from spatial.cli.check import register as _register_check
from spatial.cli.indicators import print_conflicts, print_indicators
from spatial.cli.indicators import register as _register_indicators
from spatial.cli.maps import register as _register_maps
from spatial.cli.options import (
    AreaOpt,
    WorkspaceOpt,
    check_area_method,
    console,
    err_console,
    fail,
    open_workspace,
)
from spatial.errors import InputError, SpatialError
from spatial.geo.area import AreaMethod, area_m2, union_area_m2
from spatial.geo.units import convert_area
from spatial.outputs.audit import AUDIT_FILE, add_sources, finish_audit, start_audit, write_audit
from spatial.outputs.record import attach_record
from spatial.outputs.review_report import write_conflict_outputs
from spatial.sources.files import read_layer
from spatial.sources.names import feature_names
from spatial.sources.workspace import Workspace

app = typer.Typer(
    help="生态空间规划工具包 Ecological spatial-planning toolkit",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
def layers_table(ws: Workspace, method: AreaMethod) -> Table:
    table = Table(title=f"图层 Layers — {ws.name}")
    for col in ("图层 kind", "名称 name", "要素数 features", "坐标系 CRS", "来源 file", "合并面积 union area km²"):
        table.add_column(col, justify="right" if "数" in col or "km" in col else "left")
    for kind_id, layer in ws.layers.items():
        polygonal = layer.gdf.geom_type.isin(["Polygon", "MultiPolygon"]).any()
        area = f"{convert_area(union_area_m2(layer.gdf, method), 'km2'):,.3f}" if polygonal else "—"
        table.add_row(kind_id, layer.kind.label, str(len(layer.gdf)), layer.source_crs,
                      f"{layer.read.name}:{layer.read.layer or ''}", area)
    return table


@app.command("layers")
def layers_cmd(workspace: WorkspaceOpt = DEMO_WORKSPACE, area: AreaOpt = "official") -> None:
    """列出工作空间图层 List the layers a workspace loads, with counts, CRS and union area."""
    method = check_area_method(area)
    ws = open_workspace(workspace)
    console.print(layers_table(ws, method))
    findings = ws.findings()
    if findings:
        console.print(f"[yellow]{len(findings)} 条读取提示 reading notes[/] (repairs, set-aside features, warnings):")
        for kind_id, item in findings:
            console.print(f"  [{kind_id}] {getattr(item, 'message', item)}")


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return obj


def inspect_file(path: Path | str, layer: str | None, encoding: str | None, crs: str | None,
                 method: AreaMethod) -> dict[str, Any]:
    """What a file holds, as plain data (the JSON of `spatial inspect --json`)."""
    result = read_layer(path, layer, encoding=encoding, crs=crs)
    gdf = result.gdf
    areas = area_m2(gdf, method)
    names = feature_names(gdf)
    return {
        "file": str(result.path) if isinstance(result.path, str) else str(path),   # a URL: password masked
        "layer": result.layer,
        "driver": result.driver,
        "crs": gdf.crs.to_string() if gdf.crs is not None else None,
        "crs_name": gdf.crs.name if gdf.crs is not None else None,
        "crs_source": result.crs_source,
        "encoding": result.encoding,
        "feature_count": int(len(gdf)),
        "geometry_types": sorted(set(gdf.geom_type.dropna())),
        "area_method": method,
        "total_area_m2": float(union_area_m2(gdf, method)),
        "sum_area_m2": float(areas.sum()),
        "features": [{"name": str(n), "area_m2": float(a), "area_ha": convert_area(float(a), "ha"),
                      "area_mu": convert_area(float(a), "mu")} for n, a in zip(names, areas)],
        "repairs": _plain(result.repairs),
        "set_aside": _plain(result.set_aside),
        "warnings": _plain(result.warnings),
    }


@app.command("inspect")
def inspect_cmd(
    file: Annotated[str, typer.Argument(help="矢量文件 any vector file: shp, gpkg, geojson, kml, fgb, 界址点 txt; "
                                             "or PostGIS postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE")],
    layer: Annotated[Optional[str], typer.Option(help="图层名 layer inside a GeoPackage")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="强制编码 force the attribute encoding, e.g. gbk")] = None,
    crs: Annotated[Optional[str], typer.Option(help="指定坐标系 CRS when the file has none, e.g. EPSG:4490")] = None,
    area: AreaOpt = "official",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON output one JSON object")] = False,
) -> None:
    """查看文件内容 What a file holds: features, geometry types, CRS, encoding, areas, repairs."""
    method = check_area_method(area)
    try:
        info = inspect_file(file if is_postgis_url(file) else Path(file), layer, encoding, crs, method)
    except InputError as exc:
        fail(str(exc))
        return
    if as_json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"[bold]{info['file']}[/] {info['layer'] or ''} ({info['driver']})")
    console.print(f"坐标系 CRS: {info['crs']} {info['crs_name']} — {info['crs_source']}")
    console.print(f"编码 encoding: {info['encoding']}   要素 features: {info['feature_count']}   "
                  f"几何 geometry: {', '.join(info['geometry_types'])}")
    total = info["total_area_m2"]
    console.print(f"合并面积 union area ({method}): {total:,.2f} m² = {convert_area(total, 'ha'):,.4f} 公顷 ha = "
                  f"{convert_area(total, 'mu'):,.2f} 亩 mu = {convert_area(total, 'km2'):,.6f} km²")
    table = Table()
    for col in ("#", "名称 name", "面积 m²", "公顷 ha", "亩 mu"):
        table.add_column(col, justify="left" if "name" in col else "right")
    for i, feat in enumerate(info["features"], 1):
        table.add_row(str(i), feat["name"], f"{feat['area_m2']:,.2f}", f"{feat['area_ha']:,.4f}", f"{feat['area_mu']:,.2f}")
    console.print(table)
    for label, items in (("修复 repaired", info["repairs"]), ("剔除 set aside", info["set_aside"]),
                         ("提示 warnings", info["warnings"])):
        for item in items:
            console.print(f"[yellow]{label}:[/] {item.get('message', item) if isinstance(item, dict) else item}")


def county_table(ws: Workspace, method: AreaMethod) -> Table | None:
    layer = ws.layer("admin_county")
    if layer is None:
        return None
    gdf = layer.gdf
    areas = area_m2(gdf, method)
    table = Table(title="县级行政区面积 County areas")
    for col in ("代码 code", "名称 name", "面积 km²", "公顷 ha", "亩 mu"):
        table.add_column(col, justify="right" if col[0] in "面公亩" else "left")
    names = feature_names(gdf, layer.name_field)
    codes = gdf["code"] if "code" in gdf.columns else [""] * len(gdf)
    for code, name, a in zip(codes, names, areas):
        table.add_row(str(code), str(name), f"{convert_area(a, 'km2'):,.2f}", f"{convert_area(a, 'ha'):,.1f}",
                      f"{convert_area(a, 'mu'):,.0f}")
    return table


@app.command("demo")
def demo_cmd(
    workspace: WorkspaceOpt = DEMO_WORKSPACE,
    out: Annotated[Path, typer.Option("--out", "-o", help="输出目录 output folder")] = Path("out/demo"),
    area: AreaOpt = "official",
    online: Annotated[bool, typer.Option(
        "--online", help="在线底图 maps with the OpenStreetMap basemap (default: offline, self-contained, no basemap)")] = False,
) -> None:
    """示范运行 The main job: layers, project check, indicators, 三区三线 consistency and the published maps."""

    params = dict(locals())  # every parameter of this run, for the check's audit.json
    audit, started = start_audit("spatial demo", params), time.time()
    method = check_area_method(area)
    ws = open_workspace(workspace)
    if ws.illustrative:
        console.print("[bold yellow]注意 Note:[/] 本工作空间含示意数据（illustrative = 1），非官方数据。"
                      " This workspace holds illustrative layers; see layers/changshan/README.md.")
    console.print(layers_table(ws, method))
    table = county_table(ws, method)
    if table is not None:
        console.print(table)

    result = None
    if ws.projects is not None:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console, transient=True) as bar:
            task = bar.add_task("检查 checking")
            result = check(ws.projects.gdf, ws, area_method=method,
                           progress=lambda done, total, label: bar.update(
                               task, description=f"检查 checking {label} {done}/{total}"))
        attach_record(result, ws.projects, ws.layers)
        result.audit = add_sources(audit, catalog=ws.catalog, workspace=ws, projects=ws.projects, layers=ws.layers,
                                   checked=result.layers["layer"])
        print_check_summary(result)
    indicators = indicator_result(ws, None, method)
    print_indicators(indicators, ws.name, method)
    conflicts = check_conflicts(ws, None, method)
    print_conflicts(conflicts, ws.name, method)

    balanced = workspace_balance(ws, method)
    if balanced is not None:
        print_balance(balanced)
    by_zone = "strategic_zone" if "strategic_zone" in ws.layers else None   # the demo has no township layer
    ledgered = ledger(ws, workspace=ws, by=by_zone, method=method) if workspace_versions(ws) else None
    if ledgered is not None:
        print_ledger(ledgered)
    # the pattern (scipy, networkx) and the maps (folium) cost a second at start: imported when used
    from maps.publish import publish
    from spatial.analysis.security_pattern import pattern

    derived = pattern(ws)
    print_pattern(derived)
    site = publish(ws, out, offline=not online, check_result=result, indicators=indicators, pattern=derived,
                   balance=balanced, ledger=ledgered,
                   progress=lambda msg: err_console.print(f"[dim]… {msg}[/]"))
    conflict_files = write_conflict_outputs(conflicts, out / "conflicts")
    if result is not None:
        _write_demo_audit(audit, result, out / "check", started)
    console.print(f"网站 site (open in a browser): {site.index.resolve()}")
    for page in site.pages:
        size = f"{page.size / 1024:,.0f} KB" if page.size else ""
        console.print(f"  {page.title}: {page.path.relative_to(site.out)} {size}")
    console.print(f"  三区三线一致性 conflicts: {', '.join(sorted({p.name for p in conflict_files.values()}))}")
    for note in site.notes:
        console.print(f"[yellow]提示 note:[/] {note}")


def _write_demo_audit(audit: dict[str, Any], result: Any, check_dir: Path, started: float) -> None:
    """audit.json of the demo's check: the check's outputs are the files publish wrote into check/ in this run."""
    outputs = sorted(p for p in check_dir.iterdir()
                     if p.is_file() and p.name != AUDIT_FILE and p.stat().st_mtime >= started - 1)
    write_audit(finish_audit(audit, result, outputs), check_dir)


# The analysis and map commands live beside their modules; they register themselves here.

for _register in (_register_check, _register_indicators, _register_maps, _register_compliance, _register_pattern):
    _register(app)


def main() -> None:
    """The console entry point: a :class:`~spatial.errors.SpatialError` that no command caught ends the run
    with its message and exit code 2, never a traceback."""
    try:
        app()
    except SpatialError as exc:
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
