"""`spatial check`: CLI over spatial.analysis.check."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from layers import DEMO_WORKSPACE
from spatial.analysis.check import DEFAULT_NEAR_M, DEFAULT_POINT_RADIUS_M, check
from spatial.analysis.streaming import check_in_chunks
from spatial.cli.options import check_area_method, console, err_console, fail, open_workspace
from spatial.engine import ENGINES, get_engine
from spatial.errors import InputError
from spatial.geo.crs import to_workspace_crs
from spatial.outputs.audit import AUDIT_FILE, add_sources, finish_audit, start_audit, write_audit
from spatial.outputs.check_report import write_check_outputs
from spatial.outputs.check_stream import StreamedCheckWriter
from spatial.outputs.postgis import write_check_postgis
from spatial.outputs.record import (KIND_LABELS, NOT_CHECKED_LABEL, PROJECT_SCOPE, attach_record, kind_counts,
                                    set_aside_count)
from spatial.rules.catalog import load_catalog
from spatial.sources.files import read_layer
from spatial.sources.postgis import is_postgis_url, parse_url
from spatial.sources.workspace import Layer, territory_findings


def _parse_layer_opts(values: list[str], catalog) -> list[tuple[str, Path | str, str | None]]:
    """KIND=PATH, KIND=PATH:LAYER or KIND=postgresql://…?table=SCHEMA.TABLE (KIND a catalogue id or an alias
    such as STBHHX)."""

    out = []
    for raw in values:
        if "=" not in raw:
            fail(f"--layer {raw!r}: write KIND=PATH, e.g. --layer ecological_redline=STBHHX.shp "
                 f"(kinds: {', '.join(k for k, v in catalog.kinds.items() if v.is_constraint)})")
        key, value = raw.split("=", 1)
        key = key.strip()
        kind = catalog.kinds.get(key) or catalog.kind_for_name(key)
        if kind is None:
            fail(f"--layer {raw!r}: {key!r} is not a layer kind of the catalogue {catalog.path}; "
                 f"use one of {', '.join(catalog.kinds)}")
        if is_postgis_url(value):
            out.append((kind.id, value.strip(), None))
            continue
        path, layer = Path(value), None
        if not path.exists() and ":" in value:
            head, tail = value.rsplit(":", 1)
            if Path(head).exists():
                path, layer = Path(head), tail
        if not path.exists():
            fail(f"--layer {raw!r}: file {value} not found; check the path")
        out.append((kind.id, path, layer))
    return out


def _parse_within(values: list[str]) -> dict[str, float]:
    """KIND=METRES pairs of --within."""
    out: dict[str, float] = {}
    for raw in values:
        key, sep, value = raw.partition("=")
        try:
            metres = float(value)
        except ValueError:
            metres = float("nan")
        if not sep or not key.strip() or not metres >= 0:
            fail(f"--within {raw!r}: write KIND=METRES with a distance of 0 or more, e.g. --within sensitive_receptor=500")
        out[key.strip()] = metres
    return out


MAP_LIMIT = 5_000  # a web map of more projects is too heavy for a browser; QGIS opens overlaps.gpkg instead

VERDICT_COLOUR = {"prohibited": "bold red", "needs_approval": "dark_orange", "allowed": "green", "no_conflict": "dim"}


def print_check_summary(result, limit: int = 50) -> None:
    """The check's projects, worst verdict first, and the verdict counts."""


    s = result.summary
    total = int(result.verdict_counts.sum())
    table = Table(title=f"项目检查 Project check — {total:,d} 个项目 projects, "
                        f"{len(result.layers)} 个管控图层 constraint layers")
    for col in ("#", "项目 project", "类型 type", "结论 verdict", "面积 ha / 长度 km", "冲突 conflicts"):
        table.add_column(col, justify="right" if col[0] in "#面" else "left")
    colour = VERDICT_COLOUR
    shown = s.assign(_r=s["verdict"].map(result.verdicts.rank)).sort_values(["_r", "project_no"], ascending=[False, True])
    for row in shown.head(limit).itertuples(index=False):
        table.add_row(str(row.project_no), str(row.project), str(row.project_type),
                      f"[{colour[row.verdict]}]{row.verdict_label}[/]",
                      f"{row.area_ha:,.2f} ha" if row.area_ha == row.area_ha else f"{row.length_m / 1000:,.2f} km",
                      str(row.conflicts))
    console.print(table)
    if total > limit:
        console.print(f"… {total - min(limit, len(s)):,d} more in summary.csv")
    counts = result.verdict_counts
    line = "  ".join(f"[{colour[v]}]{result.verdicts.label(v)}[/]: {int(counts.get(v, 0)):,d}"
                     for v in result.verdicts.ascending)
    not_checked = set_aside_count(result).get(PROJECT_SCOPE, 0)
    if not_checked:  # projects set aside when reading have no verdict; they must not vanish from the count
        line += f"  [bold red]{NOT_CHECKED_LABEL}[/]: {not_checked:,d}"
    console.print(line)


