"""Timings of the rules engine on the real Treasury files (the issue's targets in brackets).

    PYTHONPATH=. python bench/rules.py [DATA_DIR]

1. all default rules × all entities on the full panel (≤ 1 s: issue 24's target for a release's
   rules, every asset in; 0.5 s before, with a fifth of the rules and Treasuries only)
2. 10,000 subscribers with random overrides (≤ 1 s)
3. full backtest 2000 → newest month (≤ 10 s: issue 24's; 5 s before)
4. render the release as delivered: a summary-mode chat's alert (caption, text, summary) and
   its chart, and `check`'s text (≤ 0.5 s)
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

from bot.config import load_settings
from bot.data.load import panel_from_bytes, read_dir
from bot.render.alert import ReleaseMessages
from bot.render.summary import build_summary
from bot.render.text import render_text
from bot.rules.backtest import backtest
from bot.rules.catalogue import load_rules
from bot.rules.overrides import Override
from bot.rules.release import ReleaseCandidates

DEFAULT_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "tic" / "2026-07-01"


def timed(label: str, target: float, fn):
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    flag = "ok" if took <= target else "OVER TARGET"
    print(f"{label:<58} {took:7.3f} s   (target ≤ {target:g} s: {flag})")
    return result


def random_overrides(rules, rng: random.Random) -> dict[str, Override]:
    out: dict[str, Override] = {}
    for r in rng.sample(rules, rng.randint(0, 4)):
        kind = r.spec
        if rng.random() < 0.15:
            out[r.id] = Override(off=True)
            continue
        hi = min(kind.maximum, max(kind.minimum * 4, r.threshold * 3, 10))
        v = rng.uniform(kind.minimum, hi)
        out[r.id] = Override(float(round(v)) if kind.integer else round(v, 1))
    return out


def main() -> int:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR
    settings = load_settings(env={})
    rules = load_rules(settings.groups)
    start = time.perf_counter()
    panel = panel_from_bytes(read_dir(data_dir), settings.groups)
    print(f"panel from {data_dir} ({len(panel.data):,} cells) built in {time.perf_counter() - start:.2f} s")
    release = timed(
        f"1. {len(rules)} default rules x all entities, newest release",
        1.0,
        lambda: ReleaseCandidates(panel, rules),
    )
    candidates = sum(len(rc.events) for rc in release.by_rule.values())
    rng = random.Random(20261125)
    subscribers = [random_overrides(list(rules), rng) for _ in range(10_000)]
    fired = timed(
        "2. 10,000 subscribers with random overrides",
        1.0,
        lambda: [release.fire(o) for o in subscribers],
    )
    events = timed("3. full backtest 2000-01 -> newest month", 10.0, lambda: backtest(panel, rules))
    summary = build_summary(panel)
    default_events = release.fire()

    month = str(release.month)

    def render():  # the delivery's path (bot.notify.release.dispatch), for one distinct alert
        messages = ReleaseMessages(month, (month,), panel, summary)
        texts, chart = messages.alert(default_events, every=True)
        return render_text(summary, default_events), texts, messages.charts[chart]

    text, html, png = timed("4. the alert as delivered (HTML, chart) and check's text", 0.5, render)
    print(
        f"   release {release.month}: {candidates} candidates, {len(default_events)} events at default "
        f"thresholds; subscribers received {sum(map(len, fired)):,} events in all; backtest "
        f"{len(events):,} events; text {len(text):,} chars / alert {len(html)} messages, "
        f"{sum(map(len, html)):,} chars; chart {len(png):,} bytes"
    )
    start = time.perf_counter()
    build_summary(panel)
    print(f"   (building the summary dict itself, not part of 4: {time.perf_counter() - start:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
