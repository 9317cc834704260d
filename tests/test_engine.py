"""The one engine under the broadcast and the replies, against the fake Bot API: one file_id cache
(kept in the database), one Link fed by every call, chats blocked or moved for rows and replies
together, one retry-and-tell for refused writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from sender_helpers import PNG, Desk
from telegram_server import TelegramServer
from waits import await_until, wait_until

from bot.errors import StoreUnavailable
from bot.notify.outbound.engine import RetryPolicy
from bot.notify.outbound.reply_queue import ReplyQueue, Urgency
from bot.notify.patience import refused_writes, written
from bot.notify.people.chatbot import Reply
from bot.store.outbox import DeliveryKind, DeliveryState


@pytest.fixture
def server():
    with TelegramServer() as s:
        yield s


def uploads(server: TelegramServer) -> int:
    return sum(1 for c in server.calls("sendPhoto") if "photo" in c.files)


def replies_beside(sender, desk: Desk) -> ReplyQueue:
    """A reply queue on the sender's engine (as the runtime wires them: one engine for both)."""
    replies = ReplyQueue(sender.pacer)
    sender.engine.chats.replies = replies
    asyncio.get_running_loop().create_task(replies.run(sender.engine, asyncio.Event()))
    return replies


def test_a_chart_is_uploaded_once_for_alerts_and_replies_and_not_again_after_a_restart(server):
    desk = Desk(server)
    for chat in (1, 2):
        desk.chat(chat)
        desk.alert(chat)

    async def a_reply_with_the_same_chart(sender):
        await await_until(lambda: uploads(server) == 1, what="the alert's chart uploaded")
        replies_beside(sender, desk).submit(3, [Reply("the chart", photo=PNG)], Urgency.HEAVY)

    desk.run(during=a_reply_with_the_same_chart, until=lambda: len(server.sent(3)) == 1)
    assert len(server.calls("sendPhoto")) == 3
    assert uploads(server) == 1  # the reply went by the alert's file_id

    desk.chat(4)
    desk.alert(4, "after a restart")  # a new sender, the same database
    desk.run()
    assert len(server.sent(4)) == 1
    assert uploads(server) == 1  # the file_id was kept in the database


def test_a_blocked_chat_loses_its_rows_its_replies_and_its_subscription_at_once(server):
    desk = Desk(server)
    desk.chat(5)
    alert = desk.alert(5)
    server.blocked_chats.add(5)
    told: list[str | None] = []

    async def replies_queued_meanwhile(sender):
        replies = replies_beside(sender, desk)
        for text in ("a", "b"):
            replies.submit(5, [Reply(text)], Urgency.READ, done=told.append)

    desk.run(
        during=replies_queued_meanwhile,
        until=lambda: len(told) == 2 and desk.state(alert) == DeliveryState.BLOCKED,
    )
    assert desk.state(alert) == DeliveryState.BLOCKED
    assert desk.subscribers.get(5).blocked
    assert all("403" in (why or "") for why in told)
    assert server.sent(5) == []


def test_a_reply_that_gets_no_answer_takes_the_link_down_for_the_broadcast_too(server):
    desk = Desk(server)
    server.fail_next("sendMessage", 502, count=3, chat_id=7)

    async def three_failed_replies(sender):
        replies = replies_beside(sender, desk)
        replies.policy = RetryPolicy(0.01, 0.01, 600.0)
        replies.submit(7, [Reply("hello")], Urgency.NOW)
        await await_until(lambda: sender.link.down or len(server.sent(7)) == 1, what="the link down")
        assert sender.link.down  # the replies' failures count, as the rows' do

    desk.run(during=three_failed_replies, until=lambda: len(server.sent(7)) == 1)
    assert not desk.subscribers.get(7)  # never a subscriber: nothing to move
    assert [s.text for s in server.sent(7)] == ["hello"]


def test_a_refused_write_is_said_once_and_once_when_it_works(caplog):
    refusals = iter([StoreUnavailable("database is locked", "busy")] * 3)

    def write() -> str:
        err = next(refusals, None)
        if err is not None:
            raise err
        return "written"

    attempts = refused_writes()
    attempts.first = 0.001
    with caplog.at_level(logging.INFO, logger="tic_alert.bot"):
        assert asyncio.run(written(write, attempts)) == "written"
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 2, lines
    assert "the database refuses writes: StoreUnavailable: database is locked" in lines[0]
    assert "fine again after 3 failed attempt(s)" in lines[1]


def test_retry_policies_double_to_their_cap_and_give_up_at_their_deadline():
    rows = RetryPolicy(1.0, 300.0, 24 * 3600.0)
    assert [rows.delay(n, 0.0) for n in (0, 1, 2, 8, 9, 20)] == [1, 2, 4, 256, 300, 300]
    assert rows.delay(3, 24 * 3600.0) is None
    replies = RetryPolicy(1.0, 30.0, 600.0)
    assert [replies.delay(n, 10.0) for n in (0, 4, 5)] == [1, 16, 30]
    assert replies.delay(0, dt.timedelta(minutes=10).total_seconds()) is None


@pytest.mark.slow  # two held answers, 3 s each, and a backoff
def test_an_answer_that_never_came_is_sent_once_more_and_no_more(server):
    server.hang_seconds = 3.0  # past the client's 2 s: the message arrives, its answer is too late
    desk = Desk(server)
    for chat in (11, 12):
        desk.chat(chat)
    once = desk.row(11, DeliveryKind.FOLLOWUP, "once", edition=0)
    twice = desk.row(12, DeliveryKind.FOLLOWUP, "twice", edition=0)
    server.fail_next("sendMessage", "timeout", chat_id=11)
    server.fail_next("sendMessage", "timeout", count=2, chat_id=12)
    sender = desk.run(timeout=30)
    assert desk.state(once) == DeliveryState.SENT
    assert len(server.sent(11)) == 2  # the answer lost, the message sent again: one copy more
    row = desk.outbox.get(twice)
    assert row is not None
    assert row.state == DeliveryState.FAILED
    wait_until(lambda: len(server.sent(12)) == 2, what="the second held message handled")
    assert len(server.sent(12)) == 2  # not a third time
    assert "unknown outcome" in row.detail
    assert "may have reached the chat" in row.detail
    assert sender.engine.unknown_outcomes == 3


@pytest.mark.slow  # two held answers and a 502, with their backoffs
def test_an_error_between_two_lost_answers_does_not_buy_a_third_send(server):
    server.hang_seconds = 3.0
    desk = Desk(server)
    desk.chat(13)
    row = desk.row(13, DeliveryKind.FOLLOWUP, "flaky", edition=0)
    for chat in range(20, 30):  # others answered meanwhile: the Bot API is up, this chat's calls get lost
        desk.chat(chat)
        for edition in range(10):
            desk.row(chat, DeliveryKind.FOLLOWUP, f"steady {edition}", edition=edition)
    server.fail_next("sendMessage", "timeout", chat_id=13)  # arrives, its answer lost
    server.fail_next("sendMessage", 502, chat_id=13)  # refused: nothing arrives
    server.fail_next("sendMessage", "timeout", chat_id=13)  # arrives, its answer lost again
    desk.run(until=lambda: desk.state(row) in (DeliveryState.SENT, DeliveryState.FAILED), timeout=40)
    assert desk.state(row) == DeliveryState.FAILED
    wait_until(lambda: len(server.sent(13)) == 2, what="the held messages handled")
    assert len(server.sent(13)) == 2  # the 502 did not make the second lost answer a first one
