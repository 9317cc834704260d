"""Events: what a rule found in one release, as frozen values passed from rules to render and outbox.

Every figure is in billions of dollars as the panel holds it (the Treasury's print; $mn files
divided by 1000). Months are ``YYYY-MM`` strings so events compare, hash and serialise simply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.data.entities import TREASURY, asset_of
from bot.rules.kinds import KINDS, SEVERITIES, Claim

# What a caveat says (bot.render words it):
RANKED_ACROSS = "ranked_across"  # the rank's history spans a series break
COMPARED_ACROSS = "compared_across"  # a low/high ("lowest since …") compares levels across a series break
NET_NOT_AVAILABLE = "net_not_available"  # no net transactions for the window (``brk``: the break why)


@dataclass(frozen=True)
class Rank:
    """How a value ranks among the same-direction values of its history, as of the event month.

    ``rank`` 1 is the most extreme of ``of`` values in ``since``..``until``; what is ranked is the
    event's window (its kind, basis, window, direction and unit), or its run for a streak.
    ``previous`` is the most extreme earlier value and its month (the record this one beat or
    did not beat), when there is one.
    """

    rank: int
    of: int
    since: str
    until: str
    previous: tuple[float, str] | None = None


# What a part of a move is (bot.render words it):
NET_TOTAL = "net_total"  # net transactions, bills and bonds & notes
NET_LT = "net_lt"  # net transactions in bonds & notes
NET_BY_MEMBER = "net_by_member"  # a group's net transactions, split by member
VALUATION_LT = "valuation_lt"  # valuation change of bonds & notes
LT_HOLDINGS_CHANGE = "lt_holdings_change"  # change in bonds & notes holdings
REST_AFTER_TOTAL = "rest_after_total"  # remainder after total net and valuation: bills, revisions, rounding
REST_AFTER_LT = "rest_after_lt"  # remainder after bonds & notes net and valuation
REST_AFTER_NET = "rest_after_net"  # remainder after net transactions alone: valuation, bills and other
REMAINDERS = (REST_AFTER_TOTAL, REST_AFTER_LT, REST_AFTER_NET)


@dataclass(frozen=True)
class Part:
    """One component of a holdings move: net transactions or valuation, or what is left over."""

    kind: str  # one of the part kinds above
    value: float | None  # None: the data do not cover the whole window (a break, or no data)
    source: str  # the file(s) the figure comes from, or "derived" for a remainder
    members: tuple[tuple[str, float | None], ...] = ()  # a group's figure per member
    asset: str = TREASURY  # what a valuation or holdings-change part is of

    @property
    def derived(self) -> bool:
        """A remainder: what the other parts do not explain."""
        return self.kind in REMAINDERS


@dataclass(frozen=True)
class Caveat:
    """Something the message must say about an event's figures: ``kind`` is one of
    :data:`RANKED_ACROSS`, :data:`COMPARED_ACROSS`, :data:`NET_NOT_AVAILABLE`; ``brk`` names the
    series break involved, as "label (Mon YYYY)", when there is one."""

    kind: str
    brk: str | None = None


@dataclass(frozen=True)
class Event:
    """One rule firing for one entity and window in one release.

    ``release`` is the data month of the release being evaluated; ``start``..``end`` are the
    flow months the window covers (a stock change runs from end-``start − 1`` to end-``end``).
    ``metric`` is the figure compared with ``threshold`` (a $bn or % magnitude, a rank, a number
    of months, years or places, depending on the rule's kind).
    """

    release: str
    rule: str
    kind: str
    severity: str
    entity: str
    basis: str  # the panel series: holdings, lt_holdings or lt_net
    window: int  # months
    start: str
    end: str
    value: float  # the window's change (stocks) or sum (flows), or the level (multi-year low/high)
    metric: float
    threshold: float
    unit: str  # of value: "bn" or "pct"
    direction: str
    rank: Rank | None = None
    parts: tuple[Part, ...] = ()
    level: float | None = None  # the holdings level at ``end`` where relevant
    streak: int | None = None  # months running (streak)
    extreme_since: str | None = None  # as low/high/large/long last in this month (None: a record)
    rank_from: int | None = None  # place among holders before (rank change)
    rank_to: int | None = None  # place among holders now
    passed: tuple[str, ...] = ()  # holders overtaken (or that overtook) in a rank change
    notes: tuple[Caveat, ...] = ()  # series breaks and other caveats, stated in the message
    suppressed: tuple[str, ...] = field(default=(), compare=False)  # members folded into a group event
    # (member, basis, $bn move) of the events folded into this one
    folded: tuple[tuple[str, str, float], ...] = field(default=(), compare=False)
    # members' events on this group's move (or level) that claim what it does not (a low of
    # their own, a record): told as lines of this story, not as stories of their own
    members: tuple[Event, ...] = field(default=(), compare=False)
    # (group, $bn move) of a group's events on the same move told in this member's story instead
    within: tuple[tuple[str, float], ...] = field(default=(), compare=False)
    size: float = field(default=0.0, compare=False)  # $bn the story is about: its move (or level move)
    # years since something as large, as long, as far or as high (capped: bot.rules.rarity)
    rarity: float = field(default=0.0, compare=False)
    # a holdings move's end level when it is a claim of its own: years since as low (a decline) or
    # as high (a rise), and that month (None: a record over the unbroken run of months); None: not
    # a holdings move, or not as low (high) in two years (its breaks are in ``notes``)
    level_since: tuple[float, str | None] | None = field(default=None, compare=False)
    calendar_year: bool = False  # a calendar year's flow, ranked among calendar years

    @property
    def asset(self) -> str:
        """The asset class the event is about (treasury, equity, corporate, agency, total_lt, …)."""
        return asset_of(self.basis)

    @property
    def key(self) -> str:
        """Deterministic identity: release, rule, entity, window (and the asset, for a rule that
        reads several: ``|equity``; Treasury events keep the key they always had)."""
        key = f"{self.release}|{self.rule}|{self.entity}|{self.start}..{self.end}"
        return key if self.asset == TREASURY else f"{key}|{self.asset}"


@dataclass(frozen=True)
class Story:
    """A release's events on one holder, told as one paragraph: the rarest claim leads (its
    headline), the others follow as clauses. Events stay what thresholds fire, the outbox tracks
    and the backtest lists; a story is how they are told (:func:`stories`)."""

    events: tuple[Event, ...]

    @property
    def lead(self) -> Event:
        return self.events[0]

    @property
    def severity(self) -> str:
        """The most severe of its events' severities."""
        return max((e.severity for e in self.events), key=SEVERITIES.index)

    @property
    def roundup(self) -> bool:
        """The release's round-up of the largest holders' lesser news (:func:`stories`)."""
        return all(in_roundup(e) for e in self.events)


