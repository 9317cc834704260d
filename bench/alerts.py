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
from bot.data.entities import LT_NET
from bot.data.load import panel_from_bytes, read_dir
from bot.render.stories import SINCE_YEARS, TOLD
from bot.rules.backtest import backtest
from bot.rules.catalogue import load_rules
from bot.rules.events import Event
from bot.rules.kinds import KINDS, Claim
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
    by_release: dict[str, list[Event]] = {}
    for e in events:
        by_release.setdefault(e.release, []).append(e)
    told = {m: evs[:TOLD] for m, evs in by_release.items()}
    counts = np.array([len(told.get(m, [])) for m in months])
    print(
        f"told per release (the {TOLD} rarest, lead first): median {np.median(counts):g}, "
        f"p90 {np.percentile(counts, 90):g}, max {counts.max()}; "
        f"releases with a major told: {sum(any(e.severity == 'major' for e in t) for t in told.values())}"
    )
    jc = [e for e in by_release.get("2022-10", []) if e.entity == "Japan + China" and e.value == -227.6]
    place = by_release.get("2022-10", []).index(jc[0]) + 1 if jc else None
    print(f"2022-10: Japan + China -227.6 record is story {place} of {len(by_release.get('2022-10', []))}")
    print("\nstories by claim and direction: releases that tell one (told / lead)")
    table: dict[str, list[set[str]]] = {}
    for m, evs in told.items():
        for i, e in enumerate(evs):
            row = table.setdefault(story(e), [set(), set()])
            row[0].add(m)
            if i == 0:
                row[1].add(m)
    for name, (anywhere, lead) in sorted(table.items(), key=lambda kv: -len(kv[1][0])):
        print(f"  {name:<44} {len(anywhere):4} {len(lead):4}")
    return 0


def story(e: Event) -> str:
    """What an event claims, as an analyst files it: claim, how rare, which way."""
    claim = KINDS[e.kind].claim
    up = e.value > 0 if claim != Claim.LEVEL else e.direction == "high"
    if claim == Claim.LEVEL:
        return f"level: {'record' if e.extreme_since is None else 'N-year'} {'high' if up else 'low'}"
    if claim == Claim.RANK:
        return f"rank: {'moves up' if (e.rank_to or 0) < (e.rank_from or 0) else 'moves down'}"
    if claim == Claim.STREAK:
        if e.basis == LT_NET:
            return f"streak: net {'buying' if up else 'selling'}"
        return f"streak: holdings {'rising' if up else 'falling'}"
    what = "net flows" if e.basis == LT_NET else "move"
    way = ("buying" if up else "selling") if e.basis == LT_NET else ("rise" if up else "fall")
    if e.rank is not None and e.rank.rank == 1:
        rare = "record"
    elif e.extreme_since is not None and e.rarity >= SINCE_YEARS:
        rare = "largest since <date>"
    else:
        rare = "over threshold"
    return f"{what}: {rare} {way} ({e.window}m)"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
