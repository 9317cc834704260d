"""What each poll tells the operator: one log line per file fetched (file, outcome, HTTP status,
ms), or, for a poll that failed, one warning line for the whole tick (each failed file and why,
in a few words, and how many polls in a row failed); the poll metrics, and the poller loop's
heartbeat. (urllib3's own retry warnings are silenced in :func:`bot.logs.setup_logging`.)

:meth:`PollWatch.fetcher` wraps the poller's fetcher to time each request; :func:`run_forever`
calls :meth:`PollWatch.after_tick` after every tick (a tick that polled has a result).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

from bot.data.fetch import FetchResult
from bot.data.sources import HEADLINE
from bot.errors import FetchError, brief
from bot.telemetry import Telemetry
from bot.watch.calendar import Calendar, release_moment, window_on
from bot.watch.outcomes import Fetcher, PollOutcome, PollResult

log = logging.getLogger("tic_alert.poller")
LOOP = "poller"


class PollWatch:
    """Times each fetch of one poll, then logs and counts the poll when the tick ends."""

    def __init__(
        self, telemetry: Telemetry, calendar: Calendar, wall: Callable[[], float] = time.time
    ) -> None:
        self.telemetry = telemetry
        self.calendar = calendar
        self.wall = wall
        self._fetches: list[tuple[str, int | None, float, str]] = []  # (file, status, ms, outcome)
        self._why: dict[str, str] = {}  # file → why its fetch failed, this tick
        self.failed_in_a_row = 0
        self._base = ""  # the URL the last failed fetch asked, less its file name
        self._published: dt.datetime | None = None  # the headline's Last-Modified, this tick

    def fetcher(self, inner: Fetcher) -> Fetcher:
        def fetch(url: str, etag: str | None, last_modified: str | None) -> FetchResult:
            file = url.rsplit("/", 1)[-1]
            started = time.monotonic()
            try:
                res = inner(url, etag, last_modified)
            except FetchError as err:
                self._fetches.append((file, err.status, _ms(started), f"error ({err.kind})"))
                self._why[file], self._base = err.reason, url.rsplit("/", 1)[0] + "/"
                raise
            self._fetches.append(
                (file, res.status, _ms(started), "not modified" if res.not_modified else "fetched")
            )
            if file == HEADLINE and not res.not_modified:
                self._published = _http_date(res.last_modified)
            return res

        return fetch

    def after_tick(self, result: PollResult | None, seconds: float) -> None:
        self.telemetry.beat(LOOP)
        fetches, self._fetches = self._fetches, []
        why, self._why = self._why, {}
        published, self._published = self._published, None
        if result is None:
            return
        outcome = str(result.outcome).replace(" ", "_")
        self.telemetry.polls.labels(outcome).inc()
        self.telemetry.poll_seconds.observe(seconds)
        if result.outcome == PollOutcome.ERROR:
            self.failed_in_a_row += 1
            return self._failed(result, why, seconds)
        self.failed_in_a_row = 0
        self.telemetry.last_success.set(self.wall())
        for file, status, ms, fetched in fetches:
            said = outcome if file == HEADLINE else fetched.replace(" ", "_")
            log.log(
                logging.WARNING if file in why else logging.INFO,
                "poll %s: %s, HTTP %s, %.0f ms%s",
                file,
                said,
                status if status is not None else "-",
                ms,
                f" ({why[file]})" if file in why else "",
                extra={"file": file, "outcome": said, "status": status, "ms": round(ms)},
            )
        if not fetches:  # e.g. a parse fault before any request: still one line
            log.info("poll: %s in %.0f ms", outcome, seconds * 1000, extra={"outcome": outcome})
        if (
            result.outcome == PollOutcome.NEW_RELEASE
            and result.release is not None
            and not result.release.baseline
        ):
            self._detected(result.release.month, result.release.first_seen, published)

    def _failed(self, result: PollResult, why: dict[str, str], seconds: float) -> None:
        """One line for a failed poll: the files that failed grouped by why, where, how long."""
        files: dict[str, list[str]] = {}
        for file, reason in why.items():
            files.setdefault(reason, []).append(file)
        said = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in files.items())
        said = said or brief(result.message)  # e.g. a parse fault: no request failed
        where = f" from {self._base}" if why else ""
        log.warning(
            "poll failed%s (%d in a row, %.0f ms): %s",
            where,
            self.failed_in_a_row,
            seconds * 1000,
            said,
            extra={"outcome": "error", "failed_in_a_row": self.failed_in_a_row, "ms": round(seconds * 1000)},
        )

    def _detected(self, month: str, seen: dt.datetime, published: dt.datetime | None = None) -> None:
        """The detection delay: from the later of the scheduled moment (4 p.m. ET) and the file's
        publication (its Last-Modified, when the Treasury sent one; a file stamped before 4 p.m.
        was not out before then). A release found before its scheduled moment (published early)
        counts from its publication, or 0 without one: never negative."""
        day = seen.astimezone(self.calendar.tz).date()
        if window_on(self.calendar, day, self.calendar.release_time, self.calendar.release_time) is None:
            log.info("release %s detected on %s, not a scheduled release day", month, day)
            return
        scheduled = release_moment(self.calendar, day)
        start = max(scheduled, published) if published is not None else scheduled
        if start > seen:
            start = published if published is not None and published <= seen else seen
        delay = (seen - start).total_seconds()
        self.telemetry.detection_delay.set(delay)
        early = " (found before its scheduled moment: from its publication)" if seen < scheduled else ""
        log.info("release %s detected %.1f s after it was out%s", month, delay, early)


def _http_date(text: str | None) -> dt.datetime | None:
    """A Last-Modified header as an aware datetime; None when absent or not a date."""
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000
