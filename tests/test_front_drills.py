"""The bot behind a misbehaving front (tests/telegram_front.py): what the wire may do (1xx, gzip,
chunked, answers that drip) costs nothing; connections closed after each answer or while idle
cost at most a retry; answers cut mid-way (the message reached Telegram, the bot never learns
it) cost at most one extra copy, and the log says why (an unknown outcome).

Each drill: ten chats send /start and get exactly one answer (two at most for ``cut``), then a
release alert queued for them in the outbox reaches every chat, no message more than twice."""

from __future__ import annotations

import asyncio
import collections
import logging
import time

import pytest
from bot_helpers import TOKEN, RunningBot
from sender_helpers import PNG
from telegram import Bot
from telegram_front import SENDS, TelegramFront
from telegram_server import TelegramServer
from waits import wait_until

from bot.notify.outbound.transport import AiohttpRequest, UnknownOutcome
from bot.notify.patience import until_telegram_answers
from bot.notify.settings import TelegramSettings
from bot.store.outbox import DeliveryKind, NewDelivery, Outbox
from bot.store.state import Store
from bot.watch.outcomes import utc_now

CHATS = range(501, 511)
RELEASE = "2026-04"


def test_every_mode_carries_calls_a_bot_makes():
    """getMe, a message, an upload, a file_id: through each mode with a plain Bot (quick)."""

    async def calls(front: TelegramFront) -> list[str]:
        async with Bot(TOKEN, base_url=front.base_url, request=AiohttpRequest(timeout=2.0)) as bot:
            texts = [(await bot.send_message(7, f"n° {i}")).text for i in range(3)]
            photo = await bot.send_photo(7, PNG, caption="chart")
            again = await bot.send_photo(8, photo.photo[-1].file_id, caption="again")
            return [*texts, photo.caption, again.caption]

    for mode in ("pass", "continue", "gzip", "chunked", "close", "idle"):
        with TelegramServer(limits=False) as server, TelegramFront(server, mode) as front:
            assert asyncio.run(calls(front)) == ["n° 0", "n° 1", "n° 2", "chart", "again"], mode
            assert len(server.sent()) == 5, mode
            assert front.altered[mode] >= 5 or mode in ("pass", "idle"), (mode, front.altered)


def test_a_cut_answer_is_an_unknown_outcome_though_the_message_arrived():
    async def calls(front: TelegramFront) -> None:
        async with Bot(TOKEN, base_url=front.base_url, request=AiohttpRequest(timeout=2.0)) as bot:
            for i in range(2):
                await bot.send_message(7, f"n° {i}")
            with pytest.raises(UnknownOutcome):
                await bot.send_message(7, "cut")
            await bot.send_message(7, "after")

    with TelegramServer(limits=False) as server, TelegramFront(server, "cut", every=3) as front:
        asyncio.run(calls(front))
        assert server.texts(7) == ["n° 0", "n° 1", "cut", "after"]
        assert front.altered["cut"] == 1


@pytest.mark.slow  # the getMe answer drips for some 3 s
def test_the_bot_starts_when_getme_drips_past_the_timeout():
    """Each read waits up to the timeout (1 s); the whole answer takes longer, and is read."""
    with (
        TelegramServer(limits=False) as server,
        TelegramFront(server, "drip", interval=0.01, methods=frozenset({"getMe"})) as front,
    ):
        settings = TelegramSettings(api_url=front.base_url, request_timeout_seconds=1)
        asyncio.run(asyncio.wait_for(until_telegram_answers(TOKEN, settings), 30))
        assert [c.method for c in server.calls()] == ["getMe"]  # once: never timed out
        assert front.altered["dripped"] == 1


@pytest.mark.slow  # some 40 s: the answer as the issue saw it, a byte each 100 ms
def test_a_send_answered_a_byte_each_100_ms_is_sent_once():
    """What made the hand-written client send each message 6–7 times: the whole answer takes
    some 40 s, past the 10 s timeout; each of its bytes comes well within it."""

    async def send(front: TelegramFront) -> str | None:
        async with Bot(TOKEN, base_url=front.base_url, request=AiohttpRequest(timeout=10.0)) as bot:
            return (await bot.send_message(7, "slow")).text

    with TelegramServer(limits=False) as server, TelegramFront(server, "drip", methods=SENDS) as front:
        started = time.monotonic()
        assert asyncio.run(send(front)) == "slow"
        assert time.monotonic() - started > 10.0
        assert len(server.calls("sendMessage")) == 1


def queue_alerts(db, chats: range) -> None:
    """An alert (a chart and its caption) for each chat, in the outbox, as a hand-over queues it."""
    store = Store(db)
    try:
        outbox = Outbox(store.conn)
        with store.conn:
            chart = outbox.add_chart(key=f"{RELEASE}:chart", png=PNG)
            rows = [
                NewDelivery(
                    f"{RELEASE}:{c}:0",
                    RELEASE,
                    c,
                    DeliveryKind.ALERT,
                    (f"<b>alert</b> for {c}",),
                    chart_id=chart,
                )
                for c in chats
            ]
            outbox.add_many(rows, now=utc_now())
    finally:
        store.close()


