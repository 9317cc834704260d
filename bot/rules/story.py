"""One story, told once: a release's events on one holder told as one story, a move fired by
several rules told by the rarest, a member's move under its group (its own claim a line of the
group's story), a run or turn a move already says folded away; then the rarest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

import numpy as np

from bot.data.entities import (
    FOREIGN_BONDS,
    FOREIGN_NON_OFFICIAL,
    FOREIGN_OFFICIAL,
    FOREIGN_STOCKS,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    ST_HOLDINGS,
)
from bot.data.panel import Panel
from bot.rules.catalogue import Rule
from bot.rules.events import Event
from bot.rules.kinds import KINDS, Claim, KindName

SAME_MOVE = 0.9  # a group's move this much one member's (the rest ≤ 10%) is that member's move


def inhibit(events: Iterable[Event], panel: Panel) -> list[Event]:
    """Fold member events into the group event that already tells them (one story): the same
    rule, or the same move (window and direction) under another rule that is at least as rare.
    A member's story rarer than its group's (whole years) is told too, and first (:func:`order`).
    Foreign Official is a member of Grand Total here, and a bonds & notes or bills move is a part
    of the same entity's holdings move ("of which Foreign Official −281.0")."""
    events = list(events)
    groups: dict[str, tuple[str, ...]] = {g.name: g.members for g in panel.groups}
    groups[GRAND_TOTAL] = (FOREIGN_OFFICIAL, FOREIGN_NON_OFFICIAL)
    covered: dict[tuple[object, ...], list[int]] = {}
    named = panel_groups(panel)
    for i, e in enumerate(events):
        if e.entity in named:
            for m in groups[e.entity]:
                covered.setdefault((e.release, e.rule, e.basis, m), []).append(i)
        if _tells_moves(e):
            for m in (*groups.get(e.entity, ()), *((e.entity,) if e.basis == HOLDINGS else ())):
                covered.setdefault(_move_of(e, m), []).append(i)
    out: list[Event] = []
    folded: dict[int, list[Event]] = {}
    lines: dict[int, list[Event]] = {}  # group event → its members' own claims, told as lines of it
    levels: set[tuple[object, ...]] = set()  # (release, member, basis, low/high) said so
    for e in events:
        by = covered.get((e.release, e.rule, e.basis, e.entity), [])
        if not by and _tells_moves(e):
            by = [i for i in covered.get(_move_of(e), []) if _tells(events[i], e, groups)]
        if by and (e.entity not in groups or e.basis != HOLDINGS):
            for i in by:
                if all(f is not e for f in folded.setdefault(i, [])):
                    folded[i].append(e)
            if int(e.rarity) <= max(int(events[i].rarity) for i in by):
                host = max(by, key=lambda i: (int(events[i].rarity), -i))
                # a member's low is said once in a release (its move that ends there, or the low;
                # under the first of its groups that tells it)
                level = _level_key(e)
                if _own_claim(e, events[host]) and (level[-1] is None or level not in levels):
                    lines.setdefault(host, []).append(e)
                    levels.add(level)
                continue  # the group's line tells it ("of which"); a member's rarer story leads
        out.append(e)
    if folded:
        # a member's low that its own story states is told there, not again as a line of its group's
        stated = {_level_key(x) for x in out if _said_level(x) is not None}
        own = {id(events[i]): tuple(m for m in ms if _level_key(m) not in stated) for i, ms in lines.items()}
        said = {id(m) for ms in own.values() for m in ms}
        told = {id(events[i]): sorted(f, key=lambda x: -abs(x.size)) for i, f in folded.items()}
        # "of which" figures: members' moves not said as a line (a low's "size" is no claim of it)
        figures = {
            k: tuple(
                (f.entity, f.basis, f.size)
                for f in fs
                if id(f) not in said and KINDS[f.kind].claim != Claim.LEVEL
            )
            for k, fs in told.items()
        }
        out = [
            replace(
                e,
                suppressed=tuple(f.entity for f in told[id(e)]),
                folded=figures[id(e)],
                members=own.get(id(e), ()),
            )
            if id(e) in told
            else e
            for e in out
        ]
    return _into_members(out, groups)


