"""The release poller: find each new TIC release exactly once, fast, politely, never from a fault.

One poll asks for the headline file (``slt_table5.txt``) with the validators of the copy we
hold; a 304 means nothing new. A changed body is parsed whole (a fault never gets further) and
its newest month on the ``Country`` line decides:

* newer than the newest release stored → a **new release** (it may add several months);
* the same month, different bytes → a **revision**: stored, never handed on as new;
* older (a stale cache) → ignored and logged.

After a new release the companion files (``slt_table3.txt``, and ``mfhhis01.txt`` when its
footer stamp changes) are polled until they show it too or the gathering time ends; the store
records which file was complete when. The rules stage gets the release and its panel through
``handover(release, panel)``, again whenever the release's contents grow (so its events must be
keyed, as they are). Faults are logged, backed off, and after ``failures_before_event``
consecutive failed polls raise one operator event; a scheduled release not seen by the end of
its window raises a dead-man event.

The network (``fetcher``), the clock (``clock``) and the store are passed in. "Is a poll due?"
is the pure function :func:`poll_due`; :func:`run_forever` only ticks it on an own
``schedule.Scheduler``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import requests
import schedule

from bot.data.fetch import FetchResult, fetch_conditional
from bot.data.panel import Panel
from bot.data.parse import parse_file
from bot.data.parse.table5 import parse_table5
from bot.data.sources import HEADLINE, SOURCES
from bot.errors import FetchError, ParseError
from bot.store.state import Held, ReleaseRow, Store
from bot.watch.cadence import poll_due
from bot.watch.calendar import Calendar, finished_slots, window_at, window_on
from bot.watch.settings import PollerSettings

log = logging.getLogger("tic_alert.poller")

# Files that show a release after the headline file does. mfhhis01 is complete when its
# footer stamp changes (it gains a new year block only once a year).
COMPANIONS = ("slt_table3.txt", "mfhhis01.txt")
# Frozen files the panel needs: fetched once when the store lacks them, never a release signal.
REFERENCE = tuple(s.name for s in SOURCES if s.frozen and s.needed_for_check)

# "Data files appear in random groups during the next 15 minutes" (DESIGN §4): a release found
# late in a window still gets this long to gather its companions.
SPREAD = dt.timedelta(minutes=15)

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
class DetectedRelease:
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
        """What the release contains, as a stable string (what was last handed on)."""
        return json.dumps(sorted((f, v) for f, v, _ in self.files))

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

    outcome: str
    message: str
    release: DetectedRelease | None = None


def log_handover(release: DetectedRelease, panel: Panel) -> None:
    """The default hand-over until the rules stage exists: log the release."""
    log.info(
        "hand-over: release %s; panel of %d rows, newest %s",
        release.describe(),
        len(panel.data),
        panel.latest(),
    )


def log_operator_event(event: OperatorEvent) -> None:
    """The default operator sink: a warning in the log (the store keeps every event)."""
    log.warning("OPERATOR %s: %s", event.kind, event.message)


def http_fetcher(
    session: requests.Session, timeout: float, max_bytes: int, conditional: bool = True
) -> Fetcher:
    """A fetcher over HTTP; ``conditional=False`` never sends validators (for comparison only)."""
    get = partial(fetch_conditional, session, timeout=timeout, max_bytes=max_bytes)
    if conditional:
        return lambda url, etag, last_modified: get(url, etag=etag, last_modified=last_modified)
    return lambda url, etag, last_modified: get(url)


class Poller:
    """Polls the Treasury through ``fetcher`` and records what it finds in ``store``."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        base_url: str,
        settings: PollerSettings,
        calendar: Calendar,
        build_panel: Callable[[dict[str, bytes]], Panel],
        clock: Clock = utc_now,
        handover: Callable[[DetectedRelease, Panel], None] = log_handover,
        operator: Callable[[OperatorEvent], None] = log_operator_event,
        reference_files: tuple[str, ...] = REFERENCE,
    ):
        self.store = store
        self.fetcher = fetcher
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.settings = settings
        self.calendar = calendar
        self.build_panel = build_panel
        self.clock = clock
        self.handover = handover
        self.operator = operator
        self.reference_files = reference_files
        self.failures, _ = store.trailing_errors(HEADLINE)  # restart-safe streak
        self.last_poll: dt.datetime | None = None
        self._reference_tried: dict[str, dt.datetime] = {}

    # --- the loop's unit of work ---------------------------------------------------------

    def tick(self) -> PollResult | None:
        """Poll if one is due now, then run the dead-man check. Never raises a TicAlertError."""
        now = self.clock()
        window = window_at(self.calendar, now, self.settings.window_start, self.settings.window_end)
        gathering = bool(self.store.open_releases())
        result = None
        start = window.start if window else None
        if poll_due(now, self.last_poll, self.failures, start, gathering, self.settings):
            result = self.poll()
        self.check_dead_man(self.clock())
        return result

    def poll(self) -> PollResult:
        """One poll: the headline file, then open releases' companions, then the hand-over."""
        now = self.clock()
        self.last_poll = now
        try:
            outcome, message, month = self._poll_headline(now)
        except (FetchError, ParseError) as err:
            outcome, message, month = ERROR, self._fault(now, err), None
        else:
            self.failures = 0
        notes = self._gather(now)
        self._fetch_reference(now)
        self._hand_over()
        if notes:
            message += "; " + "; ".join(notes)
        row = self.store.release(month) if month else None
        return PollResult(outcome, message, self.detected(row) if row else None)

    def check_dead_man(self, now: dt.datetime) -> None:
        """An operator event for each scheduled release whose window closed without it."""
        latest = self.store.latest_release()
        for slot in finished_slots(self.calendar, now, self.settings.window_end):
            if latest is None or latest.month < slot.data_month:
                closes = self.settings.window_end.strftime("%H:%M")
                self._operator(
                    "dead_man",
                    f"dead-man:{slot.key}",
                    now,
                    f"the release expected {slot.key} (data {slot.data_month}) was not seen by {closes} ET"
                    f" on {slot.days[-1]}; newest release stored: {latest.month if latest else 'none'}",
                )

    def detected(self, row: ReleaseRow) -> DetectedRelease:
        """The release as handed on, from the store."""
        files = [(HEADLINE, row.month, row.first_seen)]
        pending = []
        for rf in self.store.release_files(row.month):
            if rf.complete_at is not None and rf.vintage_id is not None:
                files.append((rf.file, self.store.vintage_of(rf.vintage_id), rf.complete_at))
            else:
                pending.append(rf.file)
        return DetectedRelease(
            row.month,
            row.months,
            row.first_seen,
            row.baseline,
            tuple(files),
            tuple(pending),
            row.closed_at is not None,
        )

    # --- the headline file ---------------------------------------------------------------

    def _poll_headline(self, now: dt.datetime) -> tuple[str, str, str | None]:
        held = self.store.held(HEADLINE)
        latest = self.store.latest_release()
        newest = latest.month if latest else "none"
        res = self._get(HEADLINE, held)
        if res.not_modified:
            self.store.log_poll(now, HEADLINE, "not_modified", 304)
            return NOTHING, f"nothing new: {HEADLINE} not modified (304); newest release {newest}", None
        body = res.body or b""
        sha = hashlib.sha256(body).hexdigest()
        if held is not None and sha == held.sha256:
            with self.store.transaction():
                self.store.set_held(HEADLINE, held.vintage_id, res.etag, res.last_modified, now)
            self.store.log_poll(now, HEADLINE, "unchanged", 200, len(body))
            return NOTHING, f"nothing new: {HEADLINE} unchanged (same bytes); newest release {newest}", None
        frame = parse_table5(body)  # the whole table, so a truncated or broken body is a fault
        on_line = sorted({str(p) for p in frame["period"]})
        month = on_line[-1]
        if latest is not None and month < latest.month:
            detail = f"{HEADLINE} shows {month}, older than release {latest.month}: a stale copy, ignored"
            self.store.log_poll(now, HEADLINE, "stale", 200, len(body), detail)
            log.warning(detail)
            return STALE, f"stale: {detail}", None
        if latest is not None and month == latest.month:
            with self.store.transaction():
                vid = self.store.add_vintage(HEADLINE, body, sha, month, res.etag, res.last_modified, now)
                self.store.set_held(HEADLINE, vid, res.etag, res.last_modified, now)
            self.store.log_poll(now, HEADLINE, "revision", 200, len(body), f"release {month} republished")
            log.info("revision: %s for release %s changed (stored, no alert)", HEADLINE, month)
            return REVISION, f"revision of release {month}: {HEADLINE} changed, stored (no alert)", month
        months = tuple(m for m in on_line if latest is None or m > latest.month)
        if latest is None:
            months = (month,)
        with self.store.transaction():
            vid = self.store.add_vintage(HEADLINE, body, sha, month, res.etag, res.last_modified, now)
            self.store.set_held(HEADLINE, vid, res.etag, res.last_modified, now)
            before = {f: (h.vintage_id if (h := self.store.held(f)) else None) for f in COMPANIONS}
            self.store.add_release(month, months, vid, latest is None, self._gather_until(now), before, now)
        self.store.log_poll(
            now, HEADLINE, "new_release", 200, len(body), f"release {month}: {', '.join(months)}"
        )
        log.info("new release %s (months %s)", month, ", ".join(months))
        return NEW_RELEASE, f"new release {month}", month

    def _gather_until(self, now: dt.datetime) -> dt.datetime:
        local_day = now.astimezone(self.calendar.tz).date()
        grace = now + dt.timedelta(minutes=self.settings.companion_grace_minutes)
        window = window_on(self.calendar, local_day, self.settings.window_start, self.settings.window_end)
        if window is None or now >= window.end:
            return grace
        return max(window.end, now + SPREAD)

    def _fault(self, now: dt.datetime, err: FetchError | ParseError) -> str:
        if isinstance(err, FetchError):
            kind, status = err.kind, err.status
        else:
            kind, status = ("html" if "HTML" in err.expected else "parse"), None
        self.failures += 1
        self.store.log_poll(now, HEADLINE, "error", status, 0, f"{kind}: {err}")
        log.warning("poll failed (%d in a row): %s: %s", self.failures, kind, err)
        if self.failures >= self.settings.failures_before_event:
            _, since = self.store.trailing_errors(HEADLINE)
            self._operator(
                "failures",
                f"failures:{HEADLINE}:{since}",
                now,
                f"{self.failures} consecutive failed polls of {self.base_url}{HEADLINE} since {since};"
                f" last: {kind}: {err}",
            )
        return f"error ({kind}): {err}"

    # --- companions and reference files --------------------------------------------------

    def _gather(self, now: dt.datetime) -> list[str]:
        notes = []
        for rel in self.store.open_releases():
            for rf in self.store.release_files(rel.month):
                if rf.complete_at is not None:
                    continue
                try:
                    held = self._refresh(rf.file, now)
                except (FetchError, ParseError) as err:
                    kind = getattr(err, "kind", "parse")
                    self.store.log_poll(
                        now, rf.file, "error", getattr(err, "status", None), 0, f"{kind}: {err}"
                    )
                    log.warning("companion %s: %s", rf.file, err)
                    continue
                if held is not None and self._shows(rf.file, rf.before_id, held, rel.month):
                    with self.store.transaction():
                        self.store.file_complete(rel.month, rf.file, held.vintage_id, now)
                    self.store.log_poll(
                        now, rf.file, "complete", None, 0, f"release {rel.month}: {held.vintage}"
                    )
                    notes.append(f"{rf.file} shows release {rel.month} ({held.vintage})")
            files = self.store.release_files(rel.month)
            if all(f.complete_at for f in files) or now >= rel.gather_until:
                with self.store.transaction():
                    self.store.close_release(rel.month, now)
                missing = [f.file for f in files if not f.complete_at]
                if missing:
                    log.info("release %s closed without %s", rel.month, ", ".join(missing))
        return notes

    @staticmethod
    def _shows(file: str, before_id: int | None, held: Held, month: str) -> bool:
        if file == "mfhhis01.txt":  # a new footer stamp, or the first copy we ever held
            return before_id is None or held.vintage_id != before_id
        return held.vintage >= month

    def _refresh(self, file: str, now: dt.datetime) -> Held | None:
        """Fetch a non-headline file conditionally; keep a changed copy that parses and is not older."""
        held = self.store.held(file)
        res = self._get(file, held)
        if res.not_modified:
            self.store.log_poll(now, file, "not_modified", 304)
            return held
        body = res.body or b""
        sha = hashlib.sha256(body).hexdigest()
        if held is not None and sha == held.sha256:
            with self.store.transaction():
                self.store.set_held(file, held.vintage_id, res.etag, res.last_modified, now)
            self.store.log_poll(now, file, "unchanged", 200, len(body))
            return held
        vintage = parse_file(file, body).vintage
        if held is not None and vintage < held.vintage:
            self.store.log_poll(now, file, "stale", 200, len(body), f"{vintage} older than {held.vintage}")
            return held
        with self.store.transaction():
            vid = self.store.add_vintage(file, body, sha, vintage, res.etag, res.last_modified, now)
            self.store.set_held(file, vid, res.etag, res.last_modified, now)
        self.store.log_poll(now, file, "changed", 200, len(body), vintage)
        return self.store.held(file)

    def _fetch_reference(self, now: dt.datetime) -> None:
        for file in self.reference_files:
            tried = self._reference_tried.get(file)
            if self.store.held(file) is not None or (
                tried is not None and (now - tried).total_seconds() < self.settings.out_of_window_seconds
            ):
                continue
            self._reference_tried[file] = now
            try:
                self._refresh(file, now)
            except (FetchError, ParseError) as err:
                self.store.log_poll(now, file, "error", getattr(err, "status", None), 0, str(err))
                log.warning("reference file %s: %s", file, err)

    def _get(self, file: str, held: Held | None) -> FetchResult:
        etag, last_modified = (held.etag, held.last_modified) if held else (None, None)
        return self.fetcher(self.base_url + file, etag, last_modified)

    # --- hand-over and operator events ---------------------------------------------------

    def _hand_over(self) -> None:
        for row in self.store.releases():
            release = self.detected(row)
            if row.handed_over == release.contents:
                continue
            try:
                panel = self.build_panel(self.store.held_bodies())
                self._data_doubts(row.month, panel)
                self.handover(release, panel)
            except Exception:  # the rules stage must not stop the poller; retried next poll
                log.exception("hand-over of release %s failed; retrying on the next poll", row.month)
                continue
            self.store.set_handed_over(row.month, release.contents)

    def _data_doubts(self, month: str, panel: Panel) -> None:
        """Suspect cells (files of one release disagree) or an unknown entity: an operator event."""
        warnings = getattr(panel, "warnings", ())  # a test's stand-in panel may have none
        doubts = [w for w in warnings if "unknown entity" in w or "files of one release" in w]
        if doubts:
            self._operator("data", f"data:{month}:{len(doubts)}", self.clock(), "; ".join(doubts)[:1000])

    def _operator(self, kind: str, key: str, now: dt.datetime, message: str) -> None:
        if self.store.add_operator_event(kind, key, message, now):
            self.operator(OperatorEvent(kind, key, now, message))


def run_forever(poller: Poller, tick_seconds: float, should_stop: Callable[[], bool] = lambda: False) -> None:
    """Tick the poller every ``tick_seconds`` on an own ``schedule.Scheduler`` until told to stop."""
    scheduler = schedule.Scheduler()
    scheduler.every(tick_seconds).seconds.do(_safe_tick, poller)
    _safe_tick(poller)
    while not should_stop():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        time.sleep(min(tick_seconds, max(idle if idle is not None else tick_seconds, 0.01)))


def _safe_tick(poller: Poller) -> None:
    try:
        poller.tick()
    except Exception:  # a bug or a database error: log it, keep the loop alive for the next tick
        log.exception("poller tick failed")
