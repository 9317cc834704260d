"""Time and peak memory to parse the seven TIC files and build the panel.

Usage: python bench/parse.py [DATA_DIR] [--repeat N]
Target (issue 2): ≤ 1 s and ≤ 250 MB on a 2-core machine.
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

from bot.data.entities import DEFAULT_GROUPS  # noqa: E402
from bot.data.panel import build_panel  # noqa: E402
from bot.data.parse import PARSERS, parse_file  # noqa: E402

FILES = list(PARSERS)  # the seven files


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
    print("targets: <= 1 s, <= 250 MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