def _finish(result, where: str, strict: bool) -> None:
    """What every check run ends with on the terminal: the summary, the notes, where the outputs are, and the
    reading record (with ``strict``, exit 1 when anything was set aside)."""
    print_check_summary(result)
    for note in result.notes:
        console.print(f"[yellow]提示 note:[/] {note}")
    if result.settings.get("illustrative"):
        console.print("[bold yellow]注意 Note:[/] 示意数据，非官方 — illustrative layers, not official data.")
    console.print(f"输出 outputs in {where}")
    _end_on_record(result, strict)


def _end_on_record(result, strict: bool) -> None:
    """Tell what reading repaired and set aside; with ``strict``, exit 1 when anything was set aside."""
    counts = kind_counts(result)
    if counts["set_aside"] or counts["repaired"]:
        console.print("[yellow]读取记录 reading record:[/] " + "；".join(
            f"{KIND_LABELS[k]} {n:,d}" for k, n in counts.items() if n) + " (record.csv, report.html)")
    aside = set_aside_count(result)
    if strict and aside:
        where = ", ".join(f"{scope} {n:,d}" for scope, n in aside.items())
        err_console.print(f"[bold red]--strict:[/] {sum(aside.values()):,d} feature(s) set aside when reading ({where}) "
                          "were not checked; fix them (see record.csv) or run without --strict")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the check command to the CLI."""

    @app.command("check")
    def check_cmd(
        projects: Annotated[Optional[str], typer.Argument(
            help="项目文件 projects file (shp, gpkg, geojson, kml, 界址点 txt …) or PostGIS "
                 "postgresql://USER@HOST:PORT/DB?table=SCHEMA.TABLE; default: the workspace's [projects]")] = None,
        workspace: Annotated[Optional[Path], typer.Option(
            "--workspace", "-w", help="工作空间目录 workspace folder (default: the Changshan demo, "
                                      "or none when only --layer is given)")] = None,
        layer: Annotated[Optional[list[str]], typer.Option(
            "--layer", "-l", help="管控图层 constraint layer KIND=PATH[:LAYER] or KIND=postgresql://…?table=S.T, adds "
                                  "or replaces a workspace layer; repeatable, e.g. "
                                  "--layer ecological_redline=STBHHX.shp")] = None,
        project_type: Annotated[Optional[str], typer.Option(
            "--type", "-t", help="项目类型 project type for every project (overrides the project_type column), "
                                 "e.g. energy, industrial, linear_infrastructure")] = None,
        near: Annotated[float, typer.Option(
            "--near", help="邻近搜索半径 report the nearest feature within this many metres when there is no "
                           "overlap (0: off)")] = DEFAULT_NEAR_M,
        within: Annotated[Optional[list[str]], typer.Option(
            "--within", help="距离规则 distance of a kind's distance rules, KIND=METRES (repeatable), e.g. "
                             "--within sensitive_receptor=500; the plans give no distances")] = None,
        width: Annotated[Optional[float], typer.Option(
            "--width", help="线状项目宽度 corridor width of line projects in metres (area besides length)")] = None,
        radius: Annotated[float, typer.Option(
            "--radius", help="点状项目半径 radius of point projects in metres")] = DEFAULT_POINT_RADIUS_M,
        area: Annotated[str, typer.Option(
            "--area", help="面积算法 area method: official (国土调查椭球面积) | geodesic")] = "official",
        out: Annotated[str, typer.Option("--out", "-o", help="输出目录 output folder, or PostGIS "
                                                             "postgresql://USER@HOST:PORT/DB?schema=NAME (tables "
                                                             "summary, overlaps, pieces)")] = "out/check",
        projects_layer: Annotated[Optional[str], typer.Option(
            "--projects-layer", help="项目图层名 layer inside the projects file (GeoPackage)")] = None,
        encoding: Annotated[Optional[str], typer.Option(
            "--encoding", help="项目文件编码 attribute encoding of the projects file, e.g. gbk")] = None,
        crs: Annotated[Optional[str], typer.Option(
            "--crs", help="项目坐标系 CRS of a projects file that has none, e.g. EPSG:4490 or EPSG:4527")] = None,
        no_xlsx: Annotated[bool, typer.Option("--no-xlsx", help="不写 Excel skip check.xlsx (large batches)")] = False,
        with_map: Annotated[bool, typer.Option(
            "--map/--no-map", help=f"报告附图 write check_map.html and embed it in report.html "
                                   f"(up to {MAP_LIMIT:,d} projects)")] = True,
        offline: Annotated[bool, typer.Option(
            "--offline", help="离线地图 self-contained check map, no basemap and no network request")] = False,
        strict: Annotated[bool, typer.Option(
            "--strict", help="严格 exit 1 when any project or constraint-layer feature was set aside when reading "
                             "(outputs are still written)")] = False,
        log: Annotated[Optional[Path], typer.Option(
            "--log", help="运行日志 append this run's audit record as one JSON line to FILE")] = None,
        chunk: Annotated[Optional[int], typer.Option(
            "--chunk", help="分块流式 stream the projects file in ranges of this many features: memory stays flat "
                            "(province-scale files; the report lists the most serious projects, the tables all)")] = None,
        engine: Annotated[str, typer.Option(
            "--engine", help="计算引擎 how the overlay runs: local (threads here) | dask (a Dask cluster: a local one, "
                             "or --scheduler)")] = "local",
        scheduler: Annotated[Optional[str], typer.Option(
            "--scheduler", help="Dask 调度器 address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                "(--engine dask; default: a cluster on this machine)")] = None,
        workers: Annotated[Optional[int], typer.Option(
            "--workers", help="线程/进程数 threads (local) or local Dask workers (dask); default: the CPU count")] = None,
    ) -> None:
        """项目冲突检查 Check projects against the red line and every constraint layer of the workspace.

        Writes summary.csv, overlaps.csv, record.csv, check.xlsx, overlaps.gpkg, report.html and audit.json
        (tool version, inputs and outputs with their sha256, parameters, times, counts) to --out, or the tables
        summary, overlaps and pieces into a PostGIS schema when --out is postgresql://…?schema=NAME.
        Exit code 0 whenever the check ran, whatever the verdicts; with --strict 1 when anything was set aside.
        """


        params = dict(locals())  # every parameter of this run, for audit.json
        audit = start_audit("spatial check", params)
        method = check_area_method(area)
        for label, value in (("--near", near), ("--radius", radius)):
            if value is not None and value < 0:
                fail(f"{label} must not be negative, not {value}")
        if width is not None and width <= 0:
            fail(f"--width must be a positive number of metres, not {width}")

        base_catalog = load_catalog()
        if project_type is not None and base_catalog.project_type_id(project_type) is None:
            fail(f"--type {project_type!r} is not a project type of the catalogue; use one of: "
                 + base_catalog.project_type_choices())
        extra = _parse_layer_opts(layer or [], base_catalog)
        if engine not in ENGINES:
            fail(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
        if scheduler and engine != "dask":
            fail("--scheduler is the address of a Dask scheduler: use it with --engine dask")
        out_src = _postgis_out(out)
        if chunk is not None:
            if chunk < 1 or out_src is not None:
                fail("--chunk takes a positive number of features, and writes to a folder (not PostGIS)")
            _stream(projects, workspace, extra, base_catalog, chunk, audit, Path(out), strict, log,
                    dict(project_type=project_type, near_m=near, line_width_m=width, point_radius_m=radius,
                         area_method=method, within=_parse_within(within or []), workers=workers),
                    dict(layer=projects_layer, encoding=encoding, crs=crs), (engine, scheduler), not no_xlsx)
            return
        read, ws, layers, catalog = _load_inputs(projects, workspace, extra, base_catalog, projects_layer=projects_layer,
                                                 encoding=encoding, crs=crs)
        try:
            with get_engine(engine, workers, scheduler=scheduler) as run_on:
                result = _run_check(read, ws if ws is not None else layers, project_type, catalog, near_m=near,
                                    line_width_m=width, point_radius_m=radius, area_method=method,
                                    within=_parse_within(within or []), workers=workers, engine=run_on)
        except InputError as exc:
            fail(f"{read.name}: {exc}")
            return
        attach_record(result, read, layers)
        add_sources(audit, catalog=catalog, workspace=ws, projects=read, layers=layers, checked=result.layers["layer"])
        result.audit = audit
        if out_src is not None:
            _write_to_postgis(result, out, out_src, strict)
            return
        out = Path(out)
        map_html = None
        if with_map and len(result.summary) <= MAP_LIMIT:
            from maps.render import write_check_map  # folium: 0.5 s, paid only when a map is drawn

            _, map_html = write_check_map(result, out, ws, offline=offline)
        elif with_map:
            err_console.print(f"[yellow]提示 note:[/] {len(result.summary):,d} projects: no map drawn (more than "
                              f"{MAP_LIMIT:,d}); the results are in overlaps.gpkg for QGIS")
        files = write_check_outputs(result, out, xlsx=not no_xlsx, map_html=map_html)
        if map_html:
            files["check_map.html"] = out / "check_map.html"
        write_audit(finish_audit(audit, result, files.values()), out, log)

        _finish(result, f"{out.resolve()}: {', '.join([*files, AUDIT_FILE])}", strict)


def _postgis_out(out: str) -> Any:
    """The parsed PostGIS destination of ``--out postgresql://…?schema=NAME``, or None for a folder."""
    if not is_postgis_url(out):
        return None
    try:
        src = parse_url(out)
    except InputError as exc:
        fail(str(exc))
    if not src.schema:
        fail(f"--out {src.shown}: add ?schema=NAME, the schema the tables summary, overlaps and pieces go into")
    return src


