"""One release's messages as chats get them: the summary after an alert agrees with the alert."""

from __future__ import annotations

import pytest

from bot.render.alert import ReleaseMessages
from bot.render.limits import CAPTION_LIMIT, TEXT_LIMIT, telegram_length
from bot.render.summary import build_summary
from bot.render.text import summary_html
from bot.rules.release import ReleaseCandidates


@pytest.fixture(scope="module")
def messages(real_panel):
    month = str(real_panel.latest())
    return ReleaseMessages(month, [month], real_panel)


@pytest.fixture(scope="module")
def events(real_panel, rules):
    return ReleaseCandidates(real_panel, rules).fire()[:3]


def test_a_summary_chats_alert_ends_with_the_summary(messages, events):
    texts, _ = messages.alert(events, every=True)
    assert "Grand Total" in texts[-1]


def test_the_summary_after_an_alert_does_not_say_no_alert_fires(messages, events):
    texts, _ = messages.alert(events, every=True)
    assert not any("No alert fires" in t for t in texts)


def test_the_summary_fits_one_message(real_panel):
    assert telegram_length(summary_html(build_summary(real_panel))) <= TEXT_LIMIT


def test_the_caption_fits_a_caption(messages, events):
    texts, _ = messages.alert(events, every=False)
    assert telegram_length(texts[0]) <= CAPTION_LIMIT


def test_chats_with_the_same_events_share_one_rendering(messages, events):
    assert messages.alert(events, every=False)[0] is messages.alert(list(events), every=False)[0]
