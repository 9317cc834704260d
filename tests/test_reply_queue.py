"""The reply queue on a fake Bot: order (urgent, then by the asker's turn, then arrival), pieces
kept together, Telegram's answers handled as for deliveries, one log line per dropped or late
reply, and the limits in one home (UTF-16 lengths, pinned to python-telegram-bot's)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Callable

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter
from waits import await_until

from bot.notify.outbound import reply_queue
from bot.notify.outbound.chat_events import ChatEvents
from bot.notify.outbound.engine import Engine
from bot.notify.outbound.pacer import Pacer
from bot.notify.outbound.photos import Photos
from bot.notify.outbound.pieces import split_reply
from bot.notify.outbound.reply_queue import ReplyQueue, Urgency
from bot.notify.patience import refused_writes
from bot.notify.people.chatbot import Reply
from bot.render.limits import TEXT_LIMIT, telegram_length
from bot.store.db import connect
from bot.store.subscribers import Subscribers


class FakeBot:
    """Records what is sent; ``fail`` maps a call number to the error it raises."""

    def __init__(self, fail: dict[int, Exception] | None = None):
        self.sent: list[tuple[int, str, str | None]] = []  # chat, text, parse mode
        self.calls = 0
        self.fail = fail or {}

    async def _post(self, endpoint, data):  # as python-telegram-bot's Bot._post is called
        photo = endpoint == "sendPhoto"
        text = f"[photo] {data.get('caption') or ''}" if photo else data["text"]
        self.calls += 1
        if self.calls in self.fail:
            raise self.fail[self.calls]
        self.sent.append((data["chat_id"], text, data.get("parse_mode")))
        return {"message_id": self.calls, **({"photo": [{"file_id": f"f{self.calls}"}]} if photo else {})}


def drain(
    queue: ReplyQueue,
    bot: FakeBot,
    until: Callable[[], bool],
    seconds: float = 10.0,
    subscribers: Subscribers | None = None,
) -> None:
    async def go() -> None:
        stop = asyncio.Event()
        chats = ChatEvents(subscribers or Subscribers(connect(":memory:")), None, queue, refused_writes())
        engine = Engine(bot, queue.pacer, Photos(None), chats)  # type: ignore[arg-type]
        task = asyncio.create_task(queue.run(engine, stop))
        try:
            await await_until(until, seconds, what="the replies' goal")
        finally:
            stop.set()
            task.cancel()  # an idle dispatcher would see the stop only after its 1 s look
            with contextlib.suppress(asyncio.CancelledError):
                await task

    asyncio.run(go())


def fast_queue(**kw) -> tuple[ReplyQueue, Subscribers]:
    pacer = Pacer(per_second=1000, private_per_second=200, group_per_minute=6000)
    subscribers = Subscribers(connect(":memory:"))
    return ReplyQueue(pacer, **kw), subscribers


def test_urgent_first_then_each_askers_turn_then_arrival_and_a_replys_pieces_together():
    queue, _ = fast_queue()
    group = -100
    for i in range(3):
        queue.submit(group, [Reply(f"flood {i}")], Urgency.READ, user_id=9)
    queue.submit(group, [Reply("chart"), Reply("chart text")], Urgency.HEAVY, user_id=7)
    queue.submit(group, [Reply("quiet")], Urgency.READ, user_id=8)
    queue.submit(group, [Reply("Mode: summary")], Urgency.NOW, user_id=8)
    bot = FakeBot()
    drain(queue, bot, lambda: len(bot.sent) == 7)
    order = [text for _, text, _ in bot.sent]
    assert order == ["Mode: summary", "flood 0", "quiet", "flood 1", "flood 2", "chart", "chart text"]


def test_a_429_pauses_and_the_same_message_goes_again():
    queue, _ = fast_queue()
    queue.submit(5, [Reply("one")], Urgency.READ)
    queue.submit(6, [Reply("two")], Urgency.READ)
    bot = FakeBot({1: RetryAfter(dt.timedelta(seconds=1))})
    started = time.monotonic()
    drain(queue, bot, lambda: len(bot.sent) == 2)
    assert sorted(text for _, text, _ in bot.sent) == ["one", "two"]
    assert time.monotonic() - started >= 1.0  # every send waited
    assert queue.dropped == 0


@pytest.mark.slow  # retries for 1.5 s, by design
def test_network_errors_are_retried_then_dropped_with_one_line(caplog, monkeypatch):
    monkeypatch.setattr(reply_queue, "GIVE_UP_SECONDS", 1.5)
    queue, _ = fast_queue()
    queue.submit(5, [Reply("lost")], Urgency.READ)
    queue.submit(6, [Reply("kept")], Urgency.READ)
    bot = FakeBot({n: NetworkError("Bad Gateway") for n in (1, 3, 4, 5, 6, 7)})
    with caplog.at_level(logging.INFO, logger="tic_alert.replies"):
        drain(queue, bot, lambda: queue.dropped == 1, seconds=10)
    assert [text for _, text, _ in bot.sent] == ["kept"]
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1
    assert "reply to chat 5 dropped after" in lines[0].getMessage()
    assert "network: Bad Gateway" in lines[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)


def test_a_blocked_chat_loses_its_queue_and_is_marked():
    queue, subscribers = fast_queue()
    now = dt.datetime.now(dt.UTC)
    subscribers.touch(5, "private", "", now)
    subscribers.set_subscribed(5, True, now)
    told: dict[str, str | None] = {}
    for text in ("a", "b", "c", "other"):
        chat = 6 if text == "other" else 5
        queue.submit(chat, [Reply(text)], Urgency.READ, done=lambda why, t=text: told.setdefault(t, why))
    bot = FakeBot({1: Forbidden("Forbidden: bot was blocked by the user")})
    drain(queue, bot, lambda: queue.dropped == 3 and len(bot.sent) == 1, subscribers=subscribers)
    assert bot.sent == [(6, "other", None)]
    assert subscribers.get(5).blocked
    assert not queue.chats
    assert told["other"] is None  # sent
    assert all("blocked" in (told[t] or "") for t in "abc")  # each command hears it was dropped


def test_a_migrated_group_gets_its_replies_at_the_new_id():
    queue, _ = fast_queue()
    queue.submit(-100, [Reply("a")], Urgency.READ)
    queue.submit(-100, [Reply("b")], Urgency.READ)
    bot = FakeBot({1: ChatMigrated(-1009)})
    drain(queue, bot, lambda: len(bot.sent) == 2)
    assert bot.sent == [(-1009, "a", None), (-1009, "b", None)]


def test_html_telegram_refuses_goes_as_plain_text():
    queue, _ = fast_queue()
    queue.submit(5, [Reply("<b>x &amp; y</b>", html=True)], Urgency.READ)
    bot = FakeBot({1: BadRequest("Can't parse entities: unsupported start tag")})
    drain(queue, bot, lambda: len(bot.sent) == 1)
    assert bot.sent == [(5, "x & y", None)]


def test_a_late_reply_is_one_line(caplog):
    behind = [0.0]  # the queue's clock: real time, plus the seconds the command is made to have waited
    queue, _ = fast_queue(clock=lambda: time.monotonic() + behind[0])
    queue.submit(5, [Reply("slow")], Urgency.READ)
    behind[0] = reply_queue.LATE_SECONDS + 1.0
    queue.submit(6, [Reply("quick")], Urgency.READ)
    bot = FakeBot()
    with caplog.at_level(logging.WARNING, logger="tic_alert.replies"):
        drain(queue, bot, lambda: len(bot.sent) == 2)
    (line,) = [r.getMessage() for r in caplog.records]  # chat 6's reply was on time
    assert re.fullmatch(r"reply to chat 5 sent late: 3[12]\.\d s after the command", line), line
    assert queue.late == 1


def test_a_chat_whose_queue_takes_too_long_at_its_pace_is_crowded():
    pacer = Pacer(per_second=25, private_per_second=1, group_per_minute=20)
    queue = ReplyQueue(pacer)
    for i in range(9):
        queue.submit(-100, [Reply(str(i))], Urgency.READ, user_id=i)
    assert not queue.crowded(-100)  # 9 × 3.15 s
    queue.submit(-100, [Reply("x")], Urgency.READ)
    assert queue.crowded(-100)
    for i in range(28):
        queue.submit(5, [Reply(str(i))], Urgency.READ)
    assert not queue.crowded(5)


def test_a_long_reply_goes_in_messages_that_fit_counted_in_utf16_units():
    text = "head\n" + "😀" * 3000 + "\ntail"  # 6,000 UTF-16 units on one line
    parts = split_reply(Reply(text))
    assert len(parts) >= 2
    assert all(telegram_length(p.text) <= TEXT_LIMIT for p in parts)
    assert "".join(p.text for p in parts).replace("\n", "") == text.replace("\n", "")


def test_a_caption_too_long_for_a_photo_follows_it_as_text():
    long = "é😀" * 400  # 1,200 UTF-16 units, 800 characters
    (alone, text) = split_reply(Reply(long, photo=b"png"))
    assert alone.photo == b"png"
    assert alone.text == ""
    assert text.text == long
    assert text.photo is None
    (both,) = split_reply(Reply("short", photo=b"png", buttons=(("b", "d"),)))
    assert both.photo == b"png"
    assert both.buttons == (("b", "d"),)


def test_a_reply_takes_the_next_overall_slot_ahead_of_a_broadcasts_workers():
    pacer = Pacer(per_second=100, private_per_second=1, group_per_minute=20)
    order: list[str] = []

    async def send(name: str, chat: int, first: bool) -> None:
        await pacer.wait(chat, first=first)
        order.append(name)

    async def go() -> None:
        workers = [asyncio.create_task(send(f"b{i}", 1000 + i, False)) for i in range(30)]
        await await_until(lambda: order, what="the broadcast under way")  # the other workers lined up
        reply = asyncio.create_task(send("reply", 5, True))
        await asyncio.gather(reply, *workers)

    asyncio.run(go())
    assert 1 <= order.index("reply") <= 3  # not behind the 25 or so workers still waiting


def test_a_group_moved_while_its_reply_is_out_keeps_its_subscription_and_its_replies():
    queue, subscribers = fast_queue()
    now = dt.datetime.now(dt.UTC)
    subscribers.touch(-100, "group", "", now)
    subscribers.set_subscribed(-100, True, now)
    queue.submit(-100, [Reply("a")], Urgency.READ)
    queue.submit(-100, [Reply("b")], Urgency.READ)

    class MovedMeanwhile(FakeBot):
        async def _post(self, endpoint, data):
            if self.calls == 0:  # Telegram's service message moved the group while this call was out
                subscribers.migrate(-100, -1009, now)
                queue.move_chat(-100, -1009)
            return await super()._post(endpoint, data)

    bot = MovedMeanwhile({1: ChatMigrated(-1009)})
    drain(queue, bot, lambda: len(bot.sent) == 2, subscribers=subscribers)
    assert bot.sent == [(-1009, "a", None), (-1009, "b", None)]
    moved = subscribers.get(-1009)
    assert moved is not None
    assert moved.subscribed  # not "moved" onto itself, which deleted it
