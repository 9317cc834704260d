"""The outbox on both backends, one behaviour per test."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.store.db import connect
from bot.store.outbox import PHOTO, TEXT, Delivery, DeliveryKind, DeliveryState, NewDelivery, Outbox

NOW = dt.datetime(2026, 6, 18, 20, 5, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=5)


@pytest.fixture
def outbox(db_url):
    db = connect(db_url)
    yield Outbox(db)
    db.close()


def row(key: str, chat_id: int = 1, kind: DeliveryKind = DeliveryKind.ALERT, **kw) -> NewDelivery:
    messages = (f"<b>{key}</b>",)
    return NewDelivery(key=key, release="2026-04", chat_id=chat_id, kind=kind, messages=messages, **kw)


def add(outbox: Outbox, *rows: NewDelivery) -> list[Delivery]:
    with outbox.conn:
        outbox.add_many(rows, now=NOW)
    return outbox.of_release("2026-04")


def keys(deliveries: list[Delivery]) -> list[str]:
    return [d.key for d in deliveries]


def test_a_row_reads_back_as_it_was_queued(outbox):
    (d,) = add(outbox, row("a", events=(("e1", "d1"),)))
    told = (d.key, d.chat_id, d.kind, d.messages, d.events)
    assert told == ("a", 1, "alert", ("<b>a</b>",), (("e1", "d1"),))


def test_a_new_row_is_pending_with_nothing_sent(outbox):
    (d,) = add(outbox, row("a"))
    assert (d.state, d.sent_ids, d.attempts, d.not_before) == (DeliveryState.PENDING, (), 0, None)


def test_queueing_a_key_again_adds_nothing(outbox):
    add(outbox, row("a"))
    assert outbox.add(row("a", chat_id=2), now=NOW) is False


def test_add_many_counts_only_new_keys(outbox):
    add(outbox, row("a"))
    with outbox.conn:
        assert outbox.add_many([row("a"), row("b"), row("c")], now=NOW) == 2


def test_rows_read_back_typed(outbox):
    (d,) = add(outbox, row("a", kind=DeliveryKind.FOLLOWUP))
    assert isinstance(d.kind, DeliveryKind)


def test_due_is_oldest_first(outbox):
    add(outbox, row("a", 1), row("b", 2), row("c", 3))
    assert keys(outbox.due(now=NOW)) == ["a", "b", "c"]


def test_due_gives_a_chat_one_row_at_a_time_in_order(outbox):
    add(outbox, row("a1", 1), row("a2", 1), row("b1", 2))
    assert keys(outbox.due(now=NOW)) == ["a1", "b1"]


def test_a_row_waiting_out_a_429_holds_back_its_chat_only(outbox):
    first, *_ = add(outbox, row("a1", 1), row("a2", 1), row("b1", 2))
    outbox.set_state(first.id, DeliveryState.PENDING, now=NOW, detail="429", not_before=LATER)
    assert keys(outbox.due(now=NOW)) == ["b1"]


def test_a_row_is_due_once_its_not_before_has_come(outbox):
    (d,) = add(outbox, row("a"))
    outbox.set_state(d.id, DeliveryState.PENDING, now=NOW, not_before=LATER)
    assert keys(outbox.due(now=LATER)) == ["a"]


def test_a_row_being_sent_holds_back_the_next_of_its_chat(outbox):
    first, _ = add(outbox, row("a1", 1), row("a2", 1))
    outbox.set_state(first.id, DeliveryState.SENDING, now=NOW)
    assert outbox.due(now=NOW) == []


def test_a_sent_row_lets_the_next_of_its_chat_go(outbox):
    first, _ = add(outbox, row("a1", 1), row("a2", 1))
    outbox.set_state(first.id, DeliveryState.SENT, now=NOW)
    assert keys(outbox.due(now=NOW)) == ["a2"]


def test_due_stops_at_the_limit(outbox):
    add(outbox, *(row(f"r{i}", i) for i in range(1, 6)))
    assert len(outbox.due(now=NOW, limit=2)) == 2


def test_recover_sends_again_what_a_crash_left_sending(outbox):
    a, b = add(outbox, row("a", 1), row("b", 2))
    outbox.set_state(a.id, DeliveryState.SENDING, now=NOW)
    outbox.set_state(b.id, DeliveryState.SENT, now=NOW)
    assert outbox.recover() == 1
    assert outbox.get(a.id).state == DeliveryState.PENDING


def test_sent_messages_are_recorded_one_by_one(outbox):
    (d,) = add(outbox, row("a"))
    outbox.sent_many([(d.id, (11,), (PHOTO,), False)], now=NOW)
    outbox.sent_many([(d.id, (11, 12), (PHOTO, TEXT), False)], now=NOW)
    assert (outbox.get(d.id).sent_ids, outbox.get(d.id).sent_as) == ((11, 12), (PHOTO, TEXT))
    assert outbox.get(d.id).state == DeliveryState.PENDING  # not its last: not sent yet


def test_many_rows_messages_are_recorded_in_one_write(outbox):
    a, b, c = add(outbox, row("a", 1), row("b", 2), row("c", 3))
    outbox.set_state(b.id, DeliveryState.SENDING, now=NOW, detail="network: Bad Gateway")
    outbox.sent_many(
        [(a.id, (5,), (TEXT,), False), (b.id, (6,), (TEXT,), True), (a.id, (5, 7), (TEXT, TEXT), True)],
        now=NOW,
    )
    got = [outbox.get(x.id) for x in (a, b, c)]
    assert [(g.sent_ids, g.state, g.detail) for g in got] == [
        ((5, 7), DeliveryState.SENT, ""),  # a row's later record is the one kept
        ((6,), DeliveryState.SENT, ""),  # the last message's write also makes the row sent
        ((), DeliveryState.PENDING, ""),
    ]


def test_rows_claimed_together_are_sending_and_no_longer_due(outbox):
    a, b, c = add(outbox, row("a", 1), row("b", 2), row("c", 3))
    outbox.block_chat(3, now=NOW, detail="blocked")  # since the sender read it
    assert outbox.claim_many([a.id, b.id, c.id], now=NOW) == {a.id, b.id}
    assert [outbox.get(x.id).state for x in (a, b, c)] == [
        DeliveryState.SENDING,
        DeliveryState.SENDING,
        DeliveryState.BLOCKED,
    ]
    assert outbox.due(now=NOW) == []
    assert outbox.claim_many([a.id], now=NOW) == set()  # another sender's round gets nothing


def test_set_state_keeps_the_detail_unless_given(outbox):
    (d,) = add(outbox, row("a"))
    outbox.set_state(d.id, DeliveryState.PENDING, now=NOW, detail="network: Bad Gateway")
    outbox.set_state(d.id, DeliveryState.SENDING, now=NOW)
    assert outbox.get(d.id).detail == "network: Bad Gateway"


def test_set_state_counts_attempts_when_asked(outbox):
    (d,) = add(outbox, row("a"))
    outbox.set_state(d.id, DeliveryState.PENDING, now=NOW, attempt=True)
    outbox.set_state(d.id, DeliveryState.PENDING, now=NOW)
    assert outbox.get(d.id).attempts == 1


def test_get_of_an_unknown_id_is_none(outbox):
    assert outbox.get(99) is None


def test_block_stops_the_unsent_rows_of_the_chat(outbox):
    a, b, _ = add(outbox, row("a1", 1), row("a2", 1), row("b1", 2))
    outbox.set_state(a.id, DeliveryState.SENT, now=NOW)
    assert outbox.block_chat(1, now=NOW, detail="403: blocked") == 1
    assert outbox.get(b.id).state == DeliveryState.BLOCKED


def test_block_leaves_other_chats_alone(outbox):
    add(outbox, row("a1", 1), row("b1", 2))
    outbox.block_chat(1, now=NOW, detail="403: blocked")
    assert keys(outbox.due(now=NOW)) == ["b1"]


def test_move_chat_moves_every_row_and_keeps_where_sent_messages_are(outbox):
    a, _ = add(outbox, row("a1", -5), row("a2", -5))
    outbox.sent_many([(a.id, (3,), (TEXT,), False)], now=NOW)
    outbox.set_state(a.id, DeliveryState.SENT, now=NOW)
    assert outbox.move_chat(-5, to=-1005) == 2
    moved = outbox.of_release("2026-04")
    assert [(d.chat_id, d.moved_from) for d in moved] == [(-1005, -5), (-1005, None)]


def test_counts_by_state_of_one_release(outbox):
    a, _ = add(outbox, row("a", 1), row("b", 2))
    outbox.set_state(a.id, DeliveryState.SENT, now=NOW)
    with outbox.conn:
        outbox.add(NewDelivery.operator(key="op:x:9", chat_id=9, html_text="x"), now=NOW)
    assert outbox.counts("2026-04") == {"pending": 1, "sending": 0, "sent": 1, "failed": 0, "blocked": 0}


def test_counts_of_every_release(outbox):
    add(outbox, row("a", 1))
    with outbox.conn:
        outbox.add(NewDelivery.operator(key="op:x:9", chat_id=9, html_text="x"), now=NOW)
    assert outbox.counts()[DeliveryState.PENDING] == 2


def test_the_latest_release_is_not_an_operator_row(outbox):
    add(outbox, row("a"))
    with outbox.conn:
        outbox.add(NewDelivery.operator(key="op:x:9", chat_id=9, html_text="x"), now=NOW)
    assert outbox.latest_release() == "2026-04"


def test_a_chart_is_kept_once_per_key(outbox):
    with outbox.conn:
        first = outbox.add_chart(key="2026-04:e", png=b"png1")
        again = outbox.add_chart(key="2026-04:e", png=b"png2")
    assert first == again


def test_a_charts_first_file_id_is_kept(outbox):
    with outbox.conn:
        chart = outbox.add_chart(key="2026-04:e", png=b"png")
    outbox.set_file_id(chart, file_id="F1")
    outbox.set_file_id(chart, file_id="F2")
    assert outbox.chart_file(chart).file_id == "F1"


def test_rows_added_in_a_rolled_back_transaction_are_gone(outbox):
    with pytest.raises(RuntimeError), outbox.conn:
        outbox.add_many([row("a")], now=NOW)
        raise RuntimeError("the hand-over died before its commit")
    assert outbox.of_release("2026-04") == []


def test_retry_now_makes_rows_waiting_out_a_network_error_due(outbox):
    a, b = add(outbox, row("a", 1), row("b", 2))
    outbox.set_state(a.id, DeliveryState.PENDING, now=NOW, detail="network: Bad Gateway", not_before=LATER)
    outbox.set_state(b.id, DeliveryState.PENDING, now=NOW, detail="429: retry after 30 s", not_before=LATER)
    assert outbox.retry_now(detail_prefix="network:") == 1
    assert keys(outbox.due(now=NOW)) == ["a"]


def test_expire_fails_pending_rows_queued_before_the_deadline(outbox):
    (d,) = add(outbox, row("a"))
    outbox.set_state(d.id, DeliveryState.PENDING, now=NOW, detail="network: Bad Gateway")
    assert outbox.expire(created_before=LATER, now=LATER, detail="not sent within 24 h") == 1
    assert outbox.get(d.id).detail == "not sent within 24 h; last: network: Bad Gateway"


def test_expire_leaves_younger_rows(outbox):
    add(outbox, row("a"))
    assert outbox.expire(created_before=NOW, now=LATER, detail="not sent within 24 h") == 0


def test_unsent_counts_release_rows_not_operator_rows(outbox):
    add(outbox, row("a", 1), row("b", 2))
    with outbox.conn:
        outbox.add(NewDelivery.operator(key="op:x:9", chat_id=9, html_text="x"), now=NOW)
    assert outbox.unsent() == 2


def test_told_reads_the_first_messages_header_and_the_count_in_the_database(outbox):
    text = '<b>Japan — “alert”</b>\n\nline two \\ "quoted" 日本'
    with outbox.conn:
        outbox.add_many([row("a"), NewDelivery("b", "2026-04", 2, DeliveryKind.ALERT, (text, "x"))], now=NOW)
    told = outbox.told("2026-04")
    assert [(t.chat_id, t.head, t.count) for t in told] == [
        (1, "<b>a</b>", 1),
        (2, "<b>Japan — “alert”</b>", 2),
    ]
