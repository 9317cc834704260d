"""The sender when the process stops or the database refuses writes: no message lost, none doubled."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sender_helpers import Desk
from telegram_server import TelegramServer
from waits import await_until

from bot.errors import StoreUnavailable
from bot.store.db import connect
from bot.store.outbox import DeliveryKind, DeliveryState


@pytest.fixture
def server():
    with TelegramServer(hang_seconds=1.0) as s:
        yield s


def test_a_call_in_flight_at_a_stop_is_awaited_and_recorded(server, db):
    desk = Desk(server, db)
    row = desk.alert(1)
    server.fail_next("sendPhoto", "timeout")  # Telegram answers after 1 s (within the request timeout)
    desk.run(until=lambda: bool(server.calls("sendPhoto")))  # stop while the call is with Telegram
    assert desk.outbox.get(row).state == DeliveryState.SENT


def test_a_call_in_flight_at_a_stop_is_not_sent_again_after_the_restart(server, db):
    desk = Desk(server, db)
    desk.alert(1)
    server.fail_next("sendPhoto", "timeout")
    desk.run(until=lambda: bool(server.calls("sendPhoto")))
    desk.run()  # the restart
    assert len(server.sent(1)) == 1


def test_a_row_waiting_for_its_slot_at_a_stop_keeps_what_it_sent(server, db):
    desk = Desk(server, db)
    desk.chat(-5)
    alert = desk.alert(-5)
    with desk.conn:  # a second message, which waits three seconds for the group's slot
        desk.conn.execute('UPDATE deliveries SET messages = \'["one", "two"]\' WHERE id = ?', (alert,))
    desk.run(until=lambda: len(server.sent(-5)) == 1)
    assert desk.outbox.get(alert).state == DeliveryState.PENDING


@pytest.mark.slow  # the second message waits 3 s for the group's slot
def test_after_the_restart_a_row_sends_only_what_it_had_not(server, db):
    desk = Desk(server, db)
    desk.chat(-5)
    alert = desk.alert(-5)
    with desk.conn:
        desk.conn.execute('UPDATE deliveries SET messages = \'["one", "two"]\' WHERE id = ?', (alert,))
    desk.run(until=lambda: len(server.sent(-5)) == 1)
    desk.run()
    assert [s.text for s in server.sent(-5)] == ["one", "two"]


def test_a_bookkeeping_write_refused_after_a_send_neither_loses_nor_doubles_it(server, db, monkeypatch):
    desk = Desk(server, db)
    row = desk.alert(1)
    real, refusals = desk.outbox.sent_many, [3]

    def full(*args, **kwargs):
        if refusals[0]:
            refusals[0] -= 1
            raise StoreUnavailable("database or disk is full", "the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(desk.outbox, "sent_many", full)
    desk.run()
    assert (len(server.sent(1)), desk.outbox.get(row).sent_ids) == (1, (1,))


def test_a_read_only_database_holds_the_sends_until_it_takes_writes_again(server, tmp_path):
    desk = Desk(server, connect(tmp_path / "tic.db"))
    seen_while_read_only = []

    async def read_only_for_a_while(sender):
        await await_until(lambda: desk.looks, what="the sender's first look (its recovery done)")
        desk.conn.execute("PRAGMA query_only = ON")  # the sender's connection can no longer write
        other = connect(tmp_path / "tic.db")  # the hand-over's connection still can
        Desk(server, other).alert(1)
        await await_until(lambda: desk.refused, what="the sender's claim of the row, refused")
        seen_while_read_only.append(len(server.sent()))
        desk.conn.execute("PRAGMA query_only = OFF")  # space returns

    desk.run(during=read_only_for_a_while, until=lambda: len(server.sent()) == 1)
    assert seen_while_read_only == [0]


def test_a_read_only_database_then_writable_sends_each_row_once(server, tmp_path):
    desk = Desk(server, connect(tmp_path / "tic.db"))

    async def read_only_for_a_while(sender):
        await await_until(lambda: desk.looks, what="the sender's first look")
        desk.conn.execute("PRAGMA query_only = ON")
        Desk(server, connect(tmp_path / "tic.db")).alert(1)
        await await_until(lambda: desk.refused, what="the sender's claim of the row, refused")
        desk.conn.execute("PRAGMA query_only = OFF")

    desk.run(during=read_only_for_a_while)
    assert len(server.sent(1)) == 1


def test_postgres_read_only_for_a_while_holds_the_sends_then_sends_each_row_once(server, pg_server):
    """A PostgreSQL server that turns read-only (a standby, a role's rights): the sender's
    sessions end and come back read-only; the row waits, then goes once writes work again."""
    url = pg_server.create()
    desk = Desk(server, connect(url))
    # the hand-over's connection can still write (its own session setting)
    writable = connect(url + "?application_name=handover&options=-c%20default_transaction_read_only%3Doff")
    seen_while_read_only = []

    async def read_only_for_a_while(sender):
        await await_until(lambda: desk.looks, what="the sender's first look")
        pg_server.read_only(url, True, spare="handover")
        Desk(server, writable).alert(1)
        await await_until(lambda: desk.refused, what="the sender's claim of the row, refused")
        seen_while_read_only.append(len(server.sent()))
        pg_server.read_only(url, False, spare="handover")

    desk.run(during=read_only_for_a_while, until=lambda: len(server.sent()) == 1)
    desk.run()
    assert seen_while_read_only == [0] and len(server.sent(1)) == 1
    writable.close()
    desk.conn.close()


def test_a_test_alert_goes_through_the_outbox_and_the_sender(server, db, real_panel, rules):
    import datetime as dt

    from bot.notify.people.trial import trial_alert
    from bot.notify.people.view import ReleaseView

    desk = Desk(server, db)
    view = ReleaseView(real_panel, tuple(rules))
    events = view.release.fire()[:2]
    now = dt.datetime.now(dt.UTC)
    trial = trial_alert(chat_id=7, alert=view.alert(events, every=False), now=now)
    trial.queue(desk.outbox, now=now)
    desk.run()
    assert [s.method for s in server.sent(7)] == ["sendPhoto"]


def test_a_test_alert_is_not_part_of_the_release(server, db):
    desk = Desk(server, db)
    desk.row(7, DeliveryKind.TEST, "test", edition=0)
    assert desk.outbox.latest_release() is None


class StopWaits(logging.Handler):
    """Whether the sender's stop said it waits for the database past its grace (its log line)."""

    LINE = "stopping waits for the database to record"

    @classmethod
    def watch(cls) -> StopWaits:
        handler = cls()
        logging.getLogger("tic_alert.sender").addHandler(handler)
        return handler

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def said(self) -> bool:
        return any(line.startswith(self.LINE) for line in self.lines)

    def close(self) -> None:
        logging.getLogger("tic_alert.sender").removeHandler(self)
        super().close()


def stop_while_the_database_refuses_to_record(desk: Desk, server: TelegramServer) -> None:
    """The alert's photo is with Telegram (it answers after 1 s); meanwhile the database turns
    read-only, and the process is told to stop; the database takes writes again only after a stop
    has waited longer for a call in flight than its grace."""
    server.fail_next("sendPhoto", "timeout")
    refusing = asyncio.Event()
    past_the_grace = StopWaits.watch()

    async def read_only_past_the_grace(sender):
        await await_until(lambda: server.calls("sendPhoto"), what="the photo with Telegram")
        desk.conn.execute("PRAGMA query_only = ON")  # its message id cannot be recorded
        refusing.set()
        await await_until(past_the_grace.said, timeout=sender.grace + 10, what="the stop past its grace")
        past_the_grace.close()
        desk.conn.execute("PRAGMA query_only = OFF")

    async def meanwhile(sender):
        asyncio.get_running_loop().create_task(read_only_past_the_grace(sender))

    desk.run(during=meanwhile, until=refusing.is_set, timeout=30)


@pytest.mark.slow  # the stop waits out its grace (3 s)
def test_a_stop_while_the_database_refuses_to_record_a_sent_message_waits_for_it(server, tmp_path):
    desk = Desk(server, connect(tmp_path / "tic.db"))
    row = desk.alert(1)
    stop_while_the_database_refuses_to_record(desk, server)
    assert (desk.state(row), desk.outbox.get(row).sent_ids) == (DeliveryState.SENT, (1,))


@pytest.mark.slow  # the stop's grace (3 s)
def test_a_message_sent_while_the_database_refused_writes_is_not_sent_again_after_the_restart(
    server, tmp_path
):
    desk = Desk(server, connect(tmp_path / "tic.db"))
    desk.alert(1)
    stop_while_the_database_refuses_to_record(desk, server)
    desk.conn.execute("PRAGMA query_only = OFF")  # the restart, the database writable
    desk.run()
    assert len(server.sent(1)) == 1
