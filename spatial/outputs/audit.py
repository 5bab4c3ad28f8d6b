"""The audit record of a run (audit.json): which tool and rules, which inputs (with their sha256), which
parameters, when, what came out (with their sha256) — so that a reviewer can tell later exactly what a
verdict was based on, and whether a file was changed since.

:func:`start_audit` before the work, :func:`finish_audit` after the outputs are written, :func:`write_audit`
writes audit.json and appends one JSON line to a run log.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from spatial.outputs.html import html_table
from spatial.outputs.record import NOT_CHECKED, set_aside_count

__all__ = ["AUDIT_FILE", "add_sources", "audit_html", "describe_inputs", "file_entry", "finish_audit", "safe_location", "sha256_file",
           "start_audit", "tool_info", "write_audit"]

AUDIT_FILE = "audit.json"
PACKAGE = "eco-spatial-planning"
MAX_ITEMS = 1_000  # findings listed per kind in audit.json; all are counted (and all are in record.csv)

# user:password@ in URLs, and secrets in query strings (tianditu tk=, key=, token= …)
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*)(:[^/@\s]*)?@")
_SECRET_QUERY = re.compile(r"(?i)([?&](?:password|passwd|pwd|key|tk|token|access_token|secret|signature)=)[^&#\s]*")


def utc_now() -> str:
    """The time now in UTC, ISO 8601 with seconds (``2026-12-02T19:44:46Z``)."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def safe_location(location: Any) -> str:
    """A path or URL as text with any password or key taken out (``https://user:***@host/…``, ``?tk=***``).

    Parameters
    ----------
    location : str or Path
        A file path, a GDAL ``/vsicurl/`` path or a URL.

    Returns
    -------
    str
    """
    text = str(location)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@" if m.group(3) else m.group(0), text)
    return _SECRET_QUERY.sub(r"\1***", text)


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """The sha256 of a file, read in 1 MiB pieces (layers can be gigabytes)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def file_entry(path: str | Path, cache: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """{path, sha256, size_bytes} of a local file (cached per path: one GeoPackage holds many layers)."""
    key = str(Path(path).resolve())
    if cache is not None and key in cache:
        return cache[key]
    p = Path(path)
    entry = {"path": safe_location(p), "sha256": sha256_file(p), "size_bytes": p.stat().st_size}
    if cache is not None:
        cache[key] = entry
    return entry


def _git_commit(folder: Path) -> dict[str, Any]:
    """The commit of the git checkout holding the package, and whether files differ from it; {} outside git."""
    try:
        run = dict(cwd=folder, capture_output=True, text=True, timeout=10, check=True)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], **run).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}  # an installed copy, or no git: the version number has to do
    return {"git_commit": commit, "git_dirty": bool(dirty)} if commit else {}


def tool_info() -> dict[str, Any]:
    """The tool's name, version (package metadata), git commit when run from a checkout, and Python's version."""
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {"name": PACKAGE, "version": version, **_git_commit(Path(__file__).resolve().parent),
            "python": sys.version.split()[0]}


def start_audit(command: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The audit record as known when a run starts: the command, the tool, the start time, every parameter.

    Parameters
    ----------
    command : str
        The command run (``spatial check``).
    parameters : mapping
        Every parameter of the run (paths and URLs recorded without passwords or keys).

    Returns
    -------
    dict
    """
    return {"command": command, "tool": tool_info(), "started_utc": utc_now(),
            "parameters": {k: _jsonable(v) for k, v in parameters.items()}}


def add_sources(audit: dict[str, Any], *, catalog: Any = None, workspace: Any = None, projects: Any = None,
                layers: Mapping[str, Any] | None = None, checked: Iterable[str] = ()) -> dict[str, Any]:
    """Add the catalogue (path, sha256), the workspace (folder, name, workspace.toml) and every input.

    Parameters
    ----------
    audit : dict
        From :func:`start_audit`.
    catalog : Catalog, optional
        The rules catalogue.
    workspace : Workspace, optional
        The workspace.
    projects, layers, checked
        As for :func:`describe_inputs`.

    Returns
    -------
    dict
        ``audit`` itself.
    """
    if catalog is not None and getattr(catalog, "path", None) and Path(catalog.path).is_file():
        audit["catalogue"] = file_entry(catalog.path)
    if workspace is not None:
        toml = Path(workspace.path) / "workspace.toml"
        audit["workspace"] = {"path": safe_location(workspace.path), "name": workspace.name,
                              **({"workspace_toml": file_entry(toml)} if toml.is_file() else {})}
    audit["inputs"] = describe_inputs(projects, layers, checked)
    return audit