def _write_to_postgis(result: Any, out: str, out_src: Any, strict: bool) -> None:
    try:
        tables = write_check_postgis(result, out)
    except InputError as exc:
        fail(str(exc))
    _finish(result, f"{out_src.shown}: tables {', '.join(tables)}", strict)


def _stream(projects: str | None, workspace: Path | None, extra: list, base_catalog: Any, chunk: int, audit: dict,
            out: Path, strict: bool, log: Path | None, options: dict, read_kw: dict, engine: tuple, xlsx: bool) -> None:
    """`spatial check --chunk N`: the projects read and checked range by range, every output appended."""
    ws, layers, catalog = _load_layers(workspace, extra, base_catalog)
    path = projects or (str(ws.projects.path) if ws is not None and ws.projects is not None else None)
    if path is None or is_postgis_url(path) or Path(path).suffix.lower() in (".txt", ".xlsx", ".xls", ".csv"):
        fail("--chunk streams a GIS file of projects (GeoPackage, Shapefile, FlatGeobuf …); pass PROJECTS")
    writer = StreamedCheckWriter(out, xlsx=xlsx)
    project_type, within = options.pop("project_type"), options.pop("within")
    try:
        with get_engine(engine[0], options["workers"], scheduler=engine[1]) as run_on:
            for read, result in check_in_chunks(path, ws if ws is not None else layers, project_type, chunk_size=chunk,
                                                catalog=catalog, within=within, engine=run_on,
                                                progress=ProgressLines(_log_line), **read_kw, **options):
                attach_record(result, read, layers if writer.first is None else {})
                if writer.first is None:
                    result.audit = add_sources(audit, catalog=catalog, workspace=ws, projects=read, layers=layers,
                                               checked=result.layers["layer"])
                writer.add(result)
    except InputError as exc:
        fail(str(exc))
    digest, files = writer.close()
    write_audit(finish_audit(audit, digest, files.values()), out, log)
    _finish(digest, f"{out.resolve()}: {', '.join([*files, AUDIT_FILE])}", strict)


