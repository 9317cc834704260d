"""/latest shows what the alert showed: the same caption on the same chart, then the same text,
in alerts mode and in summary mode, and every story where the alert told the 5 rarest; /testalert
sends that alert through the outbox and the sender."""

from __future__ import annotations

import datetime as dt

import pytest
from bot_helpers import RunningBot
from conftest import MARCH_EDITION
from poll_helpers import T5, editions
from release_helpers import SETTINGS, release_day
from rule_panels import cut
from telegram_server import TelegramServer
from waits import wait_until

from bot.data.load import only_release_files, read_dir
from bot.notify.people.view import ReleaseView
from bot.notify.release.selection import chat_events
from bot.notify.runtime import make_view
from bot.render.limits import CAPTION_LIMIT, TEXT_LIMIT, telegram_length
from bot.rules.events import stories
from bot.store.outbox import DeliveryKind, DeliveryState, Outbox
from bot.store.subscribers import Chat


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


@pytest.mark.slow  # a release day with the bot, end to end
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


@pytest.mark.slow  # the bot and the sender with the real panel
def test_testalert_goes_through_the_outbox_and_the_sender(tmp_path, tic_dir):

    with (
        TelegramServer() as server,
        RunningBot(server, tmp_path / "s.db", read_dir(tic_dir), admins=(1,)) as bot,
    ):
        # /latest: the alert as this chat would get it (a photo, and text for what its caption
        # cannot hold); then /testalert sends the same messages and says it queued them
        expected = len(bot.chatbot.view.alert(bot.chatbot.view.release.fire(), every=False).texts)
        server.user_message(1, "/latest")
        latest = server.wait_for(expected, timeout=20, chat_id=1)
        server.user_message(1, "/testalert")
        got = server.wait_for(2 * expected + 1, timeout=20, chat_id=1)[expected:]
        photo = next(s for s in got if s.method == "sendPhoto")
        assert photo.text == latest[0].text  # the same alert, now as a delivery
        assert any("Test alert queued for 2026-04" in (s.text or "") for s in got)
        row = sent_row(Outbox(bot.store.conn))
        assert row.kind is DeliveryKind.TEST
        assert row.state is DeliveryState.SENT
        assert row.chat_id == 1


def march_view(real_panel, rules) -> ReleaseView:
    return ReleaseView(cut(real_panel, "2026-03"), tuple(rules))


def test_latest_tells_every_story_the_alert_left_out(real_panel, rules):
    """2026-03 has eight stories (six before the round two and the flows): the alert tells the
    five rarest and ends "… and 3 more: /latest"; /latest tells all eight (Canada's record 3-month
    net selling too), each message within Telegram's limits, the caption the alert's own (review
    finding 4)."""
    view = march_view(real_panel, rules)
    events = view.release.fire()
    assert len(stories(events)) == 8
    alert = view.alert(events, every=False)
    latest = view.alert(events, every=False, capped=False)
    assert alert.texts[-1].endswith("… and 3 more: /latest")
    assert "/latest" not in "".join(latest.texts)
    assert "Canada" not in "".join(alert.texts)
    assert "Canada: record net sales of notes &amp; bonds" in "".join(latest.texts)
    assert latest.texts[0] == alert.texts[0]  # the same caption on the same chart
    assert view.alert(events, every=False).texts is alert.texts  # rendered once (/testalert too)
    assert latest.png == alert.png
    assert telegram_length(latest.texts[0]) <= CAPTION_LIMIT
    assert max(telegram_length(t) for t in latest.texts[1:]) <= TEXT_LIMIT
    every = view.alert(events, every=True, capped=False)  # summary mode: the summary comes last
    assert every.texts[-1].endswith(view._messages.summary_html)


@pytest.mark.slow  # every story, at a chat's pace
def test_latest_through_telegram_sends_every_story(tmp_path, real_panel, rules):
    view = march_view(real_panel, rules)
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db") as bot:
        bot.chatbot.view = view
        server.user_message(5, "/start")
        server.wait_for(1, timeout=20, chat_id=5)
        chat = bot.chatbot.subscribers.get(5)
        assert isinstance(chat, Chat)
        today = dt.datetime.now(dt.UTC).date()
        events = chat_events(view.release, chat, bot.rules, today, bot.chatbot.groups)
        want = view.alert(events, every=False, capped=False).texts
        assert len(want) > 1
        before = len(server.sent(5))
        server.user_message(5, "/latest")
        got = server.wait_for(before + len(want), timeout=20, chat_id=5)[before:]
        assert [s.method for s in got] == ["sendPhoto", *["sendMessage"] * (len(want) - 1)]
        assert [s.text for s in got] == list(want)
        assert any("Canada" in s.text for s in got)


def sent_row(outbox: Outbox, timeout: float = 10.0):
    """The test alert's row once the sender has recorded it: the fake holds the message a moment
    before the sender, back from the call, writes 'sent' (longer on a loaded machine)."""

    def recorded():  # -> the row, once it is no longer 'sending'
        (row,) = outbox.of_release("test")
        return row if row.state is not DeliveryState.SENDING else None

    return wait_until(recorded, timeout, what="the test alert's row recorded", every=0.05)
