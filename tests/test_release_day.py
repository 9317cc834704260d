"""Release day end to end: fake Treasury → poller → dispatcher → outbox → sender → fake Bot API."""

from __future__ import annotations

import time

import pytest
from conftest import MARCH_EDITION
from poll_helpers import MFH, T3, T5, editions
from release_helpers import release_day

from bot.render.alert import alert_messages, anew
from bot.render.limits import CAPTION_LIMIT
from bot.render.stories import TOLD
from bot.store.outbox import DeliveryState, Outbox
from bot.watch.outcomes import Handovers


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


def texts(day, chat_id: int, edits: bool = False) -> list[str]:
    return [s.text or "" for s in day.telegram.sent(chat_id, edits=edits)]


def test_each_chat_gets_its_own_alert_once_then_an_edit_when_table3_arrives(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-03"])
        assert "new release 2026-03" in day.poll(0)  # the store's first release: a baseline
        day.subscribe(101)
        day.subscribe(102, holdings_3m_drop=100)  # Japan + China's -58.7 is below it
        day.subscribe(103, **{r.id.replace("-", "_"): None for r in day.bot.rules})  # every rule off
        day.subscribe(104)
        day.subscribers.watch(104, "Belgium")
        day.subscribers.touch(105, "private", "", day.clock())  # met the bot, never subscribed
        assert day.settle() == {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "blocked": 0}
        assert day.telegram.sent() == []  # a baseline alerts nobody

        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        assert "new release 2026-04" in day.poll()
        day.settle()
        first = texts(day, 101)
        assert len(first) == 1
        assert day.telegram.sent(101)[0].method == "sendPhoto"
        # China's multi-year low (651.1bn) persists from earlier releases: told then, not again
        # (issue 8; 0.2% below March's, since the same Sep 2008). Round two: the largest holders'
        # runs and records are a second story, the round-up (the UK's record high)
        assert "TIC release: data for April 2026</b> · 2 alerts" in first[0]
        assert "United Kingdom holdings at 937.5bn in Apr 2026: a record high" in first[0]
        assert "Japan + China holdings fell 58.7bn" in first[0]
        assert "651.1bn" not in first[0]
        assert "net transactions n.a." in first[0]  # slt_table3 is not out yet
        assert len(first[0]) <= CAPTION_LIMIT
        (other,) = texts(day, 102)  # Japan + China's -58.7 is below its threshold: the round-up only
        assert "Japan + China" not in other.split("\n")[2] and "· 1 alert" in other
        assert texts(day, 103) == []
        assert texts(day, 104) == []
        assert texts(day, 105) == []
        assert day.telegram.uploads == 2  # one chart per distinct first event (101's, 102's)

        for _ in range(3):  # the same release polled again: nothing more
            assert "nothing new" in day.poll()
        day.settle()
        assert len(day.telegram.sent()) == 2

        day.treasury.publish(T3, eds["2026-04"][T3], day.clock.epoch() + 1)
        assert "slt_table3.txt shows release 2026-04" in day.poll()
        counts = day.settle()
        # an edit each for 101 and 102 (the round-up's runs get their net transactions too)
        assert counts == {"pending": 0, "sending": 0, "sent": 4, "failed": 0, "blocked": 0}
        edits = [s for s in day.telegram.sent(101, edits=True) if s.method == "editMessageCaption"]
        assert len(edits) == 1
        assert "net transactions -58.6 (SLT Table 3; Japan -14.5" in edits[0].text
        assert day.telegram.message(101, day.telegram.sent(101)[0].message_id)["caption"].count("58.7bn") == 1
        assert len(texts(day, 101)) == 1 and len(texts(day, 102)) == 1  # edited in place, never sent again

        day.treasury.publish(MFH, eds["2026-04"][MFH], day.clock.epoch() + 1)
        day.poll()
        day.settle()
        assert len(day.telegram.sent(edits=True)) == 4  # a photo and an edit each for 101 and 102


@pytest.mark.slow  # a release day end to end (one stays fast: the test above)
def test_an_event_that_needs_table3_comes_as_a_follow_up(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-02"])
        day.poll(0)
        day.subscribe(201)
        day.treasury.publish(T5, eds["2026-03"][T5], day.clock.epoch() + 1)
        day.poll()
        day.settle()
        alert = texts(day, 201)  # a photo, and text for the stories its caption cannot hold
        assert 1 <= len(alert) <= 2
        assert day.telegram.sent(201)[0].method == "sendPhoto"
        assert not any("net sellers" in m or "net sales" in m for m in alert)
        day.treasury.publish(T3, eds["2026-03"][T3], day.clock.epoch() + 1)
        day.poll()
        day.settle()
        sent = texts(day, 201)
        assert len(sent) == len(alert) + 1
        assert "TIC release update" in sent[-1]
        assert "Foreign Official: net sales of notes &amp; bonds of 37.9bn" in sent[-1]
        day.poll()
        day.settle()
        assert len(texts(day, 201)) == len(alert) + 1


@pytest.mark.slow  # a release day with faults, end to end
def test_telegram_errors_per_chat(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        for chat in (301, 302, 303, 304):
            day.subscribe(chat)
        day.subscribe(-305, chat_type="group")
        day.telegram.fail_next("sendPhoto", 429, parameters={"retry_after": 1}, chat_id=301)
        day.telegram.blocked_chats.add(302)
        day.telegram.migrated[-305] = -100305
        day.telegram.fail_next("sendPhoto", 502, chat_id=303)
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        day.poll()
        counts = day.settle(timeout=30)
        assert counts == {"pending": 0, "sending": 0, "sent": 4, "failed": 0, "blocked": 1}
        for chat in (301, 303, 304, -100305):
            assert len(texts(day, chat)) == 1, chat
        assert texts(day, 302) == []
        assert day.subscribers.get(302).blocked
        assert day.subscribers.get(-305) is None
        assert day.subscribers.get(-100305).active
        assert day.telegram.uploads == 1  # uploaded once; every other chat got the file_id


def test_a_stop_between_the_outbox_and_the_send_loses_nothing(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        day.subscribe(401)
        day.subscribe(402)
        day.bot.runtime._stop.set()  # the sender stops: rows stay in the outbox
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        day.poll()
        outbox = Outbox(day.store.conn)
        rows = outbox.of_release("2026-04")
        assert [r.state for r in rows] == ["pending", "pending"]
        outbox.set_state(rows[0].id, DeliveryState.SENDING, now=day.clock())  # as if killed mid-send
    assert day.telegram.sent() == []
    with release_day(tmp_path, db=db_url) as again:  # a new process on the same database
        counts = again.settle()
        assert counts["sent"] == 2
        assert len(texts(again, 401)) == 1
        assert len(texts(again, 402)) == 1


def test_a_caption_too_long_splits_and_nothing_is_dropped():
    from bot.rules.events import Event

    events = [
        Event(
            "2026-04",
            "r",
            "change",
            "major",
            f"Country {i} " + "x" * 250,  # five stories do not fit one caption
            "holdings",
            3,
            "2026-02",
            "2026-04",
            -10.0 - i,
            -10.0 - i,
            5,
            "bn",
            "decline",
        )
        for i in range(40)
    ]
    messages = alert_messages(["2026-04"], events)
    assert len(messages) > 1  # the stories told do not fit the caption: they follow as text
    assert len(messages[0]) <= CAPTION_LIMIT
    assert all(len(m) <= 4096 for m in messages)
    joined = "\n".join(messages)
    # the TOLD stories (40 holders: 40 stories), in order; the rest counted, for /latest: never silently
    assert [joined.index(f"Country {i} ") for i in range(TOLD)] == sorted(
        joined.index(f"Country {i} ") for i in range(TOLD)
    )
    assert not any(f"Country {i} " in joined for i in range(TOLD, 40))
    assert f"… and {40 - TOLD} more: /latest" in messages[-1]
    assert "· 40 alerts" in messages[0]


@pytest.mark.slow  # two releases end to end
def test_a_two_month_release_alerts_on_each_month_and_summaries_reach_channels(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url, channels=(-1001,)) as day:
        day.treasury.publish_all(eds["2026-02"])
        day.poll(0)
        day.subscribe(501)
        day.subscribe(502)
        day.subscribers.set_mode(502, "summary", day.clock())
        for rule in day.bot.rules:  # 503 wants only the summary: every rule off
            day.subscribe(503, **{rule.id.replace("-", "_"): None})
        day.subscribers.set_mode(503, "summary", day.clock())
        day.subscribe(504, **{rule.id.replace("-", "_"): None for rule in day.bot.rules})
        # after a shutdown, one release adds two months (March and April)
        day.treasury.publish_all(eds["2026-04"], day.clock.epoch() + 1)
        message = day.poll()
        assert "new release 2026-04" in message
        day.settle()
        alert = "\n".join(texts(day, 501))
        assert "data for March 2026 and April 2026" in alert
        assert "Mar 2026" in alert and "Apr 2026" in alert  # events of both months
        summary = texts(day, 502)
        assert len(summary) == 2
        assert "Grand Total" in summary[1]
        (only_summary, rest) = texts(day, 503)
        assert "no alert for your rules" in only_summary
        assert "Grand Total" in rest
        assert texts(day, 504) == []
        channel = texts(day, -1001)
        assert len(channel) == 2
        assert "Grand Total" in channel[1]


def test_companion_faults_reach_the_operators(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url, admins=(900,)) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        day.treasury.inject(T3, "500", times=10)
        for _ in range(4):
            day.poll()
        day.settle()
        (warning,) = texts(day, 900)
        assert "operator event: failures" in warning
        assert "slt_table3.txt" in warning


@pytest.mark.slow  # a release day, killed and run again
def test_a_kill_between_detection_and_the_outbox_commit_still_alerts_once(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        day.subscribe(601)
        dispatch = day.poller.handover

        class DieBeforeCommit:  # the dispatcher's rows are written in the hand-over's transaction …
            def prepare(self, release, panel):
                return self

            def commit(self):
                raise KeyboardInterrupt  # … and the process dies before it commits

        killed = Handovers((dispatch, DieBeforeCommit()))
        day.poller.handover = killed
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        with pytest.raises(KeyboardInterrupt):
            day.poll()
        assert day.outbox.of_release("2026-04") == []  # nothing half-written
        assert day.store.release("2026-04") is not None  # the release itself was recorded
        day.poller.handover = dispatch  # the restarted poller hands it over on its next poll
        assert "nothing new" in day.poll()
        day.settle()
        assert len(texts(day, 601)) == 1
        day.treasury.publish(T3, eds["2026-04"][T3], day.clock.epoch() + 1)
        day.poller.handover = killed  # killed again, during the companion's update
        with pytest.raises(KeyboardInterrupt):
            day.poll()
        day.poller.handover = dispatch
        day.poll()
        day.settle()
        assert len(texts(day, 601)) == 1
        assert len(day.telegram.sent(601, edits=True)) == 2


@pytest.mark.slow  # a release day with faults, end to end
def test_review_cases_photos_refused_own_groups_order_and_429(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        day.subscribe(-701, chat_type="group")  # a group where the bot may not send photos
        day.telegram.fail_next(
            "sendPhoto", 400, "Bad Request: not enough rights to send photos to the chat", chat_id=-701
        )
        day.subscribe(702)
        day.subscribers.set_group(702, "Asia pair", ("Japan", "China, Mainland"))
        day.subscribers.watch(702, "Asia pair")
        day.subscribe(703)
        day.subscribers.watch(703, "Belgium")
        day.subscribe(704)  # Telegram says 429 three times: the sender waits, then the same row goes out
        day.telegram.fail_next("sendPhoto", 429, parameters={"retry_after": 1}, count=3, chat_id=704)
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        day.poll()
        counts = day.settle(timeout=40)
        assert counts["failed"] == 0
        assert counts["sent"] == 3
        (as_text,) = day.telegram.sent(-701)
        assert as_text.method == "sendMessage"
        assert "Japan + China holdings fell 58.7bn" in as_text.text
        assert "Japan + China" in texts(day, 702)[0]  # watching an own group of its members
        assert texts(day, 703) == []
        assert len(texts(day, 704)) == 1
        assert day.telegram.count_429 >= 3


@pytest.mark.slow  # two releases and a migration
def test_a_group_migrated_after_its_alert_gets_the_update_not_a_second_alert(tmp_path, eds):
    with release_day(tmp_path) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        day.subscribe(-801, chat_type="group")
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        day.poll()
        day.settle()
        new = day.telegram.migrate(-801)  # Telegram tells the bot in two service messages
        deadline = time.monotonic() + 10
        while day.subscribers.get(new) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert day.subscribers.get(-801) is None
        day.treasury.publish(T3, eds["2026-04"][T3], day.clock.epoch() + 1)
        day.poll()
        assert day.settle()["failed"] == 0
        (update,) = day.telegram.sent(new, edits=True)  # the alert's update, not the alert again
        assert (update.method, update.text.split("\n")[0]) == ("sendMessage", anew("x").split("\n")[0])
        assert [c.method for c in day.telegram.calls(chat_id=-801)] == ["sendPhoto"]  # nothing tried there


@pytest.mark.slow  # a release day with the bot's view, end to end
def test_the_bot_adopts_what_the_hand_over_built(tmp_path, eds):
    """In `run` the poller's hand-over offers the bot the release as the dispatcher built it: the
    view takes its candidates, summary and renderer (with the charts it drew) instead of firing
    the rules and building the summary again; /latest then answers from them (review 12)."""
    from bot.wiring import OfferRelease

    with release_day(tmp_path) as day:
        runtime = day.bot.runtime
        offered = []

        def offer(panel, candidates, messages):
            offered.append((candidates, messages))
            runtime.offer(panel, candidates, messages)

        day.poller.handover = OfferRelease(day.dispatcher, offer)
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)  # a baseline: nothing dispatched, the panel alone
        assert offered == [((), None)]
        day.subscribe(701)
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        assert "new release 2026-04" in day.poll()
        day.settle()
        (candidates,), messages = offered[1]
        deadline = time.monotonic() + 20
        while (day.bot.chatbot.view is None or day.bot.chatbot.view.month != "2026-04") and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        view = day.bot.chatbot.view
        assert view.month == "2026-04"
        assert view.release is candidates  # the rules fired once, by the dispatcher
        assert view.summary is messages.summary  # one summary
        assert view._messages is messages  # its renderer, with the chart it drew
        charts = len(messages.charts)
        day.telegram.user_message(701, "/latest")
        alert = day.telegram.sent(701)
        got = day.telegram.wait_for(2 * len(alert), timeout=20, chat_id=701)[len(alert) :]
        assert [s.text for s in got] == [s.text for s in alert]
        assert len(messages.charts) == charts  # no chart drawn again