def _load_layers(workspace: Path | None, extra: list[tuple[str, Path, str | None]],
                 base_catalog: Any) -> tuple[Any, dict, Any]:
    """The workspace (or None), the constraint layers by kind (--layer adds or replaces) and the catalogue."""
    ws, catalog = None, base_catalog
    if workspace is not None or not extra:
        simple = {k: str(p) for k, p, lyr in extra if lyr is None}
        ws = open_workspace(workspace or DEMO_WORKSPACE, overrides=simple or None)
        catalog = ws.catalog
    layers: dict = dict(ws.layers) if ws is not None else {}
    try:
        for kind_id, path, lyr in extra:
            if ws is not None and lyr is None:
                continue  # already loaded through the workspace overrides
            layer_read = read_layer(path, lyr)
            layers[kind_id] = Layer(kind=catalog.kind(kind_id), gdf=to_workspace_crs(layer_read.gdf), read=layer_read)
    except InputError as exc:
        fail(str(exc))
    if ws is not None:
        ws.layers = layers
    return ws, layers, catalog


def _load_inputs(projects: str | None, workspace: Path | None, extra: list[tuple[str, Path, str | None]],
                 base_catalog: Any, **read_kw: Any) -> tuple[Any, Any, dict, Any]:
    """The projects as read, the workspace (or None), the constraint layers by kind and the catalogue.

    The projects file is read first, so that a bad one fails before the layers are read; --layer options add
    to or replace the workspace's layers."""
    read = None
    if projects is not None:
        if not is_postgis_url(projects) and not Path(projects).exists():
            fail(f"{projects}: file not found; check the path")
        try:
            read = read_layer(projects, read_kw["projects_layer"], encoding=read_kw["encoding"], crs=read_kw["crs"])
        except InputError as exc:
            fail(str(exc))
    ws, layers, catalog = _load_layers(workspace, extra, base_catalog)
    if read is None:
        if ws is None or ws.projects is None:
            fail("no projects file given and the workspace names none; pass PROJECTS, e.g. "
                 "`spatial check sites.shp --type energy`")
        read = ws.projects
    elif ws is not None:  # the workspace's own [projects] were checked for its territory on loading
        read.warnings.extend(territory_findings(ws, read))
    if len(read.gdf) == 0:
        fail(f"{read.name}: holds no project features; draw at least one polygon, line or point")
    findings = [*getattr(read, "repairs", ()), *getattr(read, "set_aside", ()), *getattr(read, "warnings", ())]
    for item in findings[:10]:
        err_console.print(f"[yellow]提示 note ({read.name}):[/] {getattr(item, 'message', item)}")
    if len(findings) > 10:
        err_console.print(f"[yellow]… {len(findings) - 10:,d} more reading notes[/] (`spatial inspect {read.path}`)")
    return read, ws, layers, catalog


