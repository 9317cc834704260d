"""Fuzz the parsers with realistic mutants of every real file a parser reads (issue 9: never a
wrong alert).

Each mutant replaces one file and runs through the steps of ``tic-alert check --data-dir``: parse
every file, check the release months, build the panel, evaluate the default rules for the newest
month. Outcomes per file:

  error      a clear ParseError / TicAlertError
  crash      any other exception (a bug)
  hang       the parse takes over the time budget (default 2 s; the worker process is killed),
             or panel and rules over ten times that
  same       accepted, the file's figures unchanged
  changed    accepted, figures changed, the release's events the same as the unmutated run's
  flagged    accepted, figures changed, events differ, but the panel says so (suspect cells or a
             new warning)
  WRONG      accepted, figures changed, events differ, no error and no flag (target: 0)

Usage: python bench/fuzz.py [DATA_DIR] [--mutants N] [--seed S] [--budget SECONDS] [--files a,b]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from mutate import mutants  # noqa: E402

from bot.data.entities import DEFAULT_GROUPS  # noqa: E402
from bot.data.load import check_release_months  # noqa: E402
from bot.data.panel import build_panel  # noqa: E402
from bot.data.parse import PARSERS, ParsedFile, parse_file  # noqa: E402
from bot.errors import TicAlertError  # noqa: E402
from bot.render.export import event_dict  # noqa: E402
from bot.rules.catalogue import load_rules  # noqa: E402
from bot.rules.release import evaluate  # noqa: E402

FILES = list(PARSERS)
OUTCOMES = ("error", "crash", "hang", "same", "changed", "flagged", "WRONG")
DEFAULT_DIR = ROOT.parent / "shared" / "data" / "tic" / "2026-07-01"


def _key(frame: Any) -> Any:
    return frame.sort_values(["entity", "series", "period"], kind="stable").reset_index(drop=True)


class Harness:
    """The unmutated run, parsed once; :meth:`outcome` runs one mutant of one file."""

    def __init__(self, files: dict[str, bytes]):
        self.groups = DEFAULT_GROUPS
        self.rules = load_rules(self.groups)
        self.parsed = {n: parse_file(n, d) for n, d in files.items()}
        self.sorted = {n: _key(p.frame) for n, p in self.parsed.items()}
        self.events = self._events(self.parsed)[0]

    def _events(self, parsed: dict[str, ParsedFile]) -> tuple[list[dict[str, Any]], bool]:
        check_release_months(list(parsed.values()))
        panel = build_panel(parsed.values(), self.groups)
        events = [event_dict(e) for e in evaluate(panel, self.rules)]
        return events, not panel.suspect.empty

    def outcome(self, name: str, data: bytes, parsed: Any = None) -> tuple[str, str]:
        try:
            pf = parse_file(name, data)
        except TicAlertError as err:
            return "error", str(err)
        except Exception as err:  # a bug
            return "crash", f"{type(err).__name__}: {err}"
        finally:
            if parsed is not None:
                parsed()  # the parse is over: the rest (panel, rules) is not a parser hang
        base = self.parsed[name]
        new = _key(pf.frame)
        old = self.sorted[name]
        if pf.vintage == base.vintage and new.drop(columns="vintage").equals(old.drop(columns="vintage")):
            return "same", ""
        warned = bool(set(pf.warnings) - set(base.warnings))
        try:
            events, suspect = self._events({**self.parsed, name: pf})
        except TicAlertError as err:
            return "error", str(err)
        except Exception as err:
            return "crash", f"{type(err).__name__}: {err}"
        if events == self.events:
            return "changed", ""
        if suspect or warned:
            return "flagged", ""
        before = {(e["rule"], e["entity"]) for e in self.events}
        after = {(e["rule"], e["entity"]) for e in events}
        if before != after:
            return "WRONG", f"events +{sorted(after - before)} -{sorted(before - after)}"
        a, b = next((a, b) for a, b in zip(self.events, events) if a != b)
        fields = [k for k in a if a[k] != b.get(k)]
        return "WRONG", f"{a['rule']} {a['entity']}: {', '.join(fields)} differ"


def _worker(harness: Harness, conn: Any) -> None:
    while True:
        job = conn.recv()
        if job is None:
            return
        conn.send(harness.outcome(*job, parsed=lambda: conn.send("parsed")))


class Runner:
    """Runs mutants in a forked worker that inherits the harness; a hang kills and replaces it."""

    def __init__(self, harness: Harness, budget: float):
        self.harness, self.budget = harness, budget
        self.ctx = mp.get_context("fork")
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(self.harness, child), daemon=True)
        self.proc.start()

    def run(self, name: str, data: bytes) -> tuple[str, str]:
        self.conn.send((name, data))
        # the budget is the parse's; panel and rules (about 1 s) get ten times as long
        if self.conn.poll(self.budget) and self.conn.recv() == "parsed" and self.conn.poll(10 * self.budget):
            return self.conn.recv()
        self.proc.kill()
        self.proc.join()
        self._start()
        return "hang", f"over {self.budget:g} s"

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(5)


def fuzz(
    directory: Path,
    count: int,
    seed: int,
    budget: float = 2.0,
    names: list[str] | None = None,
    out: Any = None,
    without: tuple[str, ...] = (),
) -> dict[str, Counter[str]]:
    """Run ``count`` mutants of each file; print per-file counts (and every WRONG/crash/hang) to ``out``.

    ``without``: files left out of the run (e.g. ``mfhhis01.csv``, the twin that cross-checks
    mfhhis01.txt), to see what the remaining files catch alone."""
    files = {n: (directory / n).read_bytes() for n in FILES if n not in without}
    harness = Harness(files)
    runner = Runner(harness, budget)
    results: dict[str, Counter[str]] = {}
    try:
        for name in names or list(files):
            counts: Counter[str] = Counter()
            for kind, data in mutants(files[name], name, count, seed):
                outcome, detail = runner.run(name, data)
                counts[outcome] += 1
                if outcome in ("WRONG", "crash", "hang") and out is not None:
                    print(f"    {name} {kind}: {outcome} {detail[:160]}", file=out)
            results[name] = counts
            if out is not None:
                print(f"  {name:<16} " + " ".join(f"{o}={counts[o]}" for o in OUTCOMES), file=out, flush=True)
    finally:
        runner.close()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir", nargs="?", default=str(DEFAULT_DIR))
    ap.add_argument("--mutants", type=int, default=300, help="mutants per file (default 300)")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--budget", type=float, default=2.0, help="seconds before a mutant counts as a hang")
    ap.add_argument("--files", help="comma-separated file names to mutate (default: all of them)")
    ap.add_argument("--without", default="", help="comma-separated file names left out of every run")
    args = ap.parse_args()
    d = Path(args.data_dir)
    missing = [n for n in FILES if not (d / n).is_file()]
    if missing:
        print(f"bench/fuzz.py: missing {', '.join(missing)} in {d}", file=sys.stderr)
        return 2
    names = args.files.split(",") if args.files else None
    print(f"fuzz: {args.mutants} mutants per file, seed {args.seed}, budget {args.budget:g} s, from {d}")
    t0 = time.perf_counter()
    without = tuple(n for n in args.without.split(",") if n)
    if without:
        print(f"without: {', '.join(without)}")
    results = fuzz(d, args.mutants, args.seed, args.budget, names, sys.stdout, without)
    total: Counter[str] = Counter()
    for counts in results.values():
        total.update(counts)
    print(f"  {'all':<16} " + " ".join(f"{o}={total[o]}" for o in OUTCOMES))
    print(
        f"{sum(total.values())} mutants in {time.perf_counter() - t0:.0f} s; target WRONG=0, hang=0, crash=0"
    )
    return 1 if total["WRONG"] or total["hang"] or total["crash"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
