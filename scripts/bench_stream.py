"""Peak memory and time of `spatial check --chunk` (the streamed check) as the number of parcels grows.

The synthetic province of `bench_check.py` (parcels × 20 000 red-line polygons); every run is the CLI as a user
runs it, in a child process whose peak RSS and wall time are measured (`bench_check.timed`), all in this run:

    python scripts/bench_stream.py [--parcels 100000 400000] [--redline 20000] [--chunk 20000]

Writes scripts/bench_results/bench_stream.{md,json}: peak RSS at each size and the ratio largest/smallest (the
target: ≤ 1.5, flat memory), wall time per 1 000 parcels (linear growth), and the whole (unstreamed) check at the
smallest size for comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import generate, timed  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "bench_results"


def _cli(parcels: Path, red: Path, out: Path, chunk: int | None) -> list[str]:
    cmd = [sys.executable, "-m", "spatial", "check", str(parcels), "--layer", f"ecological_redline={red}",
           "--type", "industrial", "--no-map", "--out", str(out)]
    return cmd + (["--chunk", str(chunk)] if chunk else [])


def _numbers(run: dict) -> dict:
    """A run's measures without the command's own output."""
    return {k: v for k, v in run.items() if k not in ("stdout", "stderr")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parcels", type=int, nargs="+", default=[100_000, 400_000])
    ap.add_argument("--redline", type=int, default=20_000)
    ap.add_argument("--chunk", type=int, default=20_000)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_stream_"))
    work.mkdir(parents=True, exist_ok=True)
    sizes = sorted(args.parcels)
    par_all, red = generate(sizes[-1], args.redline)
    red_path = work / "redline.gpkg"
    red.to_file(red_path, layer="redline")
    rows = []
    for n in sizes:
        path = work / f"parcels_{n}.gpkg"
        par_all.head(n).to_file(path, layer="parcels")
        r = timed(_cli(path, red_path, work / f"out_{n}", args.chunk))
        rows.append({"parcels": n, "run": f"--chunk {args.chunk}", **_numbers(r)})
        print(json.dumps(rows[-1]), flush=True)
    r = timed(_cli(work / f"parcels_{sizes[0]}.gpkg", red_path, work / "out_whole", None))
    rows.append({"parcels": sizes[0], "run": "whole (no --chunk)", **_numbers(r)})
    print(json.dumps(rows[-1]), flush=True)
    streamed = [x for x in rows if x["run"].startswith("--chunk")]
    ratio = streamed[-1]["peak_rss_mb"] / streamed[0]["peak_rss_mb"]
    per_k = [x["wall_s"] / x["parcels"] * 1000 for x in streamed]
    result = {"rows": rows, "peak_rss_ratio_largest_over_smallest": ratio, "wall_s_per_1000_parcels": per_k,
              "redline": args.redline, "chunk": args.chunk}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_stream.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    lines = ["# Streamed check (`spatial check --chunk`): peak memory as the parcels grow", "",
             f"{args.redline:,d} red-line polygons; `spatial check PARCELS --layer ecological_redline=… --type industrial "
             f"--no-map` (every other default output: CSVs, check.xlsx, overlaps.gpkg, report.html, audit.json).", "",
             "| parcels | run | wall s | peak RSS MB | wall s per 1 000 |", "| ---: | --- | ---: | ---: | ---: |"]
    lines += [f"| {x['parcels']:,d} | {x['run']} | {x['wall_s']:.1f} | {x['peak_rss_mb']:.0f} | "
              f"{x['wall_s'] / x['parcels'] * 1000:.3f} |" for x in rows]
    lines += ["", f"Peak RSS {sizes[-1]:,d} / {sizes[0]:,d} parcels (streamed): **{ratio:.2f}** (target ≤ 1.5)."]
    (RESULTS / "bench_stream.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
