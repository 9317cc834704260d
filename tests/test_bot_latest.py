"""/latest shows what the alert showed: the same caption on the same chart, then the same text,
in alerts mode and in summary mode; /testalert sends that alert through the outbox and the sender."""

from __future__ import annotations

import pytest
from bot_helpers import RunningBot
from conftest import MARCH_EDITION
from poll_helpers import T5, editions
from release_helpers import SETTINGS, release_day
from telegram_server import TelegramServer

from bot.data.load import only_release_files, read_dir
from bot.notify.runtime import make_view
from bot.store.outbox import DeliveryKind, DeliveryState, Outbox


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


def test_latest_mirrors_the_alert_each_chat_got(tmp_path, eds):
    with release_day(tmp_path) as day:
        day.treasury.publish_all(eds["2026-03"])
        assert "new release 2026-03" in day.poll(0)  # the baseline
        day.subscribe(201)
        day.subscribe(202)
        day.subscribers.set_mode(202, "summary", day.clock())
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        assert "new release 2026-04" in day.poll()
        day.settle()
        held = only_release_files(day.store.held_bodies())  # what the poller handed over
        day.bot.chatbot.view = make_view(held, SETTINGS.groups, day.bot.rules)
        for chat in (201, 202):
            alert = day.telegram.sent(chat)
            assert alert[0].method == "sendPhoto"
            day.telegram.user_message(chat, "/latest")
            got = day.telegram.wait_for(2 * len(alert), timeout=20, chat_id=chat)[len(alert) :]
            assert [(s.method, s.text) for s in got] == [(s.method, s.text) for s in alert]
            assert day.telegram.file_bytes(got[0].file_id) == day.telegram.file_bytes(alert[0].file_id)
        assert len(day.telegram.sent(202)) > len(day.telegram.sent(201))  # the summary follows


def test_testalert_goes_through_the_outbox_and_the_sender(tmp_path, tic_dir):

    with (
        TelegramServer() as server,
        RunningBot(server, tmp_path / "s.db", read_dir(tic_dir), admins=(1,)) as bot,
    ):
        server.user_message(1, "/latest")
        (latest,) = server.wait_for(1, timeout=20, chat_id=1)
        server.user_message(1, "/testalert")
        got = server.wait_for(3, timeout=20, chat_id=1)[1:]
        photo = next(s for s in got if s.method == "sendPhoto")
        assert photo.text == latest.text  # the same alert, now as a delivery
        assert any("Test alert queued for 2026-04" in (s.text or "") for s in got)
        (row,) = [d for d in Outbox(bot.store.conn).of_release("test")]
        assert row.kind is DeliveryKind.TEST
        assert row.state is DeliveryState.SENT
        assert row.chat_id == 1