def _own_claim(member: Event, group: Event) -> bool:
    """Does a member's event claim what its group's does not, so that it is a line of the group's
    story ("China, Mainland at 652.3bn, the lowest since Sep 2008") rather than only a figure in
    its "of which": a low or high of its own (a level, or where its move ends), a record where the
    group's is not, or a claim of another kind."""
    if KINDS[member.kind].claim == Claim.LEVEL or member.level_since is not None:
        return _said_level(member) != _said_level(group)
    if KINDS[member.kind].claim != KINDS[group.kind].claim:
        return True
    return _record(member) and not _record(group)


def _level_key(e: Event) -> tuple[object, ...]:
    """What a low/high claim says of whom: release, holder, series, which way and since when."""
    return (e.release, e.entity, e.basis, _said_level(e))


def _said_level(e: Event) -> tuple[str, str | None] | None:
    """The low/high an event states: which way and since when (None: a record; or no level)."""
    if KINDS[e.kind].claim == Claim.LEVEL:
        return (e.direction, e.extreme_since)
    if e.level_since is not None:
        return ("low" if e.value < 0 else "high", e.level_since[1])
    return None


def _record(e: Event) -> bool:
    return KINDS[e.kind].says_record and e.rank is not None and e.rank.rank == 1


def _into_members(events: list[Event], groups: Mapping[str, tuple[str, ...]]) -> list[Event]:
    """A group's move (or run) that a member's own story already tells, at least as rare, and that is
    almost all that member's (:data:`SAME_MOVE`: same months and direction, the other members
    together ≤ 10% of it) is said in that story ("China + Belgium -41.7 (the rest of the group
    -0.7)"), not as a story of its own repeating it (China + Belgium, Mar 2026, and whenever
    Belgium held little: 2007-02, 2008-09, 2011-08)."""
    into: dict[int, list[Event]] = {}
    out = []
    for g in events:
        host = next(
            (
                m
                for m in events
                if m.entity in groups.get(g.entity, ())
                and ((_tells_moves(g) and _tells_moves(m)) or g.kind == m.kind == KindName.STREAK)
                and m.basis == g.basis
                and _move_of(m) == _move_of(g, m.entity)
                and abs(g.size - m.size) <= (1 - SAME_MOVE) * abs(g.size)  # the rest: ≤ 10% of it
                and int(m.rarity) >= int(g.rarity)
            ),
            None,
        )
        if host is None:
            out.append(g)
        else:
            into.setdefault(id(host), []).append(g)
    return [
        replace(e, within=tuple((g.entity, g.size) for g in into[id(e)])) if id(e) in into else e for e in out
    ]


def panel_groups(panel: Panel) -> set[str]:
    return {g.name for g in panel.groups}


def _move_of(e: Event, entity: str | None = None) -> tuple[object, ...]:
    """The move an event tells, for folding: release, window, direction, entity."""
    return (e.release, e.start, e.end, e.value < 0, entity or e.entity)


def _tells_moves(e: Event) -> bool:
    """An event of a kind that tells a move other kinds may find too (:attr:`Kind.tells`)."""
    return KINDS[e.kind].tells is not None


def _tells_rank(e: Event) -> int:
    tells = KINDS[e.kind].tells
    assert tells is not None
    return tells


def _tells(g: Event, e: Event, groups: Mapping[str, tuple[str, ...]]) -> bool:
    """Does event g (a group's, or a holdings move) already tell event e's move, at least as rare?"""
    if g is e or _tells_rank(g) > _tells_rank(e):
        return False
    part = g.basis == HOLDINGS and e.basis in (LT_HOLDINGS, ST_HOLDINGS)  # bonds & notes or bills
    if g.entity == e.entity:
        return part
    return e.entity in groups.get(g.entity, ()) and (g.basis == e.basis or part)


