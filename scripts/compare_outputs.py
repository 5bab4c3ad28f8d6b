"""Compare two output folders of `spatial demo` (or any run) file by file, by content.

Deterministic files (CSV, Markdown, JSON, text) must be byte-identical; workbooks are compared cell by cell
(openpyxl), GeoPackages layer by layer (attributes and WKB geometry), HTML after replacing Folium's random
element ids. ``--replace OLD=NEW`` (repeatable) names text that is expected to differ (e.g. a module path).

    python scripts/compare_outputs.py BEFORE AFTER [--replace spatial.area=spatial.geo.area]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import geopandas as gpd
import openpyxl
import pyogrio

_FOLIUM_ID = re.compile(r"[0-9a-f]{32}")


def _text(path: Path, replace: list[tuple[str, str]], root: Path) -> str:
    text = path.read_text(encoding="utf-8-sig", errors="replace").replace(str(root.resolve()), "<ROOT>")
    for old, new in replace:
        text = text.replace(old, new)
    return _FOLIUM_ID.sub("<ID>", text) if path.suffix == ".html" else text


def _xlsx(path: Path) -> list[tuple[str, list[tuple]]]:
    book = openpyxl.load_workbook(path, read_only=True)
    return [(ws.title, list(ws.iter_rows(values_only=True))) for ws in book.worksheets]


def _gpkg(path: Path) -> list[tuple[str, list]]:
    out = []
    for name, _ in pyogrio.list_layers(path):
        gdf = gpd.read_file(path, layer=name)
        if not isinstance(gdf, gpd.GeoDataFrame):  # an attribute table (e.g. an empty reading record)
            out.append((name, gdf.astype(str).values.tolist(), [], ""))
            continue
        geom = gdf.geometry.to_wkb().tolist() if gdf.geometry.name in gdf else []
        out.append((name, gdf.drop(columns=gdf.geometry.name).astype(str).values.tolist(), geom, str(gdf.crs)))
    return out


def same(a: Path, b: Path, replace: list[tuple[str, str]], roots: tuple[Path, Path]) -> bool:
    if a.suffix == ".xlsx":
        return _xlsx(a) == _xlsx(b)
    if a.suffix == ".gpkg":
        return _gpkg(a) == _gpkg(b)
    if a.suffix in (".csv", ".md", ".html", ".json", ".txt"):
        return _text(a, replace, roots[0]) == _text(b, [], roots[1])
    return a.read_bytes() == b.read_bytes()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--replace", action="append", default=[], help="OLD=NEW text expected to differ")
    args = ap.parse_args()
    replace = [tuple(r.split("=", 1)) for r in args.replace]
    files_a = {p.relative_to(args.before) for p in args.before.rglob("*") if p.is_file()}
    files_b = {p.relative_to(args.after) for p in args.after.rglob("*") if p.is_file()}
    bad = sorted(str(p) for p in files_a ^ files_b)
    for rel in sorted(files_a & files_b):
        if not same(args.before / rel, args.after / rel, replace, (args.before, args.after)):
            bad.append(str(rel))
    for rel in bad:
        print(f"DIFFERENT {rel}")
    print(f"{len(files_a & files_b) - len([b for b in bad if Path(b) in files_a & files_b])} of "
          f"{len(files_a | files_b)} files equal by content")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
