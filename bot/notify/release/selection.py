"""Which events each chat gets: its thresholds, mutes and watches applied to the release's events.

Pure: the release's candidates (built once), the rule catalogue, the chat's settings and the day
in, the chat's events out. The release-day broadcast (:func:`recipients`) and /latest use the same
functions, so what /latest shows is what the alert said.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.data.entities import Group
from bot.notify.people.assets import event_assets
from bot.rules.catalogue import AGGREGATES, Rule
from bot.rules.events import Event
from bot.rules.overrides import Override
from bot.rules.release import ReleaseCandidates
from bot.store.subscribers import ASSET_PREFIX, Chat, ChatMode


@dataclass(frozen=True)
class Recipient:
    """A chat (or channel) and the events it gets of a release."""

    chat_id: int
    events: tuple[Event, ...]
    every: bool  # it hears of every release, events or not (summary mode, a channel): with the summary


def overrides_for(chat: Chat, rules: Sequence[Rule], today: dt.date) -> dict[str, Override]:
    """The chat's settings as the rules stage takes them: rule id → :class:`Override`."""
    out: dict[str, Override] = {}
    for rule in rules:
        s = chat.rules.get(rule.id)
        if s is None:
            continue
        if chat.muted(rule.id, today) or s.enabled is False:
            out[rule.id] = Override(off=True)
            continue
        threshold = None
        if s.threshold is not None and rule.spec.threshold_ok(s.threshold):
            threshold = s.threshold
        elif s.enabled is True:
            threshold = rule.threshold
        if threshold is not None or s.floor is not None:
            out[rule.id] = Override(threshold, s.floor)
    return out


def watched(event: Event, watches: Sequence[str], groups: Mapping[str, Sequence[str]] | None = None) -> bool:
    """An event a watching chat gets: of a watched asset (a chat that watches none gets every
    asset), and on a watched entity, on a group holding one (a chat's own group stands for its
    members), with a watched member folded in, telling a group's move that holds a watched one
    (:attr:`Event.within`), or on an aggregate (a chat that watches no entity gets every one)."""
    assets = event_assets(watches)
    if assets and event.asset not in assets:
        return False
    entities = [w for w in watches if not w.startswith(ASSET_PREFIX)]
    if not entities or event.entity in AGGREGATES:
        return True
    groups = groups or {}
    names = set(entities)
    for name in entities:
        names.update(groups.get(name, ()))
    members = set(groups.get(event.entity, ())) | set(event.suppressed)
    for group, _ in event.within:
        members |= {group, *groups.get(group, ())}
    return event.entity in names or bool(members & names)


def chat_events(
    release: ReleaseCandidates,
    chat: Chat,
    rules: Sequence[Rule],
    today: dt.date,
    groups: Sequence[Group] = (),
) -> list[Event]:
    """The events this chat gets for the release, biggest story first (``groups``: the
    configured groups, whose events reach a chat watching one of their members)."""
    events = release.fire(overrides_for(chat, rules, today), checked=True)
    known = {g.name: g.members for g in groups} | dict(chat.groups)
    return [e for e in events if watched(e, chat.watches, known)]


def recipients(
    releases: Sequence[ReleaseCandidates],
    chats: Sequence[Chat],
    channels: Sequence[int],
    rules: Sequence[Rule],
    today: dt.date,
    groups: Sequence[Group] = (),
) -> list[Recipient]:
    """Every chat's events of a release (of each of its new months, in order), then the channels'
    (the aggregates' events); chats with the same settings share one selection."""
    chosen: dict[tuple, tuple[Event, ...]] = {}
    out = []
    for chat in chats:
        own = tuple(sorted((n, tuple(m)) for n, m in chat.groups.items()))
        key = (tuple(sorted(overrides_for(chat, rules, today).items())), chat.watches, own)
        if key not in chosen:
            chosen[key] = tuple(e for r in releases for e in chat_events(r, chat, rules, today, groups))
        out.append(Recipient(chat.chat_id, chosen[key], chat.mode == ChatMode.SUMMARY))
    for channel in channels:
        events = tuple(e for r in releases for e in r.fire() if e.entity in AGGREGATES)
        out.append(Recipient(channel, events, True))
    return out
