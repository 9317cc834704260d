"""The release the bot answers from, without Telegram and without the database.

:class:`ReleaseView` is the newest release as the bot serves it: its panel, summary, the
candidates of every rule (built once: in `run`, by the poller's hand-over, which passes them on
with its renderer) and the rules' history (for "what would this have caught?"). Everything here
is CPU work on a view that never changes once built, so a handler can run it in a worker thread
while the event loop keeps answering other chats.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import InitVar, dataclass, field
from typing import TypeVar

import pandas as pd

from bot.data.entities import HOLDINGS
from bot.data.panel import Panel
from bot.render.alert import ReleaseMessages
from bot.render.charts import FlowChart, flow_chart, holdings_chart
from bot.render.summary import ReleaseSummary, build_summary
from bot.render.text import month_name, num
from bot.rules.catalogue import Rule
from bot.rules.events import Event
from bot.rules.history import History, RuleHistory
from bot.rules.release import ReleaseCandidates, newest_month

MAX_CHART_YEARS = 26
CHART_CACHE = 64
T = TypeVar("T")


@dataclass
class ReleaseView:
    """The newest release, built once per panel; read-only afterwards (safe across threads)."""

    panel: Panel
    rules: tuple[Rule, ...]
    # what the poller's hand-over built of this panel (in `run`): not built again
    candidates: InitVar[Sequence[ReleaseCandidates]] = ()  # of each month it brought
    messages: InitVar[ReleaseMessages | None] = None  # its renderer: the summary, the charts
    summary: ReleaseSummary = field(init=False)
    release: ReleaseCandidates = field(init=False)
    history: History = field(init=False)
    _messages: ReleaseMessages = field(init=False, repr=False)  # the alerts, as delivered
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _charts: dict[tuple, object] = field(default_factory=dict, repr=False)
    _chart_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _histories: dict[tuple[str, float | None, float | None], RuleHistory] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(
        self, candidates: Sequence[ReleaseCandidates], messages: ReleaseMessages | None
    ) -> None:
        newest = newest_month(self.panel)
        same = [c for c in candidates if c.month == newest and c.rules == self.rules]
        self.release = same[0] if same else ReleaseCandidates(self.panel, self.rules, newest)
        month = str(newest)
        if messages is None or messages.months != (month,):  # a hand-over of two months: its own header
            summary = messages.summary if messages is not None else build_summary(self.panel)
            messages = ReleaseMessages(month, (month,), self.panel, summary)
        self._messages = messages
        self.summary = messages.summary
        self.history = History(self.panel, self.release.metrics)
        self.release.metrics.trim()  # the candidates are built: keep a release's view small

    @property
    def month(self) -> str:
        return self.summary.data_month

    def rule_history(self, rule: Rule, threshold: float | None, floor: float | None = None) -> RuleHistory:
        """The rule's history at a threshold and floor, computed once per release and values."""
        key = (rule.id, threshold, floor)
        with self._lock:  # the history caches candidates per rule
            if key not in self._histories:
                self._histories[key] = self.history.at(rule, threshold, floor=floor)
            return self._histories[key]

    def entity_chart(self, entity: str, years: int, members: tuple[str, ...] = ()) -> bytes | None:
        """An entity's holdings over ``years`` to the release's month (cached per release and entity)."""
        return self._chart(("entity", entity, years, members), self._entity_chart, entity, years, members)

    def flow_chart(
        self, entity: str, series: tuple[str, ...], what: str, years: int, members: tuple[str, ...] = ()
    ) -> FlowChart | None:
        """An entity's monthly net flows (the sum of ``series``: net-flow series of the panel) over
        ``years`` to the release's month, titled "<entity>: <what>, monthly, $bn" (cached per
        release, entity, series and years); None when there is no figure in those years."""
        key = ("flows", entity, series, what, years, members)
        return self._chart(key, self._flow_chart, entity, series, what, years, members)

    def _flow_chart(
        self, entity: str, series: tuple[str, ...], what: str, years: int, members: tuple[str, ...]
    ) -> FlowChart | None:
        holders = members or (entity,)
        frame = pd.concat(
            [self.panel.series(h, s).rename(f"{h}|{s}") for h in holders for s in series], axis=1
        )
        flows = frame.dropna().sum(axis=1)  # a month missing for any part is a gap, never a guess
        sources = self.panel.rows(holders[0], series[0])["source"]
        title = f"{entity}: {what}, monthly, $bn"
        return flow_chart(flows, title, pd.Period(self.month, "M"), years, sources)

    def _chart(self, key: tuple, make: Callable[..., T], *args: object) -> T:
        """Render once per key: concurrent askers wait for the first rendering, then share it.

        At most CHART_CACHE charts are kept (the oldest asked goes first), so chats asking for
        every entity and year cannot grow memory without bound."""
        with self._chart_lock:
            if key in self._charts:
                self._charts[key] = self._charts.pop(key)  # most recently used last
                return self._charts[key]  # type: ignore[return-value]
            png = make(*args)
            self._charts[key] = png
            while len(self._charts) > CHART_CACHE:
                self._charts.pop(next(iter(self._charts)))
            return png

    def _entity_chart(self, entity: str, years: int, members: tuple[str, ...]) -> bytes | None:
        levels = group_levels(self.panel, members) if members else self.panel.series(entity, HOLDINGS)
        month = pd.Period(self.month, "M")
        levels = levels.dropna()
        levels = levels[(levels.index > month - 12 * years) & (levels.index <= month)]
        if levels.empty:
            return None
        last = levels.index[-1]
        note = f"{entity}: {num(levels.iloc[-1], sign=False)}bn at end-{month_name(last)}"
        back = last - 12
        if back in levels.index:
            note += f"; 12 months: {num(levels.iloc[-1] - levels[back])}bn"
        title = f"{entity}: holdings of U.S. Treasuries, $bn (data to {month_name(last)})"
        return holdings_chart(levels, title, (last - 3, last), note)

    def alert(self, events: Sequence[Event], every: bool, capped: bool = True) -> Rendered:
        """The alert a chat with these events got: its messages (Telegram HTML, the photo's caption
        first) and its chart, rendered as the release-day delivery renders them (``every``: the
        summary follows, for a chat in summary mode). Not ``capped`` (/latest): every story."""
        with self._chart_lock:
            if capped:
                texts, chart = self._messages.alert(events, every)
            else:
                texts, chart = self._messages.latest(events, every)
            return Rendered(texts, chart, self._messages.charts[chart])


@dataclass(frozen=True)
class Rendered:
    """An alert as a chat gets it: its messages (the photo's caption first) and its chart."""

    texts: tuple[str, ...]
    chart_key: str
    png: bytes


def group_levels(panel: Panel, members: Sequence[str]) -> pd.Series:
    """A sum of countries' holdings, only in months where every member has a value."""
    frame = pd.concat([panel.series(m, HOLDINGS).rename(m) for m in members], axis=1)
    return frame.dropna().sum(axis=1)