def _jsonable(v: Any) -> Any:
    if isinstance(v, Path):
        return safe_location(v)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if isinstance(v, str) and "://" in v:
        return safe_location(v)
    return v


_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def _source_files(path: Path) -> list[Path]:
    """The files a source is made of: a shapefile's .shp/.shx/.dbf/.prj/.cpg…, a folder's files (FileGDB)."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() == ".shp":
        return sorted(p for p in path.parent.glob(path.stem + ".*") if p.suffix.lower() in _SHAPEFILE_PARTS)
    return [path] if path.is_file() else []


def _input_entry(read: Any, role: str, cache: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    path = Path(str(read.path))
    files = [file_entry(p, cache) for p in _source_files(path)]
    main = next((f for f in files if Path(f["path"]).name == path.name), files[0] if files else None)
    crs = read.gdf.crs
    aside = getattr(read, "set_aside", ()) or ()
    return {"role": role, **extra, "path": safe_location(read.path), "layer": read.layer,
            "sha256": main["sha256"] if main else None, "size_bytes": main["size_bytes"] if main else None,
            "files": files if len(files) > 1 else [], "driver": read.driver,
            "feature_count": int(len(read.gdf)) + len(aside), "features_used": int(len(read.gdf)),
            "set_aside": len(aside), "repaired": len(getattr(read, "repairs", ()) or ()),
            "crs": crs.to_string() if crs is not None else None, "crs_source": read.crs_source,
            "encoding": read.encoding, "encoding_source": getattr(read, "encoding_source", None)}


def describe_inputs(projects: Any = None, layers: Mapping[str, Any] | None = None,
                    checked: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every input of a run: path (no password), sha256 and size (of each part of a shapefile too), layer name,
    feature count, CRS and where it came from, encoding.

    Parameters
    ----------
    projects : ReadResult, optional
        The projects file as read.
    layers : mapping of str to Layer, optional
        The workspace layers (kind id → Layer).
    checked : iterable of str
        The kinds the check used (marked ``checked: true``).

    Returns
    -------
    list of dict
    """
    cache: dict[str, dict[str, Any]] = {}
    used = set(checked)
    out = [_input_entry(projects, "projects", cache)] if projects is not None else []
    for kind_id, layer in (layers or {}).items():
        out.append(_input_entry(getattr(layer, "read", layer), "layer", cache, kind=kind_id, checked=kind_id in used))
    return out


def _findings(record: Any) -> dict[str, Any]:
    """Counts of repairs, set-asides and warnings, and the first :data:`MAX_ITEMS` of each."""
    out: dict[str, Any] = {}
    cols = ["scope", "file", "feature", "number", "finding", "message", "area_before_m2", "area_after_m2"]
    for kind, key in (("repaired", "repairs"), ("set_aside", "set_asides"), ("warning", "warnings")):
        rows = record[record["kind"] == kind] if record is not None and len(record) else []
        items = [] if len(rows) == 0 else [
            {c: _clean(r[c]) for c in cols if c in rows.columns} for _, r in rows.head(MAX_ITEMS).iterrows()]
        out[key] = {"count": int(len(rows)), "items": items}
    return out


def _clean(v: Any) -> Any:
    try:
        if v is None or v != v:  # NaN, pd.NA
            return None
    except (TypeError, ValueError):
        return None
    v = v.item() if hasattr(v, "item") else v
    return safe_location(v) if isinstance(v, str) and "://" in v else v


