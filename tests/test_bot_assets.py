"""Assets through the fake Bot API: /watch stocks and a release that brings only stock events,
/watching, /unwatch, a garbage asset; /chart <holder> stocks, its record month, a holder with no
flows. The real files by path (skips without ../shared); the chart function on small series too."""

from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd
import pytest
from bot_helpers import RunningBot
from telegram_server import TelegramServer

from bot.config import load_settings
from bot.data.load import read_dir
from bot.notify.people.view import ReleaseView
from bot.notify.release.dispatch import Dispatcher
from bot.render.charts import flow_chart
from bot.store.db import connect
from bot.store.outbox import Outbox
from bot.store.state import Store
from bot.store.subscribers import Subscribers

SETTINGS = load_settings(env={})


def ask(server: TelegramServer, chat_id: int, text: str, n: int = 1) -> list[str]:
    before = len(server.sent(chat_id))
    server.user_message(chat_id, text)
    got = server.wait_for(before + n, timeout=20, chat_id=chat_id)
    return [s.plain or s.text or "" for s in got[before:]]


def watches_of(path: Path, chat_id: int) -> tuple[str, ...]:
    conn = connect(path)
    try:
        chat = Subscribers(conn).get(chat_id)
        return chat.watches if chat else ()
    finally:
        conn.close()


@pytest.mark.slow  # a release day with the bot, end to end
def test_watch_stocks_then_a_release_brings_only_stock_events(tmp_path: Path, real_panel):
    """April 2026 tells Singapore's record stock buying, Japan + China's Treasury fall, the U.K.'s
    record high … : a chat watching stocks gets the first alone, a chat watching nothing all."""
    db = tmp_path / "s.db"
    with TelegramServer() as server, RunningBot(server, db) as bot:
        for chat in (61, 62):
            ask(server, chat, "/start")
        (reply,) = ask(server, 61, "/watch stocks")
        assert reply.startswith("Watching stocks (U.S. stocks).")
        assert "only of U.S. stocks" in reply
        assert "/watch treasuries to keep them too" in reply
        assert watches_of(db, 61) == ("asset:equity",)
        (reply,) = ask(server, 61, "/watching")
        assert reply.startswith("Watching: stocks (U.S. stocks).")
        store = Store(db)  # the poller's side: its own connection, as on a release day
        try:
            Dispatcher(store.conn, rules=bot.rules, groups=SETTINGS.groups).dispatch(
                "2026-04", ["2026-04"], real_panel
            )
            told = {chat: len(server.sent(chat)) for chat in (61, 62)}
            bot.runtime.wake()
            rows = {r.chat_id: r for r in Outbox(store.conn).of_release("2026-04")}
            assert rows[61].events and all(key.endswith("|equity") for key, _ in rows[61].events)
            assert not all(key.endswith("|equity") for key, _ in rows[62].events)
            got = {
                chat: server.wait_for(n + len(rows[chat].messages), timeout=20, chat_id=chat)[n:]
                for chat, n in told.items()
            }
            assert got[61][0].method == "sendPhoto"
            stocks, every = ("\n".join(s.plain or s.text or "" for s in got[chat]) for chat in (61, 62))
        finally:
            store.close()
        assert "Singapore" in stocks and "U.S. stocks" in stocks
        for other in ("Japan + China", "United Kingdom", "long-term U.S. securities"):
            assert other not in stocks, other
            assert other in every, other
        (reply,) = ask(server, 61, "/unwatch stocks")
        assert reply.startswith("Stopped watching stocks (U.S. stocks).")
        assert watches_of(db, 61) == ()
        assert "You were not watching stocks" in ask(server, 61, "/unwatch stocks")[0]
        (reply,) = ask(server, 61, "/watch stonks")
        assert "No country, group or asset called 'stonks'. Did you mean: stocks?" in reply
        assert "Usage: /watch" in reply
        (reply,) = ask(server, 61, "/watch japan corporates")
        assert reply.startswith("Watching Japan and corporates (U.S. corporate bonds).")
        assert set(watches_of(db, 61)) == {"Japan", "asset:corporate"}
        (reply,) = ask(server, 61, "/watching")
        assert "Japan, corporates (U.S. corporate bonds)" in reply
        assert "Stopped watching 2 names" in ask(server, 61, "/unwatch all")[0]


