"""How noisy are the default alerts, and what do they tell? Replays the default rules 2000-01 →
newest and prints the figures of issues 8 and 16.

    PYTHONPATH=. python bench/alerts.py [DATA_DIR] [--lead YYYY-MM ...]

Events and stories per release (a story is a release's events on one holder, told as one
block), before and after the alert's cap (:data:`~bot.render.stories.TOLD` stories a release
month) and how often the cap binds; releases with a major story; exact duplicates (a move or
level stated twice in one release's message); 2022-10's order; the stories told by claim and
direction; and the lead story of chosen releases as a subscriber reads it (``--lead``).
Targets: stories per release p90 ≤ 5 and max ≤ 10 before the cap, ≤ 80 releases with a major,
0 duplicates, Japan + China −227.6 first or second in 2022-10.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

from bot.config import load_settings
from bot.data.load import panel_from_bytes, read_dir
from bot.render.alert import rarest
from bot.render.stories import SINCE_YEARS, TOLD, at_level
from bot.render.text import stated_twice, story_lines
from bot.render.wording import is_flow
from bot.rules.backtest import backtest
from bot.rules.catalogue import load_rules
from bot.rules.events import Event, Story, stories
from bot.rules.kinds import KINDS, Claim
from bot.rules.metrics import Metrics

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tic" / "2026-07-01"
LEADS = ("2007-08", "2008-09", "2011-08", "2013-06", "2016-11")
LEADS += ("2020-04", "2022-10", "2024-12", "2026-03", "2026-04")


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    data_dir = Path(args[0]) if args and not args[0][:4].isdigit() else DEFAULT_DIR
    leads = [a for a in args if a[:4].isdigit()] or list(LEADS)
    settings = load_settings(None)
    rules = load_rules(settings.groups)
    panel = panel_from_bytes(read_dir(data_dir), settings.groups)
    metrics = Metrics(panel)
    events = backtest(panel, rules, metrics=metrics)
    months = [str(p) for p in metrics.index if str(p) >= "2000-01" and p <= panel.latest()]
    by_release: dict[str, list[Story]] = {}
    for s in stories(events):
        by_release.setdefault(s.lead.release, []).append(s)
    told = {m: rarest(ss)[0] for m, ss in by_release.items()}
    per_event = Counter(e.release for e in events)
    print(f"releases {months[0]}..{months[-1]}: {len(months)}; events {len(events)}")
    _spread("events per release", [per_event.get(m, 0) for m in months])
    before = [len(by_release.get(m, [])) for m in months]
    _spread("stories per release, before the cap", before)
    _spread(
        f"stories per release, told (the cap: {TOLD} a release month)", [len(told.get(m, [])) for m in months]
    )
    binds = [m for m in months if len(by_release.get(m, [])) > TOLD]
    print(
        f"the cap binds in {len(binds)} of {len(months)} releases ({len(binds) / len(months):.1%}): "
        + ", ".join(binds)
    )
    major = {m for m, ss in told.items() if any(s.severity == "major" for s in ss)}
    print(f"releases with a major story told: {len(major)}")
    print(f"silent releases: {sum(n == 0 for n in before)}")
    twice = sum(stated_twice(ss) for ss in by_release.values())
    print(f"exact duplicates (a figure stated twice in one release's message): {twice}")
    for rid, n in sorted(Counter(e.rule for e in events).items(), key=lambda kv: -kv[1]):
        print(f"  {rid:<32} {n}")
    october = by_release.get("2022-10", [])
    print("\n2022-10, stories in order:")
    for i, s in enumerate(october, 1):
        print(f"  {i}. {s.lead.entity}: {s.lead.rule} {s.lead.value:+,.1f} (rarity {s.lead.rarity:g})")
    print("\nstories by claim and direction: releases that tell one (in a told story / as the lead)")
    table: dict[str, list[set[str]]] = {}
    for m, ss in told.items():
        for i, s in enumerate(ss):
            for j, e in enumerate(s.events):
                for claim in (story(e), *([ending(e)] if at_level(e) else [])):
                    row = table.setdefault(claim, [set(), set()])
                    row[0].add(m)
                    if i == 0 and j == 0:
                        row[1].add(m)
    for name, (anywhere, lead) in sorted(table.items(), key=lambda kv: (-len(kv[1][0]), kv[0])):
        print(f"  {name:<56} {len(anywhere):4} {len(lead):4}")
    print("\nlead stories as a subscriber reads them:")
    for m in leads:
        ss = by_release.get(m, [])
        print(
            f"\n{m} ({len(ss)} stor{'y' if len(ss) == 1 else 'ies'}; lead rarity {ss[0].lead.rarity:g} years)"
            if ss
            else f"\n{m}: no story"
        )
        for line in story_lines(ss[0])[:-1] if ss else []:
            print(f"  {line}")
    return 0


def _spread(label: str, counts: list[int]) -> None:
    a = np.array(counts)
    print(f"{label}: median {np.median(a):g}, p90 {np.percentile(a, 90):g}, max {a.max()}")


def ending(e: Event) -> str:
    """Where a holdings move ends, when the message says it ("to 652.3bn, the lowest since …")."""
    record = e.level_since is not None and e.level_since[1] is None
    return f"level (where a move ends): {'record' if record else 'N-year'} {'low' if e.value < 0 else 'high'}"


def story(e: Event) -> str:
    """What an event claims, as an analyst files it: asset, claim, how rare, which way."""
    return f"{e.asset}: {_claim(e)}"


def _claim(e: Event) -> str:
    claim = KINDS[e.kind].claim
    up = e.value > 0 if claim != Claim.LEVEL else e.direction == "high"
    if claim == Claim.LEVEL:
        return f"level: {'record' if e.extreme_since is None else 'N-year'} {'high' if up else 'low'}"
    if claim == Claim.RANK:
        return f"rank: {'moves up' if (e.rank_to or 0) < (e.rank_from or 0) else 'moves down'}"
    if claim == Claim.TURN:
        return (
            f"turn: first {'buying' if up else 'selling'} since"
            if is_flow(e.basis)
            else f"turn: first {'rise' if up else 'fall'} since"
        )
    if claim == Claim.STREAK:
        if is_flow(e.basis):
            return f"streak: net {'buying' if up else 'selling'}"
        return f"streak: holdings {'rising' if up else 'falling'}"
    what = "net flows" if is_flow(e.basis) else "move"
    way = ("buying" if up else "selling") if is_flow(e.basis) else ("rise" if up else "fall")
    if e.rank is not None and e.rank.rank == 1 and KINDS[e.kind].says_record:
        rare = "record"
    elif e.extreme_since is not None and e.rarity >= SINCE_YEARS:
        rare = "largest since <date>"
    else:
        rare = "past a threshold"
    return f"{what}: {rare} {way} ({e.window}m)"


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
