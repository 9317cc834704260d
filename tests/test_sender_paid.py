"""The sender at a paid broadcast's pace (``paid_broadcast``) against the fake Bot API with
Telegram's limits: many chats at once, yet still one message a second in a private chat and
twenty a minute in a group; and without it, the free pace as before."""

from __future__ import annotations

import itertools

import pytest
from sender_helpers import Desk, utc_now
from telegram_server import TelegramServer

from bot.notify.settings import TelegramSettings
from bot.store.outbox import DeliveryKind, NewDelivery

PAID_ONE_OFFS = 300  # chats with one message each: 12 s at the free 25/s, under 1 s paid
FREE_ONE_OFFS = 150  # 6 s at the free 25/s, as long as the group's three
PRIVATE, MANY, GROUP = 7, 8, -100


@pytest.fixture
def server():
    with TelegramServer() as s:  # Telegram's limits: 30/s free, 1,000/s paid, 1/s a chat, 20/min a group
        yield s


def desk_for(server: TelegramServer, paid: bool, db=None) -> Desk:
    settings = TelegramSettings(api_url=server.base_url, request_timeout_seconds=2.0, paid_broadcast=paid)
    return Desk(server, db, settings) if db is not None else Desk(server, settings=settings)


def queue_busy_chats(desk: Desk) -> None:
    """Four rows to one private chat, one row of three messages to another, three rows to a group."""
    for edition in range(4):
        desk.row(PRIVATE, DeliveryKind.FOLLOWUP, f"private {edition}", edition)
    for edition in range(3):
        desk.row(GROUP, DeliveryKind.FOLLOWUP, f"group {edition}", edition)
    with desk.conn:
        parts = ("part 1", "part 2", "part 3")
        desk.outbox.add(
            NewDelivery("2026-04:many", "2026-04", MANY, DeliveryKind.ALERT, parts), now=utc_now()
        )


def queue_one_offs(desk: Desk, count: int) -> None:
    rows = [
        NewDelivery(f"2026-04:{c}:0", "2026-04", c, DeliveryKind.ALERT, (f"alert {c}",))
        for c in range(1000, 1000 + count)
    ]
    with desk.conn:
        desk.outbox.add_many(rows, now=utc_now())


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def broadcast(server: TelegramServer, paid: bool, one_offs: int, db=None) -> list[float]:
    """The busy chats and ``one_offs`` more sent (0 × 429); when the one-offs arrived."""
    desk = desk_for(server, paid=paid, db=db)
    queue_busy_chats(desk)
    queue_one_offs(desk, one_offs)
    desk.run(timeout=40.0)
    assert server.count_429 == 0
    arrivals = [s.at for s in server.sent() if s.chat_id >= 1000]
    assert len(arrivals) == one_offs
    return arrivals


@pytest.mark.slow  # each chat at its own pace
def test_paid_pace_sends_many_chats_at_once_but_each_chat_at_its_own_limit(server, db):
    arrivals = broadcast(server, paid=True, one_offs=PAID_ONE_OFFS, db=db)
    assert {s.params.get("allow_paid_broadcast") for s in server.sent()} == {True}
    assert max(arrivals) - min(arrivals) < 2.0  # far above the free 25/s (12 s for these)
    assert [s.text for s in server.sent(PRIVATE)] == [f"private {i}" for i in range(4)]
    assert min(gaps([s.at for s in server.sent(PRIVATE)])) >= 1.0  # a second apart, in order
    assert [s.text for s in server.sent(MANY)] == ["part 1", "part 2", "part 3"]
    assert min(gaps([s.at for s in server.sent(MANY)])) >= 1.0  # a row's own messages too
    assert [s.text for s in server.sent(GROUP)] == [f"group {i}" for i in range(3)]
    assert min(gaps([s.at for s in server.sent(GROUP)])) >= 3.0  # 20 a minute


@pytest.mark.slow  # a broadcast at the free pace
def test_without_paid_broadcast_the_free_pace_and_no_paid_parameter(server):
    arrivals = broadcast(server, paid=False, one_offs=FREE_ONE_OFFS)
    assert all("allow_paid_broadcast" not in s.params for s in server.sent())
    assert max(arrivals) - min(arrivals) >= (FREE_ONE_OFFS - 1) / 25.0 * 0.95  # the free 25/s
    assert min(gaps([s.at for s in server.sent(PRIVATE)])) >= 1.0
    assert min(gaps([s.at for s in server.sent(GROUP)])) >= 3.0


def test_each_row_records_the_message_ids_telegram_gave_photos_and_texts_alike(server, db):
    """The sender keeps only the message id of each answer (no Message built): the ids recorded
    are Telegram's, for a chart uploaded once, the chart sent again by its file_id, and texts."""
    desk = desk_for(server, paid=True, db=db)
    chats = range(1, 21)
    alerts = {chat: desk.alert(chat) for chat in chats}
    follow_ups = {chat: desk.row(chat, DeliveryKind.FOLLOWUP, f"more {chat}", 1) for chat in chats}
    desk.run(timeout=30.0)
    assert server.uploads == 1
    for chat in chats:
        given = [s.message_id for s in server.sent(chat)]
        assert [s.method for s in server.sent(chat)] == ["sendPhoto", "sendMessage"]
        recorded = [*desk.outbox.get(alerts[chat]).sent_ids, *desk.outbox.get(follow_ups[chat]).sent_ids]
        assert recorded == given
    assert len({i for chat in chats for i in desk.outbox.get(alerts[chat]).sent_ids}) == len(chats)
