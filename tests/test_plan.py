"""plan(): what a chat is still owed of a release, given what it was told (pure)."""

from __future__ import annotations

from bot.notify.release.plan import NOTHING, Need, Owed, plan
from bot.render.alert import event_digest
from bot.rules.events import Event
from bot.store.outbox import DeliveryKind, Told


def event(entity: str, value: float = -50.0) -> Event:
    return Event(
        "2026-04", "holdings-3m-drop", "change", "major", entity, "holdings", 3, "2026-02", "2026-04",
        value, abs(value), 40.0, "bn", "decline",
    )  # fmt: skip


def told(
    id: int,
    *events: Event | tuple[str, str],
    kind: DeliveryKind = DeliveryKind.ALERT,
    edit_of: int | None = None,
) -> Told:
    """A delivery of this release; an event given as (key, digest) was told with other details."""
    pairs = tuple(e if isinstance(e, tuple) else (e.key, event_digest(e)) for e in events)
    return Told(
        id=id, chat_id=1, kind=kind, events=pairs, edit_of=edit_of, chart_id=1, head="<b>head</b>", count=1
    )


JAPAN, CHINA = event("Japan"), event("China, Mainland")


def test_a_chat_told_nothing_gets_an_alert_with_its_events():
    assert plan([], [JAPAN, CHINA], every=False) == [Owed(Need.ALERT, (JAPAN, CHINA))]


def test_no_events_no_alert():
    assert plan([], [], every=False) == [NOTHING]


def test_a_chat_that_hears_of_every_release_gets_an_alert_without_events():
    assert plan([], [], every=True) == [Owed(Need.ALERT, ())]


def test_a_chat_told_everything_is_owed_nothing():
    assert plan([told(1, JAPAN)], [JAPAN], every=False) == [NOTHING]


def test_events_that_fire_only_now_come_as_a_follow_up():
    assert plan([told(1, JAPAN)], [JAPAN, CHINA], every=False) == [Owed(Need.FOLLOWUP, (CHINA,))]


def test_an_event_whose_details_changed_is_an_edit_of_its_delivery():
    alert = told(1, (JAPAN.key, "details-before-table3"))
    assert plan([alert], [JAPAN], every=False) == [Owed(Need.EDIT, (JAPAN,), of=alert)]


def test_a_follow_up_comes_before_the_edits():
    alert = told(1, (JAPAN.key, "details-before-table3"))
    assert [o.need for o in plan([alert], [JAPAN, CHINA], every=False)] == [Need.FOLLOWUP, Need.EDIT]


def test_an_edit_already_made_is_not_made_again():
    alert = told(1, (JAPAN.key, "details-before-table3"))
    edit = told(2, JAPAN, kind=DeliveryKind.EDIT, edit_of=1)
    assert plan([alert, edit], [JAPAN], every=False) == [NOTHING]


def test_an_edit_never_drops_an_event_that_stopped_firing():
    alert = told(1, (JAPAN.key, "details-before-table3"), CHINA)
    assert plan([alert], [JAPAN], every=False) == [NOTHING]


def test_an_event_told_is_never_told_again_after_it_stopped_and_came_back():
    alert = told(1, JAPAN)
    follow = told(2, CHINA, kind=DeliveryKind.FOLLOWUP)
    assert plan([alert, follow], [CHINA, JAPAN], every=False) == [NOTHING]
