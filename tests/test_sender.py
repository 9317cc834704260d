"""The sender against the fake Bot API: what is retried, what fails, what waits, in what order."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from sender_helpers import ADMIN, Desk, utc_now
from telegram_server import TelegramServer
from waits import await_until

from bot.notify.outbound.pacer import pacer_for
from bot.notify.outbound.reply_queue import ReplyQueue, Urgency
from bot.notify.outbound.rows import backoff
from bot.notify.people.chatbot import Reply
from bot.render.alert import anew
from bot.store.outbox import DeliveryKind, DeliveryState


@pytest.fixture
def server():
    with TelegramServer(hang_seconds=3.0) as s:
        yield s


def sends(server, chat_id: int) -> list[str]:
    """What reached the chat: method and text, in order (edits included)."""
    return [f"{s.method} {s.text}" for s in server.sent(chat_id, edits=True)]


@pytest.mark.slow  # the retry backoff
def test_a_5xx_is_retried_not_failed(server, db):
    desk = Desk(server, db)
    row = desk.alert(1)
    server.fail_next("sendPhoto", 502, count=2)
    desk.run()
    assert desk.state(row) == DeliveryState.SENT


@pytest.mark.slow  # the retry backoff
def test_a_5xx_retried_reaches_the_chat_once(server, db):
    desk = Desk(server, db)
    desk.alert(1)
    server.fail_next("sendPhoto", 502, count=2)
    desk.run()
    assert sends(server, 1) == ["sendPhoto <b>alert</b>"]


def test_a_refusal_for_good_fails_at_once(server, db):
    desk = Desk(server, db)
    row = desk.alert(1)
    server.fail_next("sendPhoto", 400, "Bad Request: chat not found")
    desk.run()
    assert desk.outbox.get(row).detail == "400: Chat not found"


@pytest.mark.slow  # an outage of seconds, by design
def test_an_outage_holds_every_chat_in_order_then_delivers_everything(server, db):
    desk = Desk(server, db)
    for chat in (1, 2, 3):
        desk.alert(chat)
        desk.row(chat, DeliveryKind.FOLLOWUP, f"follow-up {chat}", edition=1)
    server.fail_next("sendPhoto", 502, count=6)
    desk.probes_fail.append((502, None, None, 3))  # the probes fail too, for a while
    desk.run()
    assert [sends(server, chat) for chat in (1, 2, 3)] == [
        ["sendPhoto <b>alert</b>", f"sendMessage follow-up {chat}"] for chat in (1, 2, 3)
    ]


@pytest.mark.slow  # an outage of seconds, by design
def test_an_outage_is_told_to_the_operators_once_late_and_once_caught_up(server, db):
    desk = Desk(server, db)
    desk.alert(1)
    server.fail_next("sendPhoto", 502, count=3)
    desk.probes_fail.append((502, None, None, 2))  # probes after 0.5, 1 and 2 s: later than late_after (1 s)
    desk.run(until=lambda: desk.drained() and len(server.sent(ADMIN)) >= 2)
    told = [re.sub(r"\d\d:\d\d:\d\d", "T", s.text or "").split(".")[0] for s in server.sent(ADMIN)]
    assert told == [
        "⚠️ tic-alert: deliveries are late",
        "✅ tic-alert: deliveries caught up at T UTC (late since T UTC)",
    ]


def test_a_single_5xx_among_answers_does_not_stop_the_others(server, db):
    desk = Desk(server, db)
    for chat in range(1, 6):
        desk.alert(chat)
    server.fail_next("sendPhoto", 502, chat_id=3)
    sender = desk.run()
    assert not sender.link.down


@pytest.mark.slow  # a held call past its 2 s timeout, then the backoff
def test_a_timeout_is_retried(server, db):
    desk = Desk(server, db)
    row = desk.alert(1)
    server.fail_next("sendPhoto", "timeout")  # held 3 s, the client gives up after 2 s
    desk.run()
    assert desk.state(row) == DeliveryState.SENT


def test_past_its_deadline_a_row_is_given_up(server, db):
    desk = Desk(server, db)
    row = desk.alert(1, when=utc_now() - dt.timedelta(hours=25))
    desk.run()
    assert desk.outbox.get(row).detail == "not sent within 24 h"


def test_a_network_error_past_the_deadline_fails_the_row(server, db):
    desk = Desk(server, db)
    later = dt.timedelta()

    async def a_day_passes_then_a_row_is_queued(sender):
        nonlocal later
        await await_until(lambda: desk.looks, what="the sender's first round (its expiry of old rows) done")
        later = dt.timedelta(hours=24)
        desk.alert(1, when=utc_now())  # its first try comes a day after it was queued

    server.fail_next("sendPhoto", 502)
    desk.run(during=a_day_passes_then_a_row_is_queued, clock=lambda: utc_now() + later)
    assert desk.outbox.get(desk.id_of("2026-04:1:0")).detail == "network: Bad Gateway; not sent within 24 h"


def test_backoff_doubles_from_a_second_to_five_minutes():
    assert [backoff(n) for n in (0, 1, 2, 8, 9, 30)] == [1.0, 2.0, 4.0, 256.0, 300.0, 300.0]


@pytest.mark.slow  # the alert's retry backoff
def test_an_edit_waits_for_its_alert_while_that_is_retried(server, db):
    desk = Desk(server, db)
    alert = desk.alert(1, "first")
    desk.row(1, DeliveryKind.EDIT, "<b>second</b>", edition=1, edit_of=alert)
    server.fail_next("sendPhoto", 502, count=2)
    desk.run()
    assert sends(server, 1) == ["sendPhoto <b>first</b>", "editMessageCaption <b>second</b>"]


def test_an_edit_of_a_deleted_message_is_a_new_message(server, db):
    desk = Desk(server, db)
    alert = desk.alert(1, "first")
    desk.run()
    (sent,) = server.sent(1)
    server.delete(1, sent.message_id)  # a user deleted it
    desk.row(1, DeliveryKind.EDIT, "<b>second</b>", edition=1, edit_of=alert)
    desk.run()
    assert sends(server, 1)[1:] == [f"sendMessage {anew('<b>second</b>')}"]


def migrated_after_its_alert(server, db) -> Desk:
    """Group -5 got its alert, then became supergroup -1005; an edit of the alert is queued."""
    desk = Desk(server, db)
    desk.chat(-5)
    alert = desk.alert(-5, "first")
    desk.run()
    server.migrate(-5, -1005, announce=False)  # the bot is not told (the test tells it, or a 400 does)
    desk.row(-5, DeliveryKind.EDIT, "<b>second</b>", edition=1, edit_of=alert)
    return desk


def test_a_group_migrated_after_its_alert_gets_the_edit_as_a_new_message(server, db):
    migrated_after_its_alert(server, db).run()  # the bot learns of it only from the 400 of the edit
    assert sends(server, -1005) == [f"sendMessage {anew('<b>second</b>')}"]


def test_a_migrated_group_keeps_its_subscription(server, db):
    desk = migrated_after_its_alert(server, db)
    desk.run()
    assert desk.subscribers.get(-1005).active


def test_a_migration_told_by_telegram_first_sends_the_edit_to_the_new_chat_at_once(server, db):
    desk = migrated_after_its_alert(server, db)

    async def service_message(sender):
        sender.chat_migrated(-5, -1005)

    desk.run(during=service_message)
    assert [c.method for c in server.calls(chat_id=-5)] == ["sendPhoto"]  # the alert; no edit to the old id


@pytest.mark.slow  # a retry's backoff, then a group's slot
def test_an_alert_sent_as_text_when_photos_are_refused_is_edited_as_text(server):
    desk = Desk(server)
    desk.chat(-7)
    alert = desk.alert(-7, "first")
    server.fail_next(
        "sendPhoto", 400, "Bad Request: not enough rights to send photos to the chat", chat_id=-7
    )
    desk.run()
    desk.row(-7, DeliveryKind.EDIT, "<b>second</b>", edition=1, edit_of=alert)
    desk.run()
    only_the_photo_was_refused = ["sendMessage first", "editMessageText <b>second</b>"]
    assert sends(server, -7) == only_the_photo_was_refused


@pytest.mark.slow  # 31 alerts, then a group's 3 s slot
def test_a_reply_and_a_delivery_to_one_group_at_once_take_turns_on_its_slot(server):
    desk = Desk(server)
    for chat in range(1, 31):  # the group's alert waits in line for an overall slot behind these
        desk.alert(chat)
    desk.chat(-5)
    alert = desk.alert(-5)

    async def a_command_answered_meanwhile(sender):  # the reply queue shares the sender's Pacer
        replies = ReplyQueue(sender.pacer)
        asyncio.get_running_loop().create_task(replies.run(sender.engine, asyncio.Event()))
        await await_until(
            lambda: desk.state(alert) != DeliveryState.PENDING,
            what="the group's alert claimed: in line for an overall slot",
        )
        replies.submit(-5, [Reply("reply")], Urgency.NOW)  # a reply goes ahead of the line

    desk.run(during=a_command_answered_meanwhile, until=lambda: len(server.sent(-5)) == 2)
    first, second = server.sent(-5)
    assert (first.text, server.count_429) == ("reply", 0)
    assert second.at - first.at >= pacer_for(desk.settings).spacing(-5)
