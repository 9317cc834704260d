"""The flood drill (issue 17): `tic-alert serve` as a real process, commands poured in through the
fake Bot API, which enforces Telegram's limits (30 messages/s overall, 1/s per chat).

(a) one chat sends ``--commands`` (2,000) commands at once;
(b) ``--chats`` (500) chats each send /chart and /backtest at once, while a quiet chat sends /next
    every ``--quiet-every`` seconds.

Every accepted command is owed its reply: a command the bot's per-chat limit admits
(``[telegram] commands_per_minute`` in any 60 s, docs/commands.md) is owed as many messages as it gets
when asked alone (measured first, by a calibration chat, one command at a time); a flood beyond
the limit is owed one "slow down" notice. Printed: replies owed, received and lost, 429s the bot
drew, the quiet chat's reply latency (p50, p99, max, unanswered), and the log lines with
tracebacks. Targets: lost 0, 429s 0, quiet p99 ≤ 1 s.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from telegram_server import TelegramServer

from bot.config import load_settings

CHEAP = ("/next", "/status", "/help", "/watching")
HEAVY = ("/chart japan", "/backtest record-3m-decline")
CALIBRATION_CHAT = 777_777
QUIET_CHAT = 999_999


class Serve:
    """`tic-alert serve --data-dir DIR` against a fresh fake Bot API and database."""

    def __init__(self, data_dir: Path, tag: str, keep: bool = False):
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tic-drill-flood-{tag}-"))
        self.keep = keep  # False: the folder (database, log) goes when the drill ends
        self.data_dir = data_dir
        self.server = TelegramServer()  # Telegram's limits on
        self.log = self.tmp / "serve.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Serve:
        self.server.start()
        env = {
            **os.environ,
            "TIC_ALERT_BOT_TOKEN": "42:FLOOD",
            "TIC_ALERT_TELEGRAM_API_URL": self.server.base_url,
            "TIC_ALERT_DB": str(self.tmp / "flood.db"),
        }
        env.pop("TIC_ALERT_CONFIG", None)  # the shipped settings, as an operator runs them
        out = open(self.log, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--data-dir", str(self.data_dir)],
            env=env,
            stdout=out,
            stderr=out,
        )
        self.server.wait_for(lambda s: s.commands, timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
        self.server.close()
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def calibrate(self, commands: tuple[str, ...]) -> dict[str, int]:
        """Messages each command gets when asked alone (one at a time, 1.5 s apart)."""
        counts = {}
        for text in commands:
            before = len(self.server.sent(CALIBRATION_CHAT))
            self.server.user_message(CALIBRATION_CHAT, text)
            self.server.wait_for(before + 1, timeout=60, chat_id=CALIBRATION_CHAT)
            time.sleep(1.5)  # any further messages of the reply, and the chat's 1/s
            counts[text] = len(self.server.sent(CALIBRATION_CHAT)) - before
        return counts

    def settle(self, owed: int, chats: set[int], quiet_for: float = 20.0, limit: float = 600.0) -> float:
        """Wait until ``owed`` messages reached ``chats`` or nothing arrived for ``quiet_for`` s."""
        started = last_change = time.monotonic()
        seen = -1
        while time.monotonic() - started < limit:
            got = sum(1 for s in self.server.sent() if s.chat_id in chats)
            if got != seen:
                seen, last_change = got, time.monotonic()
            if got >= owed or time.monotonic() - last_change > quiet_for:
                break
            time.sleep(0.5)
        return time.monotonic() - started

    def dropped(self) -> Counter[int]:
        """Replies the bot logged as failed, by chat."""
        found = re.findall(r"reply to chat (-?\d+) failed", self.log.read_text(errors="replace"))
        return Counter(int(chat) for chat in found)

    def tracebacks(self) -> tuple[int, Counter[str]]:
        """Tracebacks in the log, and its ERROR lines by their message (numbers stripped)."""
        lines = self.log.read_text(errors="replace").splitlines()
        errors = Counter(
            "".join("N" if c.isdigit() else c for c in line.split(" ERROR ", 1)[1])[:100]
            for line in lines
            if " ERROR " in line
        )
        return sum("Traceback (most recent call last)" in line for line in lines), errors


def one_chat(data_dir: Path, commands: int, per_minute: int, keep: bool = False) -> dict:
    """(a) one chat sends ``commands`` commands at once."""
    with Serve(data_dir, "one", keep) as bot:
        each = bot.calibrate(CHEAP)
        asked = [CHEAP[i % len(CHEAP)] for i in range(commands)]
        for text in asked:
            bot.server.user_message(1, text)
        admitted = asked[:per_minute]
        owed = sum(each[t] for t in admitted) + (1 if commands > per_minute else 0)
        took = bot.settle(owed, {1})
        sent = bot.server.sent(1)
        notices = sum("Too many commands" in (s.text or "") for s in sent)
        traces, errors = bot.tracebacks()
        dropped = bot.dropped()[1]
        return {
            "owed": owed,
            "got": len(sent),
            "answers": len(sent) - notices,
            "notices": notices,
            "lost": max(0, owed - len(sent)),
            "dropped": dropped,
            "429": bot.server.count_429,
            "tracebacks": traces,
            "errors": errors,
            "took": took,
            "log": bot.log if keep else None,
        }


def many_chats(data_dir: Path, chats: int, quiet_every: float, keep: bool = False) -> dict:
    """(b) ``chats`` chats × /chart + /backtest at once; a quiet chat asks /next meanwhile."""
    with Serve(data_dir, "many", keep) as bot:
        each = bot.calibrate((*HEAVY, "/next"))
        owed_per_chat = sum(each[t] for t in HEAVY)
        asked_at: list[float] = []
        stop = threading.Event()

        def quiet() -> None:
            while not stop.is_set():
                asked_at.append(time.monotonic())
                bot.server.user_message(QUIET_CHAT, "/next")
                stop.wait(quiet_every)

        for chat in range(1, chats + 1):
            for text in HEAVY:
                bot.server.user_message(chat, text)
        asker = threading.Thread(target=quiet, daemon=True)
        asker.start()
        took = bot.settle(owed_per_chat * chats, set(range(1, chats + 1)))
        stop.set()
        asker.join()
        bot.settle(len(asked_at) * each["/next"], {QUIET_CHAT})  # late answers count as late, not lost
        got = Counter(s.chat_id for s in bot.server.sent() if 1 <= s.chat_id <= chats)
        replies = [s.at for s in bot.server.sent(QUIET_CHAT)]
        latencies, unanswered = _match(asked_at, replies)
        traces, errors = bot.tracebacks()
        dropped = bot.dropped()
        return {
            "owed": owed_per_chat * chats,
            "got": sum(got.values()),
            "lost": sum(max(0, owed_per_chat - got[c]) for c in range(1, chats + 1)),
            "chats_short": sum(1 for c in range(1, chats + 1) if got[c] < owed_per_chat),
            "429": bot.server.count_429,
            "quiet": latencies,
            "quiet_asked": len(asked_at),
            "dropped_quiet": dropped[QUIET_CHAT],
            "dropped_heavy": sum(n for chat, n in dropped.items() if chat != QUIET_CHAT),
            "unanswered": unanswered,
            "tracebacks": traces,
            "errors": errors,
            "took": took,
            "log": bot.log if keep else None,
        }


def _match(asked: list[float], replies: list[float]) -> tuple[list[float], int]:
    """Each /next's latency: the first reply after it not taken by an earlier one."""
    latencies: list[float] = []
    pending = sorted(replies)
    unanswered = 0
    for at in asked:
        later = [r for r in pending if r >= at]
        if not later:
            unanswered += 1
            continue
        pending.remove(later[0])
        latencies.append(later[0] - at)
    return latencies, unanswered


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))] if ordered else float("nan")


