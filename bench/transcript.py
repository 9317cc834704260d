"""The release-day transcript: every outbox row a release day queues, as text, for diffing.

A fixed set of chats (defaults, thresholds, floors, rules off, mutes, watches, own groups,
summary mode) and one channel meet three releases derived from the real files (data through
Feb, Mar and Apr 2026). The first is the store's baseline; the next two are handed over the way
the poller does it: slt_table5 alone, then with slt_table3, then with the MFH history. Each
hand-over's rows (key, kind, what they edit, chart, events and the messages' HTML) are printed
in order. No network, no Telegram: the dispatcher into an in-memory outbox.

Usage: python bench/transcript.py [DATA_DIR] > transcript.txt   (diff two runs to see a change)
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from poll_helpers import MFH, MFH_CSV, T3, T5, editions  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.data.load import panel_from_bytes, read_dir  # noqa: E402
from bot.notify.release.dispatch import Dispatcher  # noqa: E402
from bot.rules.catalogue import load_rules  # noqa: E402
from bot.store.db import connect  # noqa: E402
from bot.store.outbox import Outbox  # noqa: E402
from bot.store.subscribers import Subscribers  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "tic"
NOW = dt.datetime(2026, 6, 18, 20, 5, tzinfo=dt.UTC)
CHANNEL = -1001


def chats(subs: Subscribers) -> None:
    """Chats with the settings subscribers actually use."""
    for chat, kind in ((1, "private"), (2, "private"), (3, "private"), (4, "private"), (5, "private")):
        subs.touch(chat, kind, "", NOW)
        subs.set_subscribed(chat, True, NOW)
    for chat in (6, 7, 8, 9, 10, -100, -200):
        subs.touch(chat, "private" if chat > 0 else "supergroup", "", NOW)
        subs.set_subscribed(chat, True, NOW)
    subs.set_rule(2, "holdings-3m-drop", threshold=20.0)
    subs.set_rule(2, "multi-year-low", threshold=2.0)
    subs.set_rule(3, "holdings-3m-drop", threshold=100.0)
    subs.set_rule(4, "holdings-3m-drop", floor=10.0, threshold=30.0)
    subs.set_rule(4, "official-net-selling", floor=0.0)
    for rule in load_rules(load_settings(env={}).groups):
        subs.set_rule(5, rule.id, enabled=0)
    subs.set_rule(6, "multi-year-high", enabled=1)
    subs.set_rule(6, "rank-change", threshold=1.0, enabled=1)
    subs.set_rule(7, "holdings-3m-drop", muted_until="9999-12-31")
    subs.watch(8, "Belgium")
    subs.watch(9, "China, Mainland")
    subs.set_group(10, "Benelux", ("Belgium", "Luxembourg", "Netherlands"))
    subs.watch(10, "Benelux")
    subs.set_mode(-100, "summary", NOW)
    subs.set_rule(-200, "holdings-3m-drop", threshold=10.0)
    subs.set_rule(-200, "official-net-selling", threshold=0.0, floor=0.0)


def dump(outbox: Outbox, release: str, seen: set[int]) -> list[str]:
    keys = {d.id: d.key for d in outbox.of_release(release)}
    out = []
    for d in outbox.of_release(release):
        if d.id in seen:
            continue
        seen.add(d.id)
        edit = f" edits {keys[d.edit_of]}" if d.edit_of else ""
        chart = f" chart {d.chart_id}" if d.chart_id else ""
        out.append(f"## {d.key} {d.kind}{edit}{chart}")
        out += [f"   event {k} {digest}" for k, digest in d.events]
        for i, m in enumerate(d.messages):
            out.append(f"   --- message {i + 1}")
            out += [f"   {line}" for line in m.splitlines()]
    return out


def main(argv: list[str]) -> int:
    base = Path(argv[0]) if argv else DEFAULT_DIR
    snap = base / "2026-07-01"
    real = read_dir(snap)
    eds = editions(lambda n: real[n], (base / "2026-03-18" / MFH).read_bytes())
    settings = load_settings(env={})
    rules = load_rules(settings.groups)
    conn = connect(":memory:")
    chats(Subscribers(conn))
    dispatcher = Dispatcher(conn, rules=rules, groups=settings.groups, channels=(CHANNEL,), clock=lambda: NOW)
    outbox = Outbox(conn)
    frozen = {n: b for n, b in real.items() if n not in (T5, T3, MFH, MFH_CSV)}
    seen: set[int] = set()
    for old, new in (("2026-02", "2026-03"), ("2026-03", "2026-04")):
        held = dict(eds[old])
        for step, names in (("slt_table5", (T5,)), ("slt_table3", (T3,)), ("mfhhis01", (MFH, MFH_CSV))):
            for n in names:
                held[n] = eds[new][n]
            panel = panel_from_bytes({**frozen, **held}, settings.groups)
            done = dispatcher.dispatch(new, [new], panel)
            print(f"# release {new}, hand-over with {step}: {done}")
            print("\n".join(dump(outbox, new, seen)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
