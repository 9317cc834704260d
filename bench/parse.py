"""Time and peak memory to parse every TIC file and build the panel; then SLT Table 1's
cross-checks (bot.data.crosscheck) and Form S vs Table 1 side by side, by asset.

Usage: python bench/parse.py [DATA_DIR] [--repeat N]
Target (issue 2, issue 24): ≤ 1.5 s and ≤ 250 MB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.data import crosscheck  # noqa: E402
from bot.data.entities import DEFAULT_GROUPS  # noqa: E402
from bot.data.panel import build_panel  # noqa: E402
from bot.data.parse import PARSERS, parse_file  # noqa: E402

FILES = list(PARSERS)  # every file a parser reads


def run(files: dict[str, bytes]) -> tuple[float, dict[str, float], int]:
    per_file: dict[str, float] = {}
    t0 = time.perf_counter()
    parsed = []
    for name, data in files.items():
        t = time.perf_counter()
        parsed.append(parse_file(name, data))
        per_file[name] = time.perf_counter() - t
    panel = build_panel(parsed, DEFAULT_GROUPS)
    total = time.perf_counter() - t0
    return total, per_file, len(panel.data)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data_dir", nargs="?", default=str(ROOT.parent / "shared/data/tic/2026-07-01"))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    d = Path(args.data_dir)
    missing = [n for n in FILES if not (d / n).is_file()]
    if missing:
        print(f"bench/parse.py: missing {', '.join(missing)} in {d}", file=sys.stderr)
        return 2
    files = {n: (d / n).read_bytes() for n in FILES}  # reading from disk is not timed
    size = sum(len(b) for b in files.values())
    run(files)  # warm-up: imports, regex compilation
    times, rows = [], 0
    per_file_runs: list[dict[str, float]] = []
    for _ in range(args.repeat):
        t, per_file, rows = run(files)
        times.append(t)
        per_file_runs.append(per_file)
    tracemalloc.start()
    run(files)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"files: {len(files)} ({size / 1e6:.1f} MB) from {d}")
    for name in FILES:
        print(f"  {name:<17} {statistics.median(r[name] for r in per_file_runs) * 1000:7.1f} ms")
    print(
        f"parse + panel: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
        f"max {max(times):.3f} s over {args.repeat} runs; panel rows {rows}"
    )
    print(
        f"memory: peak Python allocations {peak / 2**20:.0f} MB (tracemalloc), process max RSS {rss:.0f} MB"
    )
    print("targets: <= 1.5 s, <= 250 MB")
    t1 = parse_file("slt_table1.txt", files["slt_table1.txt"])
    cells, warnings = crosscheck.check_table1(t1, parse_file("slt_table3.txt", files["slt_table3.txt"]))
    print(f"slt_table1 cross-checks: {len(cells)} suspect cells" + "".join(f"\n  {w}" for w in warnings))
    print("holdings change - (net + valuation), $mn (not an identity: other changes; see crosscheck):")
    for r in crosscheck.holdings_change_report(t1.lines).itertuples():
        print(
            f"  {r.asset:<9} lines {r.lines:5d}, beyond rounding {r.beyond_rounding:4.0%}, "
            f"median {r.median:9,.1f}, p99 {r.p99:10,.1f}, max {r.max:10,.1f}"
        )
    overlap = crosscheck.form_s_overlap(parse_file("s1_globl.txt", files["s1_globl.txt"]).frame, t1)
    print("Form S net vs Table 1 holdings change, $bn (months both print a net flow: none):")
    for r in overlap.itertuples():
        print(
            f"  {r.asset:<9} net cells both {r.net_cells}, {r.months}: {r.cells} cells, |diff| median "
            f"{r.median_abs:.3f} max {r.max_abs:.3f}; Grand Total median {r.grand_total_median_abs:.3f} "
            f"max {r.grand_total_max_abs:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
