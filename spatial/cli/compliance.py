"""`spatial balance` and `spatial ledger`: CLI over spatial.analysis.balance and spatial.analysis.ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from layers import DEMO_WORKSPACE
from rich.table import Table
from spatial.analysis.balance import balance
from spatial.analysis.ledger import Version, ledger
from spatial.cli.indicators import _fmt as fmt, _path_layer, _print_outputs, _status_style
from spatial.cli.options import check_area_method, console, fail, open_workspace
from spatial.errors import InputError
from spatial.outputs.compliance_report import write_balance_outputs, write_ledger_outputs
from rich.markup import escape

_WS_HELP = "工作空间目录 workspace folder (workspace.toml); default: the Changshan demo"
_AREA_HELP = "面积算法 area method: official (国土调查椭球面积) | geodesic"
_JSON_HELP = "输出 JSON: print one JSON object to stdout (files only with --out)"


def _json_out(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def _fmt(v: Any, digits: int = 2) -> str:

    return fmt(v, digits)


def _balance_inputs(occupied: str | None, compensated: str | None, workspace: Path | None,
                    grade_field: str | None, best_grade: str | None) -> dict[str, Any]:
    """Files and options from the arguments, else from the workspace's [balance] table."""

    table: dict[str, Any] = {}
    base = Path(workspace or DEMO_WORKSPACE)
    if occupied is None or compensated is None or workspace is not None:
        import tomllib

        toml = base / "workspace.toml"
        if not toml.exists():
            fail(f"{toml}: no workspace.toml; give OCCUPIED and COMPENSATED files or --workspace DIR")
        table = tomllib.loads(toml.read_text(encoding="utf-8")).get("balance", {})

    def side(arg: str | None, key: str) -> tuple[Path, str | None]:
        if arg is not None:
            return _path_layer(arg, None)
        entry = table.get(key)
        if not isinstance(entry, dict) or "path" not in entry:
            fail(f"{base / 'workspace.toml'}: no [balance] {key} = {{ path = \"…\", layer = \"…\" }}; give the "
                 f"{key.upper()} file as an argument or add it to the workspace")
        return base / entry["path"], entry.get("layer")

    occ, comp = side(occupied, "occupied"), side(compensated, "compensated")
    return {"occupied": occ, "compensated": comp, "grade_field": grade_field or table.get("grade_field", "ZLDJ"),
            "best_grade": best_grade or table.get("best_grade", "low")}


def print_balance(result: Any) -> None:
    """One row per side, then the verdict with its reasons."""


    s = result.settings
    table = Table(title=f"耕地占补平衡 Farmland balance ({s['area_method']}; 等别 grade: {s['grade_field']}, "
                        f"{s['grade_convention']})")
    for col in ("类别 side", "地块 parcels", "面积 m²", "公顷 ha", "亩 mu", "加权等别 grade", "连片 patches",
                "最大连片 largest ha"):
        table.add_column(col, justify="left" if col[0] == "类" else "right")
    for row in result.table.itertuples(index=False):
        table.add_row(escape(row.side), str(row.features), _fmt(row.area_m2), _fmt(row.area_ha, 4), _fmt(row.area_mu),
                      _fmt(row.grade, 3), str(row.patches), _fmt(row.largest_patch_m2 / 1e4, 4))
    console.print(table)
    color = "green" if result.balanced else "bold red"
    yes_no = {True: "是 yes", False: "否 no"}
    console.print(f"结论 verdict: [{color}]{result.verdict}[/] (面积不减少 area not less: {yes_no[result.area_ok]}; "
                  f"质量不降低 grade not worse: {yes_no[result.grade_ok]})")
    for note in result.notes:
        console.print(f"[yellow]提示 note:[/] {escape(note)}")


def _version_args(values: list[str]) -> list[Any]:
    """NAME=FILE or NAME=FILE.gpkg:LAYER (NAME a year or date orders the versions)."""

    out = []
    for value in values:
        name, sep, file = value.partition("=")
        if not sep or not name.strip() or not file.strip():
            fail(f"--version {value!r}: write NAME=FILE, e.g. --version 2020=redline_2020.gpkg")
        path, layer = _path_layer(file.strip(), None)
        out.append(Version(name=name.strip(), path=path, layer=layer))
    return out