def run(data_dir: Path, commands: int, chats: int, quiet_every: float, keep: bool = False) -> None:
    per_minute = load_settings(env={}).telegram.commands_per_minute
    a = one_chat(data_dir, commands, per_minute, keep)
    print(
        f"flood (a) one chat × {commands} commands (limit {per_minute}/min): replies owed {a['owed']} "
        f"({per_minute} answers + 1 slow-down notice), received {a['got']} ({a['answers']} answers, "
        f"{a['notices']} notices), lost {a['lost']} ({a['dropped']} logged as failed replies); "
        f"429s drawn {a['429']}; log: {a['tracebacks']} tracebacks"
    )
    _errors(a)
    b = many_chats(data_dir, chats, quiet_every, keep)
    q = b["quiet"]
    print(
        f"flood (b) {chats} chats × /chart + /backtest at once: replies owed {b['owed']}, received "
        f"{b['got']}, lost {b['lost']} ({b['chats_short']} chats short); 429s drawn {b['429']}; "
        f"all in {b['took']:.0f} s; log: {b['tracebacks']} tracebacks"
    )
    print(
        f"  quiet chat /next every {quiet_every:g} s: {b['quiet_asked']} asked, {len(q)} answered, "
        f"{b['unanswered']} never answered ({b['dropped_quiet']} logged as failed replies; "
        f"{b['dropped_heavy']} of the heavy chats' too); latency p50 {percentile(q, 0.5):.2f} s, "
        f"p99 {percentile(q, 0.99):.2f} s, max {max(q, default=float('nan')):.2f} s"
    )
    _errors(b)
    print("(targets: lost 0, 429s drawn 0, quiet chat p99 ≤ 1 s, no tracebacks)")


def _errors(result: dict) -> None:
    for line, n in result["errors"].most_common(4):
        print(f"    {n} × ERROR {line}")
    if result["log"] is not None:
        print(f"    log {result['log']}")
