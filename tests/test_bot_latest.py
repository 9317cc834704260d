"""/latest shows what the alert showed: the same caption on the same chart, then the same text,
in alerts mode and in summary mode."""

from __future__ import annotations

import pytest
from conftest import MARCH_EDITION
from poll_helpers import T5, editions
from release_helpers import SETTINGS, release_day

from bot.data.load import release_files
from bot.notify.runtime import make_view


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
        held = release_files(day.store.held_bodies())  # what the poller handed over
        day.bot.chatbot.view = make_view(held, SETTINGS.groups, day.bot.rules)
        for chat in (201, 202):
            alert = day.telegram.sent(chat)
            assert alert[0].method == "sendPhoto"
            day.telegram.user_message(chat, "/latest")
            got = day.telegram.wait_for(2 * len(alert), timeout=20, chat_id=chat)[len(alert) :]
            assert [(s.method, s.text) for s in got] == [(s.method, s.text) for s in alert]
            assert day.telegram.file_bytes(got[0].file_id) == day.telegram.file_bytes(alert[0].file_id)
        assert len(day.telegram.sent(202)) > len(day.telegram.sent(201))  # the summary follows
