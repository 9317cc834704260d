"""What a chat is still owed of a release, given what it was told: the hand-over's first stage.

Pure: the chat's outbox rows of the release (what it was told, oldest first) and the events it
gets now in, a list of what to queue out. Like Alertmanager's dedup stage, it asks "what does
this receiver still need?" and answers with a reason:

* told nothing yet → an **alert** with its events (a chat that hears of every release, in summary
  mode or a channel, gets one with no events too); else nothing;
* told before (a companion file came out since) → a **follow-up** with the events that fire only
  now, and an **edit** of each earlier delivery whose events' details changed, or whose release
  summary did (a chat that hears of every release; an edit never drops an event: a delivery whose
  event stopped firing is left as it was);
* otherwise **nothing**: a chat never hears the same event twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.render.alert import SUMMARY, shown
from bot.rules.events import Event
from bot.store.outbox import DeliveryKind, Told


class Need(StrEnum):
    ALERT = "alert"
    FOLLOWUP = "followup"
    EDIT = "edit"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Owed:
    """One thing a chat is owed: the reason, the events to tell, and for an edit what it edits."""

    need: Need
    events: tuple[Event, ...] = ()
    of: Told | None = None


NOTHING = Owed(Need.NOTHING)


def plan(told: Sequence[Told], events: Sequence[Event], *, every: bool, summary: str = "") -> list[Owed]:
    """What the chat is owed now, in the order to queue it; ``[NOTHING]`` when it is up to date.

    ``told``: its rows of this release, oldest first; ``events``: what it gets now, biggest first;
    ``every``: it hears of every release, with or without events, its alert ending with the release
    summary, whose digest is now ``summary``."""
    if not told:
        return [Owed(Need.ALERT, tuple(events))] if events or every else [NOTHING]
    known = {key for d in told for key, _ in d.events}
    owed = []
    new = tuple(e for e in events if e.key not in known)
    if new:
        owed.append(Owed(Need.FOLLOWUP, new))
    current = {e.key: e for e in events}
    for delivery in told:
        if delivery.kind == DeliveryKind.EDIT:
            continue
        keys = [key for key, _ in delivery.events if key != SUMMARY]
        if not all(key in current for key in keys):
            continue
        now = tuple(current[key] for key in keys)
        alert = delivery.kind == DeliveryKind.ALERT
        if dict(shown(now, capped=alert, summary=summary if alert and every else None)) != showing(
            told, delivery
        ):
            owed.append(Owed(Need.EDIT, now, of=delivery))
    return owed or [NOTHING]


def showing(told: Sequence[Told], delivery: Told) -> dict[str, str]:
    """What a delivery shows now (its events' digests as rendered): its own, or those of the newest
    edit of it."""
    digests = dict(delivery.events)
    for d in told:
        if d.kind == DeliveryKind.EDIT and d.edit_of == delivery.id:
            digests.update(dict(d.events))
    return digests