def print_ledger(result: Any) -> None:
    """Every unit and version with its change, then the overall verdict and the flagged units."""


    s = result.settings
    table = Table(title=f"一本账 Ledger — {s['layer']} ({s['area_method']})")
    for col in ("单位 unit", "版本 version", "日期 date", "面积 km²", "变化 change ha", "新增 added ha",
                "减少 removed ha", "结论 verdict"):
        table.add_column(col, justify="left" if col[0] in "单版日结" else "right")
    for row in result.rows.itertuples(index=False):
        table.add_row(escape(row.unit), escape(row.version), row.date, _fmt(row.area_km2, 4), _fmt(row.change_m2 / 1e4, 4),
                      _fmt(row.added_m2 / 1e4, 4), _fmt(row.removed_m2 / 1e4, 4), _status_style(row.verdict)
                      if not row.verdict.startswith("基准") else row.verdict)
    console.print(table)
    console.print(f"总体结论 overall (全域 territory): {_status_style(result.verdict)}")
    if result.flagged:
        console.print(f"[bold red]面积减少的单位 units losing area:[/] {escape('、'.join(result.flagged))}")


def register(app: typer.Typer) -> None:
    """Add the compliance commands (balance, ledger) to the CLI."""

    @app.command("balance")
    def balance_cmd(
        occupied: Annotated[Optional[str], typer.Argument(
            help="占用耕地 occupied parcels: FILE or FILE.gpkg:LAYER; default: the workspace's [balance]")] = None,
        compensated: Annotated[Optional[str], typer.Argument(
            help="补充耕地 compensating parcels: FILE or FILE.gpkg:LAYER")] = None,
        grade_field: Annotated[Optional[str], typer.Option(
            "--grade-field", help="质量等别字段 field holding the quality grade (default ZLDJ)")] = None,
        best_grade: Annotated[Optional[str], typer.Option(
            "--best-grade", help="等别约定 low: 1 is best (default) | high: larger is better")] = None,
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        area: Annotated[str, typer.Option("--area", help=_AREA_HELP)] = "official",
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="输出目录 output folder "
                                                    "(default out/balance; with --json only when given)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    ) -> None:
        """耕地占补平衡 Farmland occupation–compensation balance: area, weighted grade, contiguity, verdict.

        Writes balance.csv, balance_verdict.csv, balance_parcels.csv, balance.xlsx, balance.html,
        balance.json and balance_patches.gpkg.
        """

        method = check_area_method(area)
        args = _balance_inputs(occupied, compensated, workspace, grade_field, best_grade)
        if args["best_grade"] not in ("low", "high"):
            fail(f"--best-grade must be 'low' (1 is best) or 'high', not {args['best_grade']!r}")
        try:
            result = balance(args["occupied"][0], args["compensated"][0], grade_field=args["grade_field"],
                             best_grade=args["best_grade"], method=method, occupied_layer=args["occupied"][1],
                             compensated_layer=args["compensated"][1])
        except (InputError, ValueError) as exc:
            fail(str(exc))
            return
        paths = write_balance_outputs(result, out or Path("out/balance")) if (out or not as_json) else {}
        if as_json:
            _json_out(result.to_dict())
            return
        print_balance(result)
        _print_outputs(paths)

    @app.command("ledger")
    def ledger_cmd(
        workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help=_WS_HELP)] = None,
        layer: Annotated[str, typer.Option("--layer", help="图层类型 layer kind whose versions to compare")]
            = "ecological_redline",
        version: Annotated[Optional[list[str]], typer.Option(
            "--version", help="版本 NAME=FILE[:LAYER] (repeatable; NAME a year or date orders them); "
                              "default: the workspace's [layers.KIND.versions.*]")] = None,
        by: Annotated[Optional[str], typer.Option(
            "--by", help="分单位 per unit of this workspace layer, e.g. admin_county, strategic_zone")] = None,
        units: Annotated[Optional[Path], typer.Option("--units", help="单位图层 or per unit of this polygon file")]
            = None,
        area: Annotated[str, typer.Option("--area", help=_AREA_HELP)] = "official",
        out: Annotated[Optional[Path], typer.Option("--out", "-o", help="输出目录 output folder "
                                                    "(default out/ledger; with --json only when given)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    ) -> None:
        """一张图一本账 Ledger of a layer's versions: area per unit and version, change, added, removed, and
        the 面积不减少 area-not-reduced verdict per unit and for the territory.

        Writes ledger.csv, ledger.xlsx, ledger.html, ledger.json and ledger.gpkg (change pieces).
        """

        method = check_area_method(area)
        if by and units is not None:
            fail("give --by KIND or --units FILE, not both")
        versions = _version_args(version or [])
        ws = open_workspace(workspace or DEMO_WORKSPACE) if (workspace or by or not versions) else None
        try:
            result = ledger(versions or ws, layer=layer, by=by, units=units, workspace=ws, method=method)
        except (InputError, ValueError, KeyError) as exc:
            fail(str(exc).strip("'\""))
            return
        paths = write_ledger_outputs(result, out or Path("out/ledger")) if (out or not as_json) else {}
        if as_json:
            _json_out(result.to_dict())
            return
        print_ledger(result)
        _print_outputs(paths)
