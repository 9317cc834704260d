"""The kinds of rule: what each accepts, which way its threshold is stricter, and the one
threshold comparison (:func:`meets_threshold`).

Every kind has a single, monotone threshold: making it stricter (the direction is
:attr:`Kind.stricter`) can only remove events, so a subscriber's setting is a cheap comparison
against metrics computed once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.data.entities import HOLDINGS, LT_HOLDINGS, LT_NET, ST_HOLDINGS

# basis as written in the rule file → panel series
BASES = {"holdings": HOLDINGS, "lt_holdings": LT_HOLDINGS, "bills": ST_HOLDINGS, "net": LT_NET}
SEVERITIES = ("info", "notable", "major")
SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}

MAX_WINDOW = 120
MAX_TOP_K = 10


@dataclass(frozen=True)
class Kind:
    """What a kind of rule accepts, and which way its threshold is stricter."""

    name: str
    bases: tuple[str, ...]
    directions: tuple[str, ...]
    stricter: str  # "higher": a larger threshold fires less; "lower": a smaller one does
    integer: bool  # threshold must be a whole number
    minimum: float  # smallest valid threshold
    maximum: float = math.inf
    extra: tuple[str, ...] = ()  # kind-specific fields
    threshold_means: str = ""

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
            "change",
            ("holdings", "lt_holdings", "bills", "net"),
            ("decline", "increase"),
            "higher",
            False,
            0.0,
            extra=("unit",),
            threshold_means="the smallest move that fires, in $bn (unit bn) or percent (unit pct)",
        ),
        Kind(
            "record",
            ("holdings", "lt_holdings", "bills", "net"),
            ("decline", "increase"),
            "lower",
            True,
            1,
            MAX_TOP_K,
            extra=("min_history",),
            threshold_means="top k: fire when the window ranks k-th or better in its history",
        ),
        Kind(
            "official_selling",
            ("holdings", "lt_holdings", "net"),
            ("decline",),
            "higher",
            False,
            0.0,
            threshold_means="the smallest net selling (or holdings decline) that fires, in $bn",
        ),
        Kind(
            "streak",
            ("holdings", "lt_holdings", "net"),
            ("decline", "increase"),
            "higher",
            True,
            2,
            600,
            threshold_means="consecutive months of net selling (or decline) needed",
        ),
        Kind(
            "multi_year",
            ("holdings", "lt_holdings"),
            ("low", "high"),
            "higher",
            False,
            0.5,
            100,
            threshold_means="years since the level was last as low (or high)",
        ),
        Kind(
            "rank_change",
            ("holdings", "lt_holdings"),
            ("up", "down", "either"),
            "higher",
            True,
            1,
            200,
            extra=("top_n",),
            threshold_means="places moved among holders",
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
