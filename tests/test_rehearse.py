"""`tic-alert rehearse`: the newest release's alert to a few chats through the outbox and the real
sender, against the fake Bot API; marked as a rehearsal, and leaving subscribers' state alone."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from telegram_server import TelegramServer

from bot.cli import main
from bot.config import load_settings
from bot.notify import rehearsal
from bot.notify.release.dispatch import Dispatcher
from bot.notify.settings import TelegramSettings
from bot.store.outbox import DeliveryKind, Outbox
from bot.store.state import Store
from bot.store.subscribers import Subscribers

TOKEN = "123456:TEST-token-that-must-never-be-logged"
MARK = "<b>Rehearsal — not a new release</b>\n"


@pytest.fixture
def telegram(tmp_path: Path, monkeypatch):
    with TelegramServer() as server:
        monkeypatch.setenv("TIC_ALERT_DB", str(tmp_path / "tic.db"))
        monkeypatch.setenv("TIC_ALERT_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TIC_ALERT_TELEGRAM_API_URL", server.base_url)
        monkeypatch.setenv("TIC_ALERT_ADMINS", "900")
        yield server


def subscribe(store: Store, *chats: int) -> None:
    subs, now = Subscribers(store.conn), dt.datetime.now(dt.UTC)
    with store.conn:
        for chat in chats:
            subs.touch(chat, "private", "", now)
            subs.set_subscribed(chat, True, now)


def test_the_chat_gets_the_marked_alert_subscribers_nothing_and_the_real_release_still_alerts(
    telegram, tmp_path, tic_dir, real_panel, rules, capsys
):
    store = Store(tmp_path / "tic.db")
    subscribe(store, 42, 101)
    try:
        assert main(["rehearse", "--data-dir", str(tic_dir), "--chat", "42"]) == 0
        out = capsys.readouterr().out
        assert "rehearsal rehearsal:2026-04:" in out and "chat 42: sent 2 message(s)" in out
        sent = telegram.sent(42)
        assert sent[0].method == "sendPhoto" and sent[0].text.startswith(MARK + "<b>TIC release: data")
        assert telegram.sent(101) == [] and telegram.sent(900) == []  # --chat: not the admins either
        outbox = Outbox(store.conn)
        assert outbox.told("2026-04") == [] and outbox.latest_release() is None
        (row,) = [r for r in outbox.of_release(sent_release(out))]
        assert row.kind == DeliveryKind.TEST and row.key.startswith("rehearsal:2026-04:")

        # release day: the hand-over of 2026-04 alerts both subscribers, the rehearsed chat too
        dispatcher = Dispatcher(store.conn, rules=rules, groups=load_settings(env={}).groups)
        with store.conn:
            assert dispatcher.dispatch("2026-04", ("2026-04",), real_panel).alerts == 2
        settings = TelegramSettings(api_url=telegram.base_url, admins=(900,), request_timeout_seconds=2.0)
        rows, _ = asyncio.run(rehearsal.deliver(TOKEN, settings, outbox, "2026-04", 20.0))
        assert {r.chat_id: r.state for r in rows} == {42: "sent", 101: "sent"}
        for chat in (42, 101):
            real = telegram.sent(chat)[-2 if chat == 42 else 0]
            assert real.text.startswith("<b>TIC release: data for April 2026</b>"), real.text[:80]
        assert len(telegram.sent(42)) == 4  # the rehearsal's two messages, then the real two
    finally:
        store.close()


def sent_release(out: str) -> str:
    return out.split()[1].rstrip(":")


@pytest.mark.slow  # its last rehearsal waits out a 3 s timeout, by design
def test_without_chat_the_admins_and_what_failed_is_named(telegram, tmp_path, tic_dir, capsys, monkeypatch):
    db = tmp_path / "tic.db"
    assert main(["rehearse", "--chat", "42"]) == 2  # no --data-dir: the service's database, never a new one
    assert str(db) in capsys.readouterr().err and not db.exists()
    Store(db).close()
    assert main(["rehearse"]) == 2
    assert f"no release held in {db}" in capsys.readouterr().err

    monkeypatch.setenv("TIC_ALERT_ADMINS", "900, 901")
    telegram.missing_chats.add(901)
    telegram.fail_next("sendPhoto", 502, count=100, chat_id=902)
    assert main(["rehearse", "--data-dir", str(tic_dir)]) == 1  # the admins: 901 is not found
    out = capsys.readouterr().out
    assert "chat 900: sent" in out and "chat 901: failed" in out and "Chat not found" in out
    assert telegram.sent(900)[0].text.startswith(MARK)

    assert main(["rehearse", "--data-dir", str(tic_dir), "--chat", "902", "--timeout", "3"]) == 1
    out = capsys.readouterr().out
    assert "chat 902: failed not sent within 3 s" in out and "Bad Gateway" in out
    conn = Store(db)
    try:  # given up: no later sender sends it
        assert Outbox(conn.conn).counts()["pending"] == 0
    finally:
        conn.close()