ROUNDUP_YEARS = 2.0  # a level, run or turn less rare than this is told in the release's round-up


def stories(events: Iterable[Event]) -> list[Story]:
    """Events grouped by release and holder, in the order each holder first appears (the events
    come in story order from :func:`bot.rules.story.order`: lead first, then its other claims).
    A holder's levels, runs or turns, when they are all it has to tell and none is rare (the Grand Total's
    record high a few months after the last, China's low a month deeper: told every time for the
    largest holders) joins the release's one round-up of them ("Grand Total holdings at
    7,940.0bn: a record high – United Kingdom holdings at 688.6bn: a record high"), one story
    however many there are, and the release's last."""
    events = list(events)
    bigger = {(e.release, e.entity) for e in events if not in_roundup(e)}
    grouped: dict[tuple[str, str], list[Event]] = {}
    for e in events:
        key = (e.release, e.entity)
        grouped.setdefault(key if key in bigger else (e.release, ""), []).append(e)
    # the round-up is a release's last story: the lesser news, told when nothing bigger fills the alert
    order = {k: (k[0], k[1] == "", i) for i, k in enumerate(grouped)}
    return [Story(tuple(grouped[k])) for k in sorted(grouped, key=order.__getitem__)]


def in_roundup(e: Event) -> bool:
    """A level, a run or a turn that is not rare (told because the holder is one of the largest,
    :attr:`bot.rules.metrics.Metrics.largest`): see :func:`stories`."""
    return KINDS[e.kind].claim in (Claim.LEVEL, Claim.STREAK, Claim.TURN) and e.rarity < ROUNDUP_YEARS
