"""Bytes and detection delay of the release poller over simulated release hours.

Each run simulates 15:59-16:59 ET on an official release day (2026-06-18) with a 1 s tick on an
injected clock; the poller talks real HTTP to the fake Treasury server (tests/treasury_server.py),
whose editions switch on the same simulated clock. The store already holds the previous
release (data through 2026-03, derived from the real files by tests/vintages.py). The new
release's four live files (slt_table5.txt and its companions slt_table3.txt, mfhhis01.txt,
mfhhis01.csv) appear at independent random moments in 16:00-16:15 ET ("in random groups during
the next 15 minutes"); the publish moment is when slt_table5.txt appears.

* bytes: everything on the wire for the hour (request + response, headers + bodies), with
  conditional GET and with the same poller sending no validators.
* delay: publish moment → detection, i.e. the simulated time of the poll that found the release
  plus that poll's real duration (HTTP round trip, parse, store).
* delay with a timeout: the same, when every attempt of the first headline poll after the publish
  moment times out (the fake's "timeout" fault, held longer than the read timeout), with the
  request budget `tic-alert poll` uses (bot.data.fetch.request_budget for the default settings).
  A tick lasts as long as its poll; the simulated clock moves on by that real time.

Usage: python bench/poll.py [DATA_DIR] [--runs N] [--fault-runs N] [--seed S]
Targets (issue 3): bytes ratio ≤ 1/50; delay median ≤ interval/2 + 1 s, max ≤ interval + 2 s;
(issue 9) with one timed-out poll, delay ≤ 2 × interval.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from poll_helpers import MFH, MFH_CSV, T3, T5, SimClock, editions, et, make_poller  # noqa: E402
from treasury_server import FakeTreasury  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.data.fetch import RequestBudget, request_budget  # noqa: E402
from bot.store.state import Store  # noqa: E402
from bot.watch.outcomes import PollOutcome  # noqa: E402

DAY = (2026, 6, 18)
LIVE = (T5, T3, MFH, MFH_CSV)  # the release's files that change (the reference files do not)


def one_hour(
    eds: dict,
    moments: dict[str, float],
    conditional: bool,
    quiet: bool = False,
    timeout_fault: tuple[RequestBudget, float] | None = None,
) -> dict:
    """Simulate one hour; returns bytes by file, request counts and the detection delay.

    ``timeout_fault``: (the request budget, its backoff factor): the poller uses them, and every
    attempt of the first headline poll at or after the publish moment times out."""
    clock = SimClock(et(*DAY, 15, 58))
    budget = timeout_fault[0] if timeout_fault else None
    hang = budget.read + 1.0 if budget else 1.0  # the fake holds its answer past the read timeout
    with FakeTreasury(clock=clock.epoch, hang_seconds=hang) as server:
        server.publish_all(eds["2026-03"])
        if not quiet:
            for name, at in moments.items():
                server.publish(name, eds["2026-04"][name], at)
        store = Store(":memory:")
        if timeout_fault is None:
            poller, _ = make_poller(store, server.url, clock, conditional=conditional, retries=1)
        else:
            budget, factor = timeout_fault
            poller, _ = make_poller(
                store,
                server.url,
                clock,
                timeout=budget.timeout,  # type: ignore[arg-type]
                conditional=conditional,
                retries=budget.retries,
                retry_backoff_factor=factor,
            )
        # 15:58: the store takes the previous release and its companions before the hour starts
        assert poller.poll().outcome == PollOutcome.NEW_RELEASE and not store.open_releases()
        server.reset_counters()
        clock.now = et(*DAY, 15, 59).astimezone(dt.UTC)
        end = et(*DAY, 16, 59)
        delay = None
        injected = budget is None
        failed: list[float] = []  # real seconds of each failed poll
        while clock() < end:
            if not injected and clock.epoch() >= moments[T5]:
                server.inject(T5, "timeout", budget.retries + 1)  # every attempt of the next poll
                injected = True
            t0 = time.perf_counter()
            result = poller.tick()
            took = time.perf_counter() - t0
            if result is not None and result.outcome == PollOutcome.ERROR:
                failed.append(took)
            if result is not None and result.outcome == PollOutcome.NEW_RELEASE and delay is None:
                delay = clock.epoch() - moments[T5] + took
            # the loop ticks every second; a tick longer than that delays the next by its length
            clock.advance(1.0 + (took if took >= 1.0 else 0.0))
        statuses = [s.status for s in server.seen]
        out = {
            "bytes": server.bytes_sent + server.bytes_received,
            "down": server.bytes_sent,
            "by_file": dict(server.bytes_by_path),
            "requests": len(statuses),
            "not_modified": statuses.count(304),
            "delay": delay,
            "failed": failed,
            "releases": [r.month for r in store.releases()],
        }
        store.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", nargs="?", type=Path, default=ROOT.parent / "shared" / "data" / "tic")
    ap.add_argument("--runs", type=int, default=24)
    ap.add_argument(
        "--fault-runs",
        type=int,
        default=12,
        help="how many of those publish moments to run again with a timed-out poll (default 12)",
    )
    ap.add_argument("--seed", type=int, default=20261125)
    args = ap.parse_args()
    snap = args.data_dir / "2026-07-01"
    eds = editions(
        lambda n: (snap / n).read_bytes(), (args.data_dir / "2026-03-18" / "mfhhis01.txt").read_bytes()
    )
    rng = random.Random(args.seed)
    start = et(*DAY, 16, 0).timestamp()
    interval = 15.0
    t_start = time.perf_counter()
    with_c, without_c, delays = [], [], []
    for _ in range(args.runs):
        moments = {name: start + rng.uniform(0, 15 * 60) for name in LIVE}
        a = one_hour(eds, moments, conditional=True)
        a["moments"] = moments
        b = one_hour(eds, moments, conditional=False)
        assert a["releases"] == b["releases"] == ["2026-03", "2026-04"], (a["releases"], b["releases"])
        with_c.append(a)
        without_c.append(b)
        delays.append(a["delay"])
    settings = load_settings(env={})
    logging.getLogger("tic_alert").setLevel(logging.ERROR)  # the timed-out polls' warnings are expected
    ps = settings.poller
    budget = request_budget(
        ps.in_window_seconds, settings.timeout_seconds, ps.retries, ps.retry_backoff_factor
    )
    faulted = []
    for a in with_c[: args.fault_runs]:
        f = one_hour(eds, a["moments"], conditional=True, timeout_fault=(budget, ps.retry_backoff_factor))
        assert f["releases"] == ["2026-03", "2026-04"] and len(f["failed"]) == 1, (f["releases"], f["failed"])
        faulted.append(f)
    quiet_a = one_hour(eds, {}, conditional=True, quiet=True)
    quiet_b = one_hour(eds, {}, conditional=False, quiet=True)
    elapsed = time.perf_counter() - t_start

    def mean(rows: list[dict], key: str, file: str | None = None) -> float:
        return statistics.mean(r["by_file"].get(file, 0) if file else r[key] for r in rows)

    print(
        f"poller bench: {args.runs} simulated release hours 15:59-16:59 ET on 2026-06-18, "
        f"in-window interval {interval:g} s, tick 1 s, seed {args.seed}; real HTTP to the fake server"
    )
    print("bytes on the wire per hour (requests + responses, headers + bodies), mean over runs:")
    wa, wb = mean(with_c, "bytes"), mean(without_c, "bytes")
    print(
        f"  release hour, all files   with conditional GET {wa:>12,.0f}   without {wb:>12,.0f}   "
        f"ratio 1/{wb / wa:,.1f}"
    )
    for name in LIVE:
        fa, fb = mean(with_c, "", name), mean(without_c, "", name)
        print(f"    {name:<22}  with {fa:>12,.0f}   without {fb:>12,.0f}   ratio 1/{fb / fa:,.1f}")
    qa, qb = quiet_a["bytes"], quiet_b["bytes"]
    print(
        f"  quiet hour (no release)   with conditional GET {qa:>12,.0f}   without {qb:>12,.0f}   "
        f"ratio 1/{qb / qa:,.1f}"
    )
    da, db = mean(with_c, "down"), mean(without_c, "down")
    print(f"  responses only, release hour: with {da:,.0f}  without {db:,.0f}  ratio 1/{db / da:,.1f}")
    qda, qdb = quiet_a["down"], quiet_b["down"]
    print(f"  responses only, quiet hour:   with {qda:,.0f}  without {qdb:,.0f}  ratio 1/{qdb / qda:,.1f}")
    new_bodies = sum(len(eds["2026-04"][n]) for n in LIVE)
    print(
        f"  the new release's {len(LIVE)} files are {new_bodies:,} bytes, fetched once in either mode; "
        f"polling overhead beyond them: with {wa - new_bodies:,.0f}, without {wb - new_bodies:,.0f}, "
        f"ratio 1/{(wb - new_bodies) / (wa - new_bodies):,.1f}"
    )
    print(
        f"  requests per release hour: {mean(with_c, 'requests'):.0f} "
        f"({mean(with_c, 'not_modified'):.0f} answered 304) with, {mean(without_c, 'requests'):.0f} without"
    )
    print("  target: ratio <= 1/50")
    med, worst = statistics.median(delays), max(delays)
    print(
        f"detection delay over {len(delays)} random publish moments: median {med:.2f} s, "
        f"max {worst:.2f} s, min {min(delays):.2f} s"
    )
    print(
        f"  targets: median <= interval/2 + 1 = {interval / 2 + 1:.1f} s "
        f"({'met' if med <= interval / 2 + 1 else 'MISSED'}), "
        f"max <= interval + 2 = {interval + 2:.1f} s ({'met' if worst <= interval + 2 else 'MISSED'})"
    )
    if faulted:
        fd = [f["delay"] for f in faulted]
        fmed, fworst = statistics.median(fd), max(fd)
        lost = [t for f in faulted for t in f["failed"]]
        print(
            f"detection delay with one timed-out poll (every attempt of the first headline poll after the "
            f"publish moment times out), over the first {len(fd)} of those moments: median {fmed:.2f} s, "
            f"max {fworst:.2f} s, min {min(fd):.2f} s"
        )
        print(
            f"  request budget for a {ps.in_window_seconds:g} s interval: connect {budget.connect:.2f} s, "
            f"read {budget.read:.2f} s, retries {budget.retries}, worst case "
            f"{budget.worst_case(ps.retry_backoff_factor):.2f} s; the timed-out poll took "
            f"{statistics.mean(lost):.2f} s on average (max {max(lost):.2f} s)"
        )
        target = 2 * ps.in_window_seconds
        print(f"  target: max <= 2 x interval = {target:.0f} s ({'met' if fworst <= target else 'MISSED'})")
    print(f"wall time {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
