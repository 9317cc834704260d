"""The Ledger: messages Telegram has, recorded many in one write, each before its chat's next."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from waits import await_until

from bot.errors import StoreError, StoreUnavailable
from bot.notify.outbound.ledger import Ledger
from bot.store.db import connect
from bot.store.outbox import DeliveryKind, DeliveryState, NewDelivery, Outbox

NOW = dt.datetime(2026, 6, 16, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(db_url):
    """SQLite, then PostgreSQL."""
    conn = connect(db_url)
    yield conn
    conn.close()


def outbox_with(db, chats: int) -> tuple[Outbox, list[int]]:
    outbox = Outbox(db)
    rows = [
        NewDelivery(f"r{c}", "2026-04", c, DeliveryKind.ALERT, ("one", "two")) for c in range(1, chats + 1)
    ]
    with outbox.conn:
        outbox.add_many(rows, now=NOW)
    return outbox, [d.id for d in outbox.of_release("2026-04")]


class Counting:
    """The outbox's sent_many, counted; raising ``error`` on the first ``refuse`` calls."""

    def __init__(self, outbox: Outbox, refuse: int = 0, error: Exception | None = None):
        self.real, self.calls, self.refuse = outbox.sent_many, [], refuse
        self.error = error or StoreUnavailable("database is locked", "another writer holds the lock")
        outbox.sent_many = self  # type: ignore[method-assign]

    def __call__(self, messages, *, now):
        if self.refuse:
            self.refuse -= 1
            raise self.error
        self.calls.append(list(messages))
        return self.real(messages, now=now)


def test_messages_handed_in_together_are_written_in_one_write(db):
    outbox, ids = outbox_with(db, 3)
    writes = Counting(outbox)
    ledger = Ledger(outbox, lambda: NOW)

    async def couriers():
        await asyncio.gather(*(ledger.sent(i, (100 + i,), ("text",), last=False) for i in ids))
        await ledger.sent(ids[0], (100 + ids[0], 200), ("text", "text"), last=True)

    asyncio.run(couriers())
    assert [len(w) for w in writes.calls] == [3, 1]
    first = outbox.get(ids[0])
    assert (first.sent_ids, first.state) == ((100 + ids[0], 200), DeliveryState.SENT)
    assert outbox.get(ids[1]).state == DeliveryState.PENDING  # its last message is still to go


def test_a_refused_write_is_tried_again_and_the_courier_waits_for_it(db):
    outbox, ids = outbox_with(db, 1)
    writes = Counting(outbox, refuse=2)
    ledger = Ledger(outbox, lambda: NOW)
    asyncio.run(ledger.sent(ids[0], (7,), ("text",), last=True))
    assert len(writes.calls) == 1  # the refused ones are not counted
    assert outbox.get(ids[0]).sent_ids == (7,)
    assert not ledger.failing  # told when it failed, and again when it took the write


def test_a_courier_cancelled_while_it_waits_still_has_its_message_recorded(db):
    outbox, ids = outbox_with(db, 1)
    Counting(outbox, refuse=1)
    ledger = Ledger(outbox, lambda: NOW)

    async def stopped():
        courier = asyncio.create_task(ledger.sent(ids[0], (7,), ("text",), last=False))
        await await_until(lambda: ledger.failing, what="the first write refused")  # it waits to try again
        courier.cancel()
        await ledger.flush()

    asyncio.run(stopped())
    assert outbox.get(ids[0]).sent_ids == (7,)  # Telegram has it: never sent again


def test_a_stop_gives_up_on_a_record_the_database_keeps_refusing_and_says_which(db, caplog):
    outbox, ids = outbox_with(db, 1)
    Counting(outbox, refuse=1000)
    ledger = Ledger(outbox, lambda: NOW)

    async def stopped():
        courier = asyncio.create_task(ledger.sent(ids[0], (7, 8), ("photo", "text"), last=False))
        await await_until(lambda: ledger.failing, what="the first write refused")
        courier.cancel()
        await asyncio.wait_for(ledger.flush(timeout=0.3), timeout=5)

    asyncio.run(stopped())
    assert f"delivery {ids[0]}: message 1 is with Telegram, not recorded" in caplog.text


def test_a_write_that_fails_otherwise_fails_each_courier_of_it_and_the_next_write_goes_on(db):
    outbox, ids = outbox_with(db, 3)
    Counting(outbox, refuse=1, error=StoreError("CHECK constraint failed"))
    ledger = Ledger(outbox, lambda: NOW)

    async def couriers():
        both = asyncio.gather(
            *(ledger.sent(i, (7,), ("text",), last=False) for i in ids[:2]), return_exceptions=True
        )
        first = await asyncio.wait_for(both, timeout=5)  # never left waiting
        await asyncio.wait_for(ledger.sent(ids[2], (8,), ("text",), last=True), timeout=5)
        return first

    first = asyncio.run(couriers())
    assert [type(e) for e in first] == [StoreError] * 2  # raised in both, none left waiting
    assert [outbox.get(i).sent_ids for i in ids] == [(), (), (8,)]


def test_a_rows_record_handed_in_later_is_the_one_kept(db):
    outbox, ids = outbox_with(db, 2)
    ledger = Ledger(outbox, lambda: NOW)

    async def couriers():
        await asyncio.gather(
            ledger.sent(ids[1], (21,), ("text",), last=False),
            ledger.sent(ids[0], (11,), ("text",), last=False),
            ledger.sent(ids[1], (21, 22), ("text", "text"), last=True),
        )

    asyncio.run(couriers())
    assert [outbox.get(i).sent_ids for i in ids] == [(11,), (21, 22)]
    assert [outbox.get(i).state for i in ids] == [DeliveryState.PENDING, DeliveryState.SENT]
