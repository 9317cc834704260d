"""The bot behind a misbehaving front for the fake Bot API (tests/telegram_front.py), every mode.

    python bench/drill_front.py [--chats 50] [--modes drip,continue,gzip,chunked,close,idle,cut]

For each mode: the real bot (`RunningBot`: python-telegram-bot, the engine, the aiohttp
transport) talks to the fake Bot API through the front; each chat sends /start, then an alert
with a chart is queued for every chat in the outbox. Printed per mode: what the front altered,
replies and alerts per chat (every chat must get each, at most one extra copy), rows failed, and
the distinct log lines about trouble (one kind a line). ``drip`` drips the sends' answers a byte
every 10 ms with a 1 s request timeout (each answer takes longer than the timeout; every read
is well within it); ``cut`` cuts every 7th send's answer mid-body (the message arrived: an
unknown outcome).
"""

from __future__ import annotations

import argparse
import collections
import logging
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from telegram_front import SENDS  # noqa: E402
from test_front_drills import RELEASE, behind_front, trouble  # noqa: E402

from bot.notify.outbound.engine import ANSWER_NEVER_CAME  # noqa: E402
from bot.store.outbox import DeliveryState, Outbox  # noqa: E402
from bot.store.state import Store  # noqa: E402

MODES = {
    "drip": {"methods": SENDS, "interval": 0.01},
    "continue": {},
    "gzip": {},
    "chunked": {},
    "close": {},
    "idle": {},
    "cut": {"every": 7},
}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def kinds(lines: list[str]) -> list[str]:
    """Trouble lines with their chat ids, delivery ids and numbers blanked: one per kind."""
    seen: dict[str, str] = {}
    for line in trouble(lines):
        key = re.sub(r"\d+", "N", line)
        seen.setdefault(key, line)
    return list(seen.values())


def run(mode: str, chats: range, tmp: Path) -> dict[str, object]:
    handler = Lines()
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    timeout = 1.0 if mode == "drip" else 10.0
    db = tmp / f"{mode}.db"
    started = time.monotonic()
    try:
        sent, altered = behind_front(db, mode, chats, timeout, **MODES[mode])
    finally:
        logging.getLogger().removeHandler(handler)
    store = Store(db)
    failed = [r.detail for r in Outbox(store.conn).of_release(RELEASE) if r.state == DeliveryState.FAILED]
    store.close()
    answers = collections.Counter(s.chat_id for s in sent if s.method == "sendMessage")
    alerts = collections.Counter(s.chat_id for s in sent if s.method == "sendPhoto")
    return {
        "altered": altered,
        "answers": collections.Counter(answers[c] for c in chats),
        "alerts": collections.Counter(alerts[c] for c in chats),
        "failed": sum(1 for d in failed if ANSWER_NEVER_CAME not in d),
        "unknown": len(failed) - sum(1 for d in failed if ANSWER_NEVER_CAME not in d),
        "kinds": kinds(handler.lines),
        "seconds": time.monotonic() - started,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chats", type=int, default=50)
    ap.add_argument("--modes", default=",".join(MODES))
    args = ap.parse_args()
    chats = range(601, 601 + args.chats)
    worst = 0
    with tempfile.TemporaryDirectory(prefix="tic-front-") as tmp:
        for mode in args.modes.split(","):
            r = run(mode, chats, Path(tmp))
            per = lambda c: ", ".join(f"{n}×{k}" for k, n in sorted(c.items()))  # noqa: E731
            print(f"{mode:9} altered {r['altered']}; {r['seconds']:.0f} s")
            print(f"          replies per chat: {per(r['answers'])}; alerts per chat: {per(r['alerts'])}")
            print(
                f"          rows failed {r['failed']}, given up after two unknown outcomes {r['unknown']};"
                f" trouble lines, one a kind: {len(r['kinds'])}"
            )
            for line in r["kinds"]:  # type: ignore[union-attr]
                print(f"            {line[:160]}")
            copies = max(*r["answers"], *r["alerts"])  # type: ignore[misc]
            worst = max(worst, copies)
            unanswered = r["answers"].get(0, 0) + r["alerts"].get(0, 0)  # type: ignore[union-attr]
            if unanswered or copies > 2 or r["failed"]:
                print(f"          FAILED: {unanswered} chats missed one; at most {copies} copies")
    print(f"most copies of one message to one chat, over every mode: {worst} (target ≤ 2)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