def one_story(events: Iterable[Event], panel: Panel, rules: Sequence[Rule] = ()) -> list[Event]:
    """One story, told once, biggest first: a move fired by several rules is told by the rarest
    (a record replaces the change alert), a member's move is told under its group, then
    :func:`order`."""
    events = list(events)
    best: dict[tuple[str, str, str, str, str, bool], Event] = {}
    place = {r.id: i for i, r in enumerate(rules)}
    for e in events:
        if _tells_moves(e):
            key = _move_key(e)
            held = best.get(key)
            if held is None or _teller(e, place) < _teller(held, place):
                best[key] = e
    events = [e for e in events if not _tells_moves(e) or best[_move_key(e)] is e]
    # a record on an entity's holdings replaces the lesser alerts on it that way, any window
    records = {(e.release, e.entity, e.basis, e.value < 0) for e in events if KINDS[e.kind].replaces_moves}
    events = [
        e
        for e in events
        if not _tells_moves(e)
        or KINDS[e.kind].replaces_moves
        or (e.release, e.entity, e.basis, e.value < 0) not in records
    ]
    # a run (or a turn) told by two rules (a holder's run, and the largest holders' run) is told
    # once, by the first in the catalogue; one whose months are a move's told on the same holder
    # would say its figure again: the move tells it
    runs: dict[tuple[str, str, str, str, str, bool], Event] = {}
    for e in sorted(events, key=lambda e: place.get(e.rule, len(place))):
        if KINDS[e.kind].claim in (Claim.STREAK, Claim.TURN):
            runs.setdefault(_move_key(e), e)
    moves = {_move_key(e) for e in events if _tells_moves(e)}
    events = [
        e
        for e in events
        if KINDS[e.kind].claim not in (Claim.STREAK, Claim.TURN)
        or (runs[_move_key(e)] is e and _move_key(e) not in moves)
    ]
    return order(inhibit(events, panel), rules)


def _move_key(e: Event) -> tuple[str, str, str, str, str, bool]:
    return (e.release, e.entity, e.basis, e.start, e.end, e.value < 0)


def _teller(e: Event, place: Mapping[str, int]) -> tuple[int, int]:
    return (_tells_rank(e), place.get(e.rule, len(place)))


def order(events: Iterable[Event], rules: Sequence[Rule] = ()) -> list[Event]:
    """Story order: by release; each holder's events together, one story
    (:func:`~bot.rules.events.stories`), led by its rarest claim; stories by their lead. Rarest
    first is whole years of :attr:`Event.rarity`, then how much it matters (:func:`weight`:
    $bn size × rank), catalogue order and entity (deterministic)."""
    place = {r.id: i for i, r in enumerate(rules)}
    ranked = sorted(
        events,
        key=lambda e: (
            e.release,
            -int(e.rarity),
            -weight(e),
            place.get(e.rule, len(place)),
            e.rule,
            e.end,
            e.entity,
        ),
    )
    lead: dict[tuple[str, str], int] = {}
    for i, e in enumerate(ranked):
        lead.setdefault((e.release, e.entity), i)
    return sorted(ranked, key=lambda e: lead[(e.release, e.entity)])


def weight(e: Event) -> float:
    """How much an event matters: its $bn size times its rarity (a record ×3, top 3 ×2, a low or
    high in ten or more years ×2)."""
    claim = KINDS[e.kind].claim
    rarity = 1.0
    if e.rank is not None and claim != Claim.STREAK:
        rarity = 3.0 if e.rank.rank == 1 else 2.0 if e.rank.rank <= 3 else 1.0
    elif claim == Claim.LEVEL and e.metric >= 10:
        rarity = 2.0
    size = e.size if np.isfinite(e.size) else 0.0
    return round(abs(size) * rarity * ASSET_WEIGHT.get(e.asset, 1.0), 6)


# U.S. residents' trades in foreign securities weigh half: this bot's readers follow foreigners'
# holdings of and flows into U.S. assets; a record of them leads only when nothing as rare does
ASSET_WEIGHT = {FOREIGN_BONDS: 0.5, FOREIGN_STOCKS: 0.5}