@pytest.mark.slow  # charts drawn and sent at a chat's pace
def test_chart_of_a_holders_stock_flows(tmp_path: Path, tic_dir: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", read_dir(tic_dir)):
        before = len(server.sent(8))
        server.user_message(8, "/chart grand total stocks")
        (photo,) = server.wait_for(before + 1, timeout=20, chat_id=8)[before:]
        assert photo.method == "sendPhoto"
        assert photo.text == (
            "Grand Total: net foreign purchases of U.S. stocks, monthly, last 5 years"
            " (record: +163.6bn in Jun 2025)"
        )
        png = server.file_bytes(photo.file_id)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and 20_000 < len(png) < 400_000
        assert struct.unpack(">II", png[16:24]) == (800, 450)  # the IHDR's width and height
        (reply,) = ask(server, 8, "/chart vietnam stocks")
        assert reply.startswith("No net-flow data for Vietnam in U.S. stocks")
        (reply,) = ask(server, 8, "/chart grand total foreign securities 1")
        assert "in the last 1 years (the newest is Jan 2023)" in reply
        (reply,) = ask(server, 8, "/chart japan stonks")
        assert "Did you mean: Japan stocks?" in reply
        (reply,) = ask(server, 8, "/chart grand total")  # the default stays the holdings chart
        assert reply.startswith("Grand Total: holdings of U.S. Treasuries")


def test_the_view_marks_the_record_and_the_source_switch(real_panel, rules):
    view = ReleaseView(real_panel, tuple(rules))
    got = view.flow_chart("Grand Total", ("equity_net",), "net foreign purchases of U.S. stocks", 5)
    assert got is not None
    assert (got.record, round(got.record_value, 1), got.record_shown) == (
        pd.Period("2025-06", "M"),
        163.6,
        True,
    )
    assert got.switch == pd.Period("2023-02", "M")
    assert got.missing == ()
    assert view.flow_chart("Vietnam", ("equity_net",), "stocks", 5) is None


def months(first: str, values: list[float | None]) -> pd.Series:
    index = pd.period_range(first, periods=len(values), freq="M")
    return pd.Series(values, index=index, dtype=float).dropna()


def test_flow_chart_marks_the_record_and_never_fills_a_gap():
    flows = months("2021-01", [5, -3, None, None, 8, -12, 4] + [1.0] * 17)  # to Dec 2022
    sources = pd.Series("s1_globl.txt", index=flows.index).where(
        flows.index < pd.Period("2022-06", "M"), "slt_table1.txt"
    )
    got = flow_chart(flows, "Test: net purchases, monthly, $bn", pd.Period("2022-12", "M"), 2, sources)
    assert got is not None and got.png.startswith(b"\x89PNG")
    assert (got.record, got.record_value, got.record_shown) == (pd.Period("2021-06", "M"), -12.0, True)
    assert got.missing == (pd.Period("2021-03", "M"), pd.Period("2021-04", "M"))
    assert got.switch == pd.Period("2022-06", "M")
    one = flow_chart(flows, "t", pd.Period("2022-12", "M"), 1, sources)  # the record is before 2022
    assert one is not None and (one.record, one.record_shown) == (pd.Period("2021-06", "M"), False)
    assert one.switch == pd.Period("2022-06", "M")
    assert flow_chart(flows, "t", pd.Period("2030-12", "M"), 1) is None  # no figure in those years
    assert flow_chart(pd.Series(dtype=float), "t", pd.Period("2022-12", "M"), 5) is None
