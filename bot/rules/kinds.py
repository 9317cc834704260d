"""The kinds of rule, each in one place: what it accepts, which way its threshold is stricter,
and the facts the engine asks of it (what it claims, what its floor compares, how it is ranked,
how it tells a move another kind also found). A kind's candidate function is in
:data:`bot.rules.candidates.CANDIDATES`; its English is in :mod:`bot.render.wording`.

Every kind has a single, monotone threshold: making it stricter (the direction is
:attr:`Kind.stricter`) can only remove events, so a subscriber's setting is a cheap comparison
against metrics computed once (:func:`meets_threshold`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.data.entities import FOREIGN_OFFICIAL, HOLDINGS, LT_HOLDINGS, LT_NET, ST_HOLDINGS

# basis as written in the rule file → panel series
BASES = {"holdings": HOLDINGS, "lt_holdings": LT_HOLDINGS, "bills": ST_HOLDINGS, "net": LT_NET}
SEVERITIES = ("info", "notable", "major")

MAX_WINDOW = 120
MAX_TOP_K = 10


class KindName(StrEnum):
    """A kind's name as config/rules.toml writes it (and as events and the database carry it)."""

    CHANGE = "change"
    RECORD = "record"
    LARGEST_SINCE = "largest_since"
    OFFICIAL_SELLING = "official_selling"
    STREAK = "streak"
    MULTI_YEAR = "multi_year"
    RANK_CHANGE = "rank_change"
    FIRST_SINCE = "first_since"


class Claim(StrEnum):
    """What a kind's event claims: a move over a window, a level, a place among holders, a run."""

    MOVE = "move"
    LEVEL = "level"
    RANK = "rank"
    STREAK = "streak"
    TURN = "turn"  # the first move this way since a month: a turn after a run the other way


class Measure(StrEnum):
    """What a kind's $bn floor is compared with, and what its rank in history ranks."""

    WINDOW = "window"  # the rule's window: its $bn move in the rule's direction
    RUN = "run"  # the run of months moving the rule's way: its $bn total, its length
    NONE = "none"  # no floor applies; not ranked


@dataclass(frozen=True)
class Kind:
    """What a kind of rule accepts, and the facts the engine asks of it."""

    name: KindName
    bases: tuple[str, ...]
    directions: tuple[str, ...]
    stricter: str  # "higher": a larger threshold fires less; "lower": a smaller one does
    integer: bool  # threshold must be a whole number
    minimum: float  # smallest valid threshold
    maximum: float = math.inf
    extra: tuple[str, ...] = ()  # kind-specific fields
    threshold_means: str = ""
    claim: Claim = Claim.MOVE
    floor: Measure = Measure.NONE  # what the $bn floor is compared with
    ranks: Measure = Measure.NONE  # what its rank in history ranks
    # how the kind tells a move another kind found too (same entity, basis, window, direction):
    # the lower tells it; None: its events are not moves shared with other kinds
    tells: int | None = None
    says_record: bool = False  # its rank-1 events are worded "record"
    window_one: bool = False  # a rule of this kind must have window 1 (it looks at every month)
    only_entity: str | None = None  # the one entity a rule of this kind may watch
    countries_only: bool = False  # only single countries (it ranks countries among holders)
    size_months: int | None = None  # a level's story size: its move over these months (None: the window)
    assets: bool = False  # a rule of this kind may read the net flows of other assets (``assets = [...]``)

    @property
    def replaces_moves(self) -> bool:
        """A record on an entity's move replaces the lesser alerts on it that way, any window."""
        return self.tells == 0

    def threshold_ok(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return False
        if self.integer and value != int(value):
            return False
        return self.minimum <= value <= self.maximum


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            KindName.CHANGE,
            ("holdings", "lt_holdings", "bills", "net"),
            ("decline", "increase"),
            "higher",
            False,
            0.0,
            extra=("unit",),
            threshold_means="the smallest move that fires, in $bn (unit bn) or percent (unit pct)",
            floor=Measure.WINDOW,
            ranks=Measure.WINDOW,
            tells=2,
            assets=True,
        ),
        Kind(
            KindName.RECORD,
            ("holdings", "lt_holdings", "bills", "net"),
            ("decline", "increase"),
            "lower",
            True,
            1,
            MAX_TOP_K,
            extra=("min_history", "calendar_year"),
            threshold_means="top k: fire when the window ranks k-th or better in its history",
            floor=Measure.WINDOW,
            ranks=Measure.WINDOW,
            tells=0,
            says_record=True,
            assets=True,
        ),
        Kind(
            KindName.LARGEST_SINCE,
            ("holdings", "lt_holdings", "bills", "net"),
            ("decline", "increase"),
            "higher",
            False,
            0.5,
            100,
            extra=("calendar_year",),
            threshold_means="years since a move as large (a record counts its whole history)",
            floor=Measure.WINDOW,
            ranks=Measure.WINDOW,
            tells=1,
            says_record=True,
            assets=True,
        ),
        Kind(
            KindName.OFFICIAL_SELLING,
            ("holdings", "lt_holdings", "net"),
            ("decline",),
            "higher",
            False,
            0.0,
            threshold_means="the smallest net selling (or holdings decline) that fires, in $bn",
            floor=Measure.WINDOW,
            ranks=Measure.WINDOW,
            tells=2,
            only_entity=FOREIGN_OFFICIAL,
        ),
        Kind(
            KindName.STREAK,
            ("holdings", "lt_holdings", "net"),
            ("decline", "increase"),
            "higher",
            True,
            2,
            600,
            extra=("every_month",),
            threshold_means="consecutive months of net selling (or decline) needed",
            claim=Claim.STREAK,
            floor=Measure.RUN,
            ranks=Measure.RUN,
            window_one=True,
            assets=True,
        ),
        Kind(
            KindName.MULTI_YEAR,
            ("holdings", "lt_holdings"),
            ("low", "high"),
            "higher",
            False,
            0.5,
            100,
            threshold_means="years since the level was last as low (or high)",
            claim=Claim.LEVEL,
            window_one=True,
            size_months=3,
        ),
        Kind(
            KindName.RANK_CHANGE,
            ("holdings", "lt_holdings"),
            ("up", "down", "either"),
            "higher",
            True,
            1,
            200,
            extra=("top_n",),
            threshold_means="places moved among holders",
            claim=Claim.RANK,
            countries_only=True,
        ),
        Kind(
            KindName.FIRST_SINCE,
            ("holdings", "lt_holdings", "net"),
            ("decline", "increase"),
            "higher",
            True,
            2,
            600,
            threshold_means="months since the last month that moved this way (a turn after a run)",
            claim=Claim.TURN,
            floor=Measure.WINDOW,
            window_one=True,
            assets=True,
        ),
    )
}


def strength(kind: Kind, value: Any) -> Any:
    """A metric or a threshold on the scale where larger is stronger: as is when a larger
    threshold is stricter, negated when a smaller one is (a float, an array or a column)."""
    return value if kind.stricter == "higher" else -value


def meets_threshold(kind: Kind, metric: Any, threshold: float) -> Any:
    """Where a candidate's metric meets the threshold: the one comparison (a stricter threshold
    can only turn True into False)."""
    return strength(kind, metric) >= strength(kind, threshold)
