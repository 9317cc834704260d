"""The database's figures behind /metrics are the store classes' own, and /testalert rows are kept
apart: they neither pass for the latest release nor stay in the database for ever."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.status_server import DatabaseCollector
from bot.store.census import census
from bot.store.outbox import TEST_RELEASE, DeliveryKind, DeliveryState, NewDelivery, Outbox
from bot.store.prune import prune
from bot.store.state import Store
from bot.store.subscribers import Subscribers

T0 = dt.datetime(2026, 5, 18, 20, 0, tzinfo=dt.UTC)


def delivery(key: str, chat: int, kind: DeliveryKind, release: str, chart: int | None = None) -> NewDelivery:
    return NewDelivery(key, release, chat, kind, (f"<b>{key}</b>",), chart_id=chart)


def finish(outbox: Outbox, state: DeliveryState = DeliveryState.SENT) -> None:
    for row in outbox.due(now=T0 + dt.timedelta(days=400)):
        outbox.set_state(row.id, state, now=T0)


def add(outbox: Outbox, *rows: NewDelivery, at: dt.datetime = T0) -> None:
    with outbox.conn:
        outbox.add_many(rows, now=at)


def release_with_a_testalert(path: Path) -> Store:
    store = Store(path)
    subs, outbox = Subscribers(store.conn), Outbox(store.conn)
    for chat in (1, 2, 3):
        subs.touch(chat, "private", "", T0)
        subs.set_subscribed(chat, chat != 3, T0)
    add(outbox, *(delivery(f"2026-04:{c}", c, DeliveryKind.ALERT, "2026-04") for c in (1, 2)))
    finish(outbox)
    add(outbox, delivery("test:1", 1, DeliveryKind.TEST, TEST_RELEASE))  # /testalert, sent
    finish(outbox)
    add(outbox, NewDelivery.operator(key="op:late", chat_id=9, html_text="late"))  # waiting
    return store


def test_the_latest_release_is_the_broadcasts_after_a_testalert(tmp_path):
    store = release_with_a_testalert(tmp_path / "tic.db")
    outbox = Outbox(store.conn)
    c = census(str(tmp_path / "tic.db"))
    assert c.release == "2026-04"  # not 'test', which sorts after every month
    assert c.deliveries == {("sent", "alert"): 2}
    assert c.release == outbox.latest_release()
    assert c.queue == outbox.unsent() == 0  # the operator row waits, but is not the subscribers' queue
    assert c.subscribers == Subscribers(store.conn).counts() == {"active": 2, "stopped": 1, "blocked": 0}


def test_metrics_show_the_releases_rows_after_a_testalert(tmp_path):
    release_with_a_testalert(tmp_path / "tic.db")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in DatabaseCollector(str(tmp_path / "tic.db")).collect()
        for s in family.samples
    }
    assert samples[("tic_alert_outbox_rows", (("kind", "alert"), ("state", "sent")))] == 2
    assert ("tic_alert_outbox_rows", (("kind", "test"), ("state", "sent"))) not in samples
    assert samples[("tic_alert_outbox_queue_depth", ())] == 0


def test_prune_removes_old_test_alerts_and_their_charts(tmp_path):
    store = Store(tmp_path / "tic.db")
    outbox = Outbox(store.conn)
    with store.transaction():
        body = store.add_vintage("slt_table5.txt", b"x", "sha", "2026-05", None, None, T0)
        for n, month in enumerate(("2026-03", "2026-04", "2026-05")):
            at = T0 + dt.timedelta(days=30 * n)
            store.add_release(month, (month,), body, n == 0, at, {}, at)
        chart = outbox.add_chart(key="2026-04:alert", png=b"png")
    april = T0 + dt.timedelta(days=30)
    add(outbox, delivery("test:1:old", 1, DeliveryKind.TEST, TEST_RELEASE, chart), at=april)
    finish(outbox)
    may = T0 + dt.timedelta(days=61)
    add(outbox, delivery("test:1:new", 1, DeliveryKind.TEST, TEST_RELEASE), at=may)
    done = prune(store.conn, 1)
    left = [d.key for d in outbox.of_release(TEST_RELEASE)]
    assert left == ["test:1:new"]  # the old one is finished and older than May's release: gone
    assert done.deliveries == 1
    assert done.charts == 1  # April's chart, which only the old test alert still used
