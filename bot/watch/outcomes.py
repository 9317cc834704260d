"""What a poll finds and hands on: its outcome, the published release, the hand-over protocol,
operator events, the default sinks (the log), and :class:`Outlets`, which a poller is given."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bot.data.fetch import FetchResult
from bot.data.panel import Panel

log = logging.getLogger("tic_alert.poller")


class PollOutcome(StrEnum):
    """What one poll found (the poll log keeps each request's own outcome: store.state.Logged)."""

    NEW_RELEASE = "new release"
    REVISION = "revision"
    NOTHING = "nothing new"
    STALE = "stale"
    ERROR = "error"


Fetcher = Callable[[str, str | None, str | None], FetchResult]  # (url, etag, last_modified)
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class PublishedRelease:
    """A release as handed on: its months, when it was seen, and which files show it."""

    month: str
    months: tuple[str, ...]  # the months new in this release, oldest first
    first_seen: dt.datetime
    baseline: bool  # the first release this store saw: it was not seen being published
    files: tuple[tuple[str, str, dt.datetime], ...]  # (file, its vintage, when it showed the release)
    pending: tuple[str, ...]  # companions that do not show it (yet)
    closed: bool  # no longer gathering companions

    @property
    def contents(self) -> str:
        """What the release contains and whether it is final, as a stable string (what was handed on).

        Closing counts: a release that closes with a companion missing is handed over once more,
        so the consumer knows no more files are coming."""
        return json.dumps({"files": sorted((f, v) for f, v, _ in self.files), "closed": self.closed})

    def describe(self) -> str:
        months = ", ".join(self.months)
        note = "; the first release in this store" if self.baseline else ""
        files = ", ".join(f"{f} {v}" for f, v, _ in self.files)
        text = f"{self.month} (new months: {months}{note}); contains {files}"
        if self.pending:
            state = "closed without" if self.closed else "waiting for"
            text += f"; {state} {', '.join(self.pending)}"
        return text


@dataclass(frozen=True)
class OperatorEvent:
    """Something an operator must look at: ``failures`` (consecutive failed polls) or ``dead_man``."""

    kind: str
    key: str
    at: dt.datetime
    message: str


@dataclass(frozen=True)
class PollResult:
    """What one poll found: new release, revision, nothing new, stale or error."""

    outcome: PollOutcome
    message: str
    release: PublishedRelease | None = None


class Prepared(Protocol):
    """A hand-over's work, done outside any lock; ``commit()`` runs inside the poller's transaction
    that marks the release handed over (its writes commit with the mark, or not at all)."""

    def commit(self) -> None: ...


class Handover(Protocol):
    """Whoever the poller hands each release to (its panel built once), whenever its contents grow."""

    def prepare(self, release: PublishedRelease, panel: Panel) -> Prepared | None: ...


@dataclass(frozen=True)
class Commits:
    """Several prepared hand-overs, committed in order."""

    steps: tuple[Prepared, ...]

    def commit(self) -> None:
        for step in self.steps:
            step.commit()


@dataclass(frozen=True)
class Handovers:
    """Several hand-over targets as one: each prepares in turn, and their commits run in order."""

    targets: tuple[Handover, ...]

    def prepare(self, release: PublishedRelease, panel: Panel) -> Prepared | None:
        steps = tuple(p for t in self.targets if (p := t.prepare(release, panel)) is not None)
        return Commits(steps) if steps else None


class LogHandover:
    """The default hand-over, for a poller given no consumer: log the release."""

    def prepare(self, release: PublishedRelease, panel: Panel) -> None:
        log.info(
            "hand-over: release %s; panel of %d rows, newest %s",
            release.describe(),
            len(panel.data),
            panel.latest(),
        )


def log_operator_event(event: OperatorEvent) -> None:
    """The default operator sink: a warning in the log (the store keeps every event)."""
    log.warning("OPERATOR %s: %s", event.kind, event.message)


@dataclass(frozen=True)
class Outlets:
    """Where a poll's findings go: each release to ``handover`` (the rules stage), each operator
    event to ``operator``, and ``committed()`` after a hand-over's transaction commits (it wakes
    the sender). The defaults log the release and the events."""

    handover: Handover = field(default_factory=LogHandover)
    operator: Callable[[OperatorEvent], None] = log_operator_event
    committed: Callable[[], None] = lambda: None