def finish_audit(audit: dict[str, Any], result: Any, outputs: Iterable[str | Path]) -> dict[str, Any]:
    """Complete ``audit`` after the outputs are written: end time, area method, counts, findings, outputs.

    Parameters
    ----------
    audit : dict
        From :func:`start_audit` (``inputs`` added by the caller, see :func:`describe_inputs`).
    result : CheckResult
        The check (verdict counts, the record, notes, settings).
    outputs : iterable of path
        The files the run wrote (each recorded with its sha256 and size).

    Returns
    -------
    dict
        ``audit`` itself.
    """
    s = result.settings
    counts = {v: int(n) for v, n in result.verdict_counts.items()}
    not_checked = set_aside_count(result).get("项目 project", 0)
    audit["area_method"] = s.get("area_method")
    audit["settings"] = {k: _jsonable(v) for k, v in s.items()}
    checked = int(sum(counts.values()))   # of every project, also when the summary is a streamed check's digest
    audit["counts"] = {"projects": checked + not_checked, "checked": checked,
                       "verdicts": {**counts, NOT_CHECKED: not_checked}, "layers_checked": int(len(result.layers))}
    audit.update(_findings(getattr(result, "record", None)))
    audit["notes"] = list(result.notes)
    audit["outputs"] = [{"file": Path(p).name, **file_entry(p)} for p in dict.fromkeys(Path(p) for p in outputs)]
    audit["finished_utc"] = utc_now()
    return audit


def write_audit(audit: Mapping[str, Any], out_dir: str | Path, log: str | Path | None = None) -> Path:
    """Write ``audit.json`` into ``out_dir``; with ``log``, append the same record as one JSON line.

    Parameters
    ----------
    audit : mapping
        The finished audit record.
    out_dir : str or Path
        The run's output folder.
    log : str or Path, optional
        A run log (JSON Lines) to append to; created when missing.

    Returns
    -------
    Path
        audit.json.
    """
    path = Path(out_dir) / AUDIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(audit, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if log is not None:
        log = Path(log)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(audit, ensure_ascii=False, separators=(",", ":")) + "\n")
    return path


def audit_html(audit: Mapping[str, Any] | None) -> str:
    """The audit record summarised for report.html (``<section id="audit">``, every string escaped).

    Parameters
    ----------
    audit : mapping, optional
        The audit record as known when the report is written (outputs and end time are in audit.json).

    Returns
    -------
    str
        An HTML fragment; empty without an audit.
    """
    if not audit:
        return ""
    tool = audit.get("tool", {})
    commit = tool.get("git_commit")
    facts = [f"命令 Command: {audit.get('command', '')}",
             f"工具版本 Tool: {tool.get('name')} {tool.get('version') or '?'}"
             + (f", git {commit}{' (有未提交改动 uncommitted changes)' if tool.get('git_dirty') else ''}" if commit else "")
             + f", Python {tool.get('python')}",
             f"开始时间 Started (UTC): {audit.get('started_utc', '')}"]
    cat = audit.get("catalogue")
    if cat:
        facts.append(f"图层目录 Catalogue: {cat['path']} (sha256 {cat['sha256']})")
    ws = audit.get("workspace")
    if ws:
        facts.append(f"工作空间 Workspace: {ws.get('name', '')} — {ws.get('path', '')}")
    params = "; ".join(f"{k}={v}" for k, v in audit.get("parameters", {}).items() if v not in (None, [], ""))
    facts.append(f"参数 Parameters: {params}")
    inputs = pd.DataFrame([{"用途 Role": i.get("kind") or i.get("role"), "文件 File": i.get("path"),
                            "图层 Layer": i.get("layer") or "", "要素 Features": i.get("feature_count"),
                            "剔除 Set aside": i.get("set_aside"), "坐标系 CRS": i.get("crs"),
                            "坐标系来源 CRS source": i.get("crs_source"), "编码 Encoding": i.get("encoding") or "",
                            "sha256": i.get("sha256") or ""} for i in audit.get("inputs", [])])
    return ('<section id="audit"><h2>运行记录 Audit record</h2><ul>'
            + "".join(f"<li>{html.escape(str(f))}</li>" for f in facts) + "</ul>"
            + (html_table(inputs) if len(inputs) else "")
            + "<p>结束时间、结论计数与每个输出文件的 sha256 见同一文件夹的 audit.json。 The end time, the counts and "
              "the sha256 of every output file are in audit.json beside this report.</p></section>")
