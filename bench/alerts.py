"""How noisy are the default alerts? Replays the default rules and prints the issue-8 figures.

    PYTHONPATH=. python bench/alerts.py [DATA_DIR]

Events per release (median, p90, max), releases with a major event, silent releases, exact
duplicates (same entity, basis, window and value twice in one release) and the count per rule.
Targets: p90 ≤ 5, max ≤ 10, releases with a major event ≤ 80, duplicates 0.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.data.load import panel_from_bytes, read_dir
from bot.rules.backtest import backtest
from bot.rules.catalogue import load_rules
from bot.rules.metrics import Metrics

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tic" / "2026-07-01"


def main(argv: list[str]) -> int:
    data_dir = Path(argv[0]) if argv else DEFAULT_DIR
    settings = load_settings(None)
    rules = load_rules(settings.groups)
    panel = panel_from_bytes(read_dir(data_dir), settings.groups)
    metrics = Metrics(panel)
    events = backtest(panel, rules, metrics=metrics)
    months = [str(p) for p in metrics.index if str(p) >= "2000-01" and p <= panel.latest()]
    per = Counter(e.release for e in events)
    counts = np.array([per.get(m, 0) for m in months])
    major = {e.release for e in events if e.severity == "major"}
    seen: Counter[tuple[object, ...]] = Counter(
        (e.release, e.entity, e.basis, e.start, e.end, e.value, e.unit) for e in events
    )
    dups = sum(n - 1 for n in seen.values() if n > 1)
    print(f"releases {months[0]}..{months[-1]}: {len(months)}; events {len(events)}")
    print(
        f"events per release: median {np.median(counts):g}, p90 {np.percentile(counts, 90):g}, "
        f"max {counts.max()}"
    )
    print(f"releases with a major event: {len(major)}")
    print(f"silent releases: {int((counts == 0).sum())}")
    print(f"exact duplicates: {dups}")
    for rid, n in sorted(Counter(e.rule for e in events).items(), key=lambda kv: -kv[1]):
        print(f"  {rid:<32} {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