def _run_check(read: Any, target: Any, project_type: str | None, catalog: Any, **kw: Any) -> Any:
    """The check with a progress bar on a terminal, else a log line every ~10 s or 10 % (CI logs, pipes)."""
    if err_console.is_terminal:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("检查 checking", total=None)

            def progress(done: int, total: int, label: str) -> None:
                bar.update(task, completed=done, total=total, description=f"检查 checking {label}")

            return check(read, target, project_type, progress=progress, catalog=catalog, **kw)
    return check(read, target, project_type, progress=ProgressLines(_log_line), catalog=catalog, **kw)


def _log_line(text: str) -> None:
    # one line per message in a log: rich would wrap at 80 columns when stderr is no terminal
    err_console.print(text, soft_wrap=True, highlight=False, markup=False)


class ProgressLines:
    """Progress as plain log lines, at most one per ``every_s`` seconds or per ``step`` of the work, and at the end.

    Parameters
    ----------
    say : callable
        Where a line goes (e.g. ``print`` to stderr).
    every_s : float
        Seconds between lines.
    step : float
        Share of the work (0.1 = 10 %) between lines.
    """

    def __init__(self, say: Callable[[str], None], every_s: float = 10.0, step: float = 0.1) -> None:
        self.say, self.every_s, self.step = say, every_s, step
        self.start = self.last_t = time.monotonic()
        self.last_share = 0.0

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        share = done / total if total else 1.0
        if share >= 1.0 or share - self.last_share >= self.step or now - self.last_t >= self.every_s:
            if share == self.last_share == 1.0:
                return
            self.say(f"检查 checking {100 * share:3.0f} % ({done:,d}/{total:,d}) {label} — {now - self.start:,.0f} s")
            self.last_t, self.last_share = now, share
