"""A companion hand-over's cost at N subscribers: what each chat was told, read back and planned.

slt_table5 is handed over first (every chat's alert queued, as bench/fanout.py does), then
slt_table3 (a companion: each chat's rows of the release are read back, planned and the edits
rendered). Printed: the first hand-over's compose, then the companion's compose (best of
``--repeat``; compose writes nothing, so it repeats the same work) and within it the read of what
each chat was told, and how many rows that read and how many edits it queued.

Usage: python bench/handover.py [DATA_DIR] [--subscribers 10000] [--seed 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fanout import populate  # noqa: E402
from poll_helpers import MFH, MFH_CSV, T3, T5, editions  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.data.load import panel_from_bytes, read_dir  # noqa: E402
from bot.notify.release.dispatch import Dispatcher  # noqa: E402
from bot.rules.catalogue import load_rules  # noqa: E402
from bot.store.db import connect  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    tic = ROOT.parent / "shared" / "data" / "tic"
    ap.add_argument("data_dir", nargs="?", default=str(tic / "2026-07-01"))  # beside it: 2026-03-18
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    data = Path(args.data_dir)
    march_mfh = (data.parent / "2026-03-18" / MFH).read_bytes()  # the March edition of mfhhis01
    eds = editions(lambda name: (data / name).read_bytes(), march_mfh)
    settings = load_settings(env={})
    rules = load_rules(settings.groups)
    files = read_dir(data)
    frozen = {n: b for n, b in files.items() if n not in (T5, T3, MFH, MFH_CSV)}
    march, april = eds["2026-03"], eds["2026-04"]
    first = panel_from_bytes({**frozen, **march, T5: april[T5]}, settings.groups)
    companion = panel_from_bytes({**frozen, **march, T5: april[T5], T3: april[T3]}, settings.groups)

    conn = connect(Path(tempfile.mkdtemp(prefix="tic-bench-handover-")) / "handover.db")
    populate(conn, args.subscribers, random.Random(args.seed))
    dispatcher = Dispatcher(conn, rules=rules, groups=settings.groups)
    t0 = time.perf_counter()
    with conn:
        done = dispatcher.dispatch("2026-04", ["2026-04"], first)
    print(
        f"{args.subscribers} subscribers: slt_table5's hand-over composed {done.alerts} alerts in "
        f"{time.perf_counter() - t0:.2f} s"
    )

    read = dispatcher.outbox.told
    timings: list[tuple[float, float]] = []

    def timed_read(release: str):  # the read of what each chat was told, inside compose
        start = time.perf_counter()
        rows = read(release)
        timings[-1] = (timings[-1][0], time.perf_counter() - start)
        return rows

    dispatcher.outbox.told = timed_read  # type: ignore[method-assign]
    for _ in range(args.repeat):
        timings.append((0.0, 0.0))
        start = time.perf_counter()
        queued = dispatcher.compose("2026-04", ["2026-04"], companion)
        timings[-1] = (time.perf_counter() - start, timings[-1][1])
    best, told = min(timings)
    rows = len(read("2026-04"))
    print(
        f"slt_table3's hand-over: compose {best:.2f} s (best of {args.repeat}), of which reading what "
        f"each chat was told {told:.2f} s ({rows} rows); queued {queued.done.edits} edits, "
        f"{queued.done.followups} follow-ups"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
