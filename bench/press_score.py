"""Score the default rules against real press stories about single TIC releases.

    PYTHONPATH=. python bench/press_score.py [DATA_DIR] [--csv FILE ...] [--list]

Each row of ``bench/press/*.csv`` (format: bench/press/README.md) is one claim a journalist or
analyst made about one data month, checked against the files. For every row that holds in the
files (check ``holds`` or ``partly``), the backtest's stories for that month are read as a
subscriber gets them (the :data:`~bot.render.stories.TOLD` rarest in the alert, the rest in
/latest) and the row is scored:

- **lead**: the release's first story tells the claim;
- **told**: one of the told stories tells it (its lead, a clause of it, or a member's line);
- **buried**: the rules found it, but only past the cap, or only as a number in a group's
  "of which";
- **missed**: nothing the rules found tells it.

"Told as the story" is lead + told. A claim matches an event on the same holder (or a member's
line of a group's story), the same asset and the same direction, and a compatible claim: a
level (low, high, record low/high) is told by a low/high or by a move that says where it ends; a
streak by a streak; a rank by a rank change; a sign change ("the first net selling since …") by
a turn; a move (record, ranked, largest since, move) by any move, run or turn of the holder that
way. The press conflates holdings and net flows for
Treasuries, so either tells a Treasury move.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.config import load_settings
from bot.data.entities import LT_NET, NET
from bot.data.load import panel_from_bytes, read_dir
from bot.render.alert import rarest
from bot.rules.backtest import backtest
from bot.rules.catalogue import load_rules
from bot.rules.events import Event, Story, stories
from bot.rules.kinds import KINDS, Claim
from bot.rules.metrics import Metrics

HERE = Path(__file__).resolve().parent
DEFAULT_DIR = HERE.parent.parent / "shared" / "data" / "tic" / "2026-07-01"
LEVELS = {"low", "high", "record_low", "record_high"}
GRADES = ("lead", "told", "buried", "missed")


@dataclass(frozen=True)
class Claimed:
    id: str
    month: str
    asset: str
    measure: str
    entity: str
    claim: str
    direction: str
    headline: str
    source: str  # the press file's name (treasury, flows)


def read_press(paths: list[Path]) -> list[Claimed]:
    rows = []
    for path in paths:
        with path.open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if not r.get("check", "").strip().lower().startswith(("holds", "partly")):
                    continue
                rows.append(
                    Claimed(
                        r["id"].strip(),
                        r["month"].strip()[:7],
                        r["asset"].strip().lower(),
                        r["measure"].strip().lower(),
                        r["entity"].strip(),
                        r["claim"].strip().lower(),
                        r["direction"].strip().lower(),
                        r["headline"].strip(),
                        path.stem,
                    )
                )
    return rows


def asset_of(e: Event) -> str:
    return getattr(e, "asset", "treasury") or "treasury"


def is_flow(e: Event) -> bool:
    return e.basis in (LT_NET, NET) or e.basis.endswith("_net")


def goes_up(e: Event) -> bool:
    if KINDS[e.kind].claim == Claim.LEVEL:
        return e.direction == "high"
    if KINDS[e.kind].claim == Claim.RANK:
        return (e.rank_to or 0) < (e.rank_from or 0)
    return e.value > 0


def tells(e: Event, c: Claimed) -> bool:
    """Does event e tell claim c (holder aside)?"""
    if asset_of(e) != c.asset or goes_up(e) != (c.direction == "up"):
        return False
    if c.asset != "treasury" and is_flow(e) != (c.measure == "net"):
        return False
    claim = KINDS[e.kind].claim
    if c.claim in LEVELS:
        return claim == Claim.LEVEL or e.level_since is not None
    if c.claim == "streak":
        return claim == Claim.STREAK
    if c.claim == "rank":
        return claim == Claim.RANK
    if c.claim == "sign":
        return claim == Claim.TURN
    return claim in (Claim.MOVE, Claim.STREAK, Claim.TURN)


def lines_of(s: Story) -> list[tuple[str, Event]]:
    """(holder, event) for every claim a story says in words: its events, and members' own lines."""
    out = [(e.entity, e) for e in s.events]
    for e in s.events:
        out += [(m.entity, m) for m in getattr(e, "members", ())]
    return out


def numbers_of(s: Story) -> list[tuple[str, Event]]:
    """(member, group event): members that appear only as a figure in a group's "of which"."""
    return [(name, e) for e in s.events for name in (*e.suppressed, *(g for g, _ in e.within))]


def grade(c: Claimed, all_stories: list[Story], told: list[Story]) -> str:
    for i, s in enumerate(told):
        for who, e in lines_of(s):
            if who == c.entity and tells(e, c):
                return "lead" if i == 0 and e is s.lead else "told"
    for s in all_stories:
        if any(who == c.entity and tells(e, c) for who, e in lines_of(s)):
            return "buried"
        if any(who == c.entity and tells(e, c) for who, e in numbers_of(s)):
            return "buried"
    return "missed"


def main(argv: list[str]) -> int:
    files = [Path(a.split("=", 1)[1]) for a in argv if a.startswith("--csv=")]
    args = [a for a in argv if not a.startswith("--")]
    data_dir = Path(args[0]) if args else DEFAULT_DIR
    files = files or sorted((HERE / "press").glob("*.csv"))
    claims = read_press(files)
    settings = load_settings(None)
    rules = load_rules(settings.groups)
    panel = panel_from_bytes(read_dir(data_dir), settings.groups)
    events = backtest(panel, rules, metrics=Metrics(panel))
    by_release: dict[str, list[Story]] = {}
    for s in stories(events):
        by_release.setdefault(s.lead.release, []).append(s)
    result = {
        c.id: grade(c, by_release.get(c.month, []), rarest(by_release.get(c.month, []))[0]) for c in claims
    }
    for name in sorted({c.source for c in claims}):
        _report(name, [c for c in claims if c.source == name], result)
    if "--list" in argv:
        for c in claims:
            what = f"{c.asset}/{c.measure} {c.claim} {c.direction}"
            print(f"{result[c.id]:<7} {c.month} {c.entity:<18} {what}: {c.headline}")
    return 0


def _report(name: str, claims: list[Claimed], result: dict[str, str]) -> None:
    n = len(claims)
    if not n:
        return
    count = Counter(result[c.id] for c in claims)
    as_story = count["lead"] + count["told"]
    print(
        f"{name}: {n} claims that hold in the files — told as the story {as_story} ({as_story / n:.0%}: "
        f"lead {count['lead']}, told {count['told']}), buried {count['buried']}, missed {count['missed']}"
    )
    by_claim: dict[str, Counter[str]] = {}
    for c in claims:
        by_claim.setdefault(f"{c.asset}/{c.claim}", Counter())[result[c.id]] += 1
    for key, cnt in sorted(by_claim.items(), key=lambda kv: -sum(kv[1].values())):
        print(f"  {key:<28} " + " ".join(f"{g} {cnt[g]}" for g in GRADES if cnt[g]))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
