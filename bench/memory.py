"""Where `tic-alert run`'s memory goes: its release-day steps in one process, RSS after each.

The steps, as `run` takes them: import the libraries, build the panel and the bot's view from
the held files; at a release the poller builds a fresh panel, composes every chat's messages
(and renders the charts), then the bot adopts that panel as its new view while the old one is
still referenced. After each step: RSS (VmRSS), the peak so far (VmHWM), and the step's own
Python allocations (tracemalloc: the peak inside the step and what it kept). ``--top N`` lists
where the kept memory of the biggest step after the imports was allocated.

Usage: python bench/memory.py [DATA_DIR] [--subscribers 2000] [--top 12]
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def rss() -> tuple[float, float]:
    """(VmRSS, VmHWM) of this process in MB."""
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines()
        if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


class Steps:
    def __init__(self, trace: bool, trim: bool) -> None:
        self.trace, self.trim = trace, trim
        self.kept: dict[str, tracemalloc.Snapshot] = {}
        self.rows: list[tuple[str, float, float, float, float, float]] = []
        self.last = rss()[0]

    def run(self, name: str, step):  # type: ignore[no-untyped-def]
        if self.trace:
            tracemalloc.start(1)
            tracemalloc.reset_peak()
        started = time.perf_counter()
        value = step()
        seconds = time.perf_counter() - started
        gc.collect()
        if self.trim:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        kept = peak = 0.0
        if self.trace:
            current, peak_bytes = tracemalloc.get_traced_memory()
            self.kept[name] = tracemalloc.take_snapshot()
            tracemalloc.stop()
            kept, peak = current / 2**20, peak_bytes / 2**20
        now, hwm = rss()
        delta, self.last = now - self.last, now
        self.rows.append((name, now, delta, hwm, kept, peak))
        print(
            f"{name:<52} RSS {now:6.1f} MB ({delta:+6.1f}); peak {hwm:6.1f} MB"
            + (f"; Python kept {kept:6.1f} MB, peak in step {peak:6.1f} MB" if self.trace else "")
            + f"  [{seconds:.1f} s]",
            flush=True,
        )
        return value


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "data", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "tic" / "2026-07-01"
    )
    ap.add_argument("--subscribers", type=int, default=2000)
    ap.add_argument("--top", type=int, default=12, help="allocation sites of the biggest step (tracemalloc)")
    ap.add_argument("--no-trace", action="store_true", help="RSS only (tracemalloc costs memory and time)")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) after each step (glibc)")
    args = ap.parse_args()
    steps = Steps(trace=not args.no_trace, trim=args.trim)
    from bot.heap import limit_arenas

    limit_arenas()  # as `run` and `poll` do at start-up
    print(f"python {sys.version.split()[0]}, {args.subscribers} subscribers, files from {args.data}")
    steps.run("start", lambda: None)

    def imports():  # type: ignore[no-untyped-def]
        import bot.wiring  # noqa: F401  (telegram, pandas, numpy, matplotlib: what `run` imports)

    steps.run("import the libraries (wiring: telegram, pandas, mpl)", imports)
    from poll_helpers import MFH, T3, T5, editions

    from bot.config import load_settings
    from bot.data.load import panel_from_bytes, read_dir
    from bot.notify.people.view import ReleaseView
    from bot.notify.release.dispatch import Dispatcher
    from bot.store.db import connect
    from bot.store.subscribers import Subscribers

    settings = load_settings(env={})
    rules = settings.rules()
    real = read_dir(args.data)
    eds = editions(
        lambda name: real[name], (args.data.parent / "2026-03-18" / "mfhhis01.txt").read_bytes(), table1=True
    )
    march = {**real, **eds["2026-03"]}
    april = {**real, T5: eds["2026-04"][T5]}  # the headline only: the companions come later
    del eds
    panel = steps.run("the bot's panel (the held files)", lambda: panel_from_bytes(march, settings.groups))
    view = steps.run(
        "the bot's view (ReleaseView: summary, candidates)", lambda p=panel: ReleaseView(p, rules)
    )
    conn = connect(":memory:")
    subs = Subscribers(conn)
    now = dt.datetime.now(dt.UTC)
    for chat in range(1, args.subscribers + 1):
        subs.touch(chat, "private", "", now)
        subs.set_subscribed(chat, True, now)
    fresh = steps.run(
        "the poller's panel of the new release", lambda: panel_from_bytes(april, settings.groups)
    )
    dispatcher = Dispatcher(conn, rules=rules, groups=settings.groups)

    def hand_over(panel):  # type: ignore[no-untyped-def]  # as `run`: compose, commit
        queued = dispatcher.compose("2026-04", ["2026-04"], panel)
        queued.commit()
        return queued

    queued = steps.run(f"compose for {args.subscribers} chats (+ charts)", lambda: hand_over(fresh))
    done = queued.done
    # as `run` does: the new view takes the hand-over's candidates and renderer, not built again
    view = steps.run(
        "the bot adopts it (new view; the old one still held)",
        lambda: ReleaseView(fresh, rules, queued.candidates, queued.messages),
    )
    del panel  # the old view and its panel go once the new view is in place
    # the hand-over (its rows and their texts) goes when the poll that made it returns (the
    # poller keeps it in a local of Poller._hand_over): the companion comes on a later poll
    del queued
    companions = {**april, T3: real[T3], MFH: real[MFH]}
    fresh = steps.run(
        "a companion arrives: the poller's panel again", lambda: panel_from_bytes(companions, settings.groups)
    )
    queued = steps.run("compose the edits", lambda: hand_over(fresh))
    view = steps.run(
        "the bot adopts that one too", lambda: ReleaseView(fresh, rules, queued.candidates, queued.messages)
    )
    print(f"composed: {done}; view {view.month}")
    final, hwm = rss()
    print(f"peak RSS {hwm:.1f} MB; RSS at the end {final:.1f} MB")
    if steps.trace and args.top:
        name, *_ = max(steps.rows[2:], key=lambda r: r[4])  # after the imports (code objects, mostly)
        print(f"\nwhere the Python memory kept by '{name}' was allocated (tracemalloc, by file):")
        for stat in steps.kept[name].statistics("filename")[: args.top]:
            where = stat.traceback[0].filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
            print(f"  {stat.size / 2**20:7.2f} MB  {stat.count:8d} blocks  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