def drained(db) -> dict[str, int] | None:
    store = Store(db)
    try:
        counts = Outbox(store.conn).counts(RELEASE)
    finally:
        store.close()
    return counts if counts["pending"] == 0 and counts["sending"] == 0 else None


def behind_front(db, mode: str, chats: range, request_timeout: float = 10.0, **front) -> tuple[list, dict]:
    """The bot behind the front: /start from each chat, then an alert for each queued and sent;
    what the fake received, and what the front altered."""
    with (
        TelegramServer(limits=False) as server,
        TelegramFront(server, mode, **front) as proxy,
        RunningBot(proxy, db, request_timeout=request_timeout) as bot,
    ):
        for chat in chats:
            server.user_message(chat, "/start")
        for chat in chats:
            server.wait_for(1, timeout=120, chat_id=chat)
        queue_alerts(db, chats)
        bot.runtime.wake()
        wait_until(lambda: drained(db), timeout=300, what="the alerts sent", every=0.1)
        wait_until(lambda: all(len(server.sent(c)) >= 2 for c in chats), timeout=60, what="every alert")
        return server.sent(), dict(proxy.altered)


def drill(tmp_path, caplog, mode: str, request_timeout: float = 10.0, **front) -> dict[str, object]:
    """Run the bot behind the front: /start from each chat, then an alert for each; what arrived."""
    db = tmp_path / "front.db"
    caplog.set_level(logging.INFO)
    sent, altered = behind_front(db, mode, CHATS, request_timeout, **front)
    counts = drained(db)
    answers = collections.Counter(s.chat_id for s in sent if s.method == "sendMessage")
    alerts = collections.Counter(s.chat_id for s in sent if s.method == "sendPhoto")
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    return {"counts": counts, "answers": answers, "alerts": alerts, "lines": lines, "altered": altered}


def trouble(lines: list[str]) -> list[str]:
    """The log lines about a send that failed and went again."""
    words = ("unknown outcome", "sent again", "does not answer", "network:")
    return [line for line in lines if any(w in line for w in words)]


def check(result: dict[str, object], most: int = 1, given_up: int = 0) -> None:
    """Every chat answered and alerted, at most ``most`` copies; no row failed, but for up to
    ``given_up`` whose answer never came twice (not sent a third time: the chat has it anyway)."""
    counts = result["counts"]
    assert counts["failed"] <= given_up, counts  # type: ignore[index]
    assert counts["sent"] + counts["failed"] == len(CHATS), counts  # type: ignore[index]
    for name in ("answers", "alerts"):
        per_chat = result[name]
        assert set(per_chat) == set(CHATS), (name, per_chat)  # type: ignore[arg-type]
        assert all(1 <= n <= most for n in per_chat.values()), (name, per_chat, result["lines"])  # type: ignore[union-attr]


# the library's job: no retry, no extra copy, nothing to say
LIBRARY = {
    "continue": {},
    "gzip": {},
    "chunked": {},
    # sends answered a byte each 10 ms: 3–7 s an answer, each read well within the 1 s timeout
    "drip": {"methods": SENDS, "interval": 0.01, "request_timeout": 1.0},
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(LIBRARY))
def test_what_the_library_handles_costs_no_copy_and_no_line(tmp_path, caplog, mode: str):
    result = drill(tmp_path, caplog, mode, **LIBRARY[mode])
    print(mode, {k: v for k, v in result.items() if k != "lines"})
    check(result, most=1)
    lines = trouble(result["lines"])  # type: ignore[arg-type]
    if mode == "drip":  # 20 sends dripping for seconds on 16 connections: some wait past the 1 s
        lines = [line for line in lines if "Pool timeout" not in line]  # pool timeout (nothing written)
    assert lines == []
    assert result["altered"], "the front altered nothing"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["close", "idle"])
def test_closed_connections_cost_at_most_a_retry(tmp_path, caplog, mode: str):
    result = drill(tmp_path, caplog, mode)
    print(mode, {k: v for k, v in result.items() if k != "lines"}, trouble(result["lines"]))  # type: ignore[arg-type]
    check(result, most=2)
    assert result["altered"], "the front altered nothing"


@pytest.mark.slow
def test_answers_cut_mid_way_cost_at_most_one_copy_and_say_unknown_outcome(tmp_path, caplog):
    result = drill(tmp_path, caplog, "cut", every=7)
    lines = trouble(result["lines"])  # type: ignore[arg-type]
    print("cut", {k: v for k, v in result.items() if k != "lines"}, lines)
    check(result, most=2, given_up=result["altered"]["cut"] // 2)  # type: ignore[index]
    assert result["altered"]["cut"] >= 2  # type: ignore[index]
    assert any("unknown outcome" in line for line in lines), result["lines"]
    extra = sum(result["answers"].values()) + sum(result["alerts"].values()) - 2 * len(CHATS)  # type: ignore[union-attr]
    assert extra <= result["altered"]["cut"]  # type: ignore[index]  # a copy only where an answer was cut
