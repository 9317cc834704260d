"""The release poller: find each new TIC release exactly once, fast, politely, never from a fault.

One poll asks for the headline file (``slt_table5.txt``) with the validators of the copy we
hold; a 304 means nothing new. A changed body is parsed whole (a fault never gets further) and
its newest month on the ``Country`` line decides:

* newer than the newest release stored → a **new release** (it may add several months);
* the same month, different bytes → a **revision**: stored, never handed on as new;
* older (a stale cache) → ignored and logged.

After a new release the companion files (``slt_table3.txt``, and ``mfhhis01.txt`` and its
twin ``mfhhis01.csv`` when their footer stamps change) are polled until they show it too or the
gathering time ends; the store records which file was complete when. The frozen reference files
are fetched once. Together these are the release's files (``RELEASE_FILES`` in
:mod:`bot.data.sources`), and only they make the panel. The rules stage gets the release and its
panel through a :class:`~bot.watch.outcomes.Handover`, again whenever the release's contents grow
or it closes: ``handover.prepare(release, panel)`` composes with no lock held and may return a
``commit()``, which runs inside the short transaction that marks the hand-over (a
compare-and-set), so the consumer's writes and the mark commit together.
Faults are logged, backed off, and after ``failures_before_event`` consecutive failed polls raise
one operator event; a scheduled release not seen by the end of its window raises a dead-man event.

The network (``fetcher``), the clock (``clock``) and the store are passed in. "Is a poll due?"
is the pure function :func:`~bot.watch.cadence.poll_due`; :func:`bot.watch.loop.run_forever`
only ticks it. What a poll finds and hands on is in :mod:`bot.watch.outcomes`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from bot.data.load import only_release_files
from bot.data.panel import Panel
from bot.data.parse.table5 import parse_table5
from bot.data.sources import HEADLINE, companion_shows, file_url
from bot.errors import FetchError, ParseError
from bot.store.state import Held, Logged, ReleaseRecord, Store
from bot.watch.cadence import poll_due
from bot.watch.calendar import Calendar, finished_slots, window_at, window_on
from bot.watch.files import KeptFiles, PolledFiles
from bot.watch.outcomes import (
    Clock,
    Fetcher,
    OperatorEvent,
    Outlets,
    PollOutcome,
    PollResult,
    PublishedRelease,
    utc_now,
)
from bot.watch.settings import PollerSettings

log = logging.getLogger("tic_alert.poller")

# "Data files appear in random groups during the next 15 minutes" (DESIGN §4): a release found
# late in a window still gets this long to gather its companions.
SPREAD = dt.timedelta(minutes=15)


class Poller:
    """Polls the Treasury through ``fetcher`` and records what it finds in ``store``."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        polled: PolledFiles,
        settings: PollerSettings,
        calendar: Calendar,
        build_panel: Callable[[dict[str, bytes]], Panel],
        clock: Clock = utc_now,
        outlets: Outlets | None = None,
    ):
        outlets = outlets or Outlets()
        self.store = store
        self.files = KeptFiles(store, fetcher, polled.base_url)
        self.base_url = polled.base_url
        self.settings = settings
        self.calendar = calendar
        self.build_panel = build_panel
        self.clock = clock
        self.handover = outlets.handover
        self.operator = outlets.operator
        self.reference_files = polled.reference
        self.companions = polled.companions  # the files polled after the headline (sources.COMPANIONS)
        self.committed = outlets.committed  # after a hand-over's transaction commits (wakes the sender)
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
            outcome, message, month = PollOutcome.ERROR, self._fault(now, err), None
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

    def detected(self, row: ReleaseRecord) -> PublishedRelease:
        """The release as handed on, from the store."""
        files = [(HEADLINE, row.month, row.first_seen)]
        pending = []
        for rf in self.store.files_of_release(row.month):
            if rf.complete_at is not None and rf.vintage_id is not None:
                files.append((rf.file, self.store.vintage_of(rf.vintage_id), rf.complete_at))
            else:
                pending.append(rf.file)
        return PublishedRelease(
            row.month,
            row.months,
            row.first_seen,
            row.baseline,
            tuple(files),
            tuple(pending),
            row.closed_at is not None,
        )

    # --- the headline file ---------------------------------------------------------------

    def _poll_headline(self, now: dt.datetime) -> tuple[PollOutcome, str, str | None]:
        held = self.store.held(HEADLINE)
        latest = self.store.latest_release()
        newest = latest.month if latest else "none"
        got = self.files.changed(HEADLINE, held, now)
        if isinstance(got, str):
            return PollOutcome.NOTHING, f"nothing new: {HEADLINE} {got}; newest release {newest}", None
        res, body, sha = got
        frame = parse_table5(body)  # the whole table, so a truncated or broken body is a fault
        on_line = sorted({str(p) for p in frame["period"]})
        month = on_line[-1]
        if latest is not None and month < latest.month:
            detail = f"{HEADLINE} shows {month}, older than release {latest.month}: a stale copy, ignored"
            self.store.log_poll(now, HEADLINE, Logged.STALE, status=200, size=len(body), detail=detail)
            log.warning(detail)
            return PollOutcome.STALE, f"stale: {detail}", None
        if latest is not None and month == latest.month:
            with self.store.transaction():
                vid = self.store.add_vintage(HEADLINE, body, sha, month, res.etag, res.last_modified, now)
                self.store.set_held(HEADLINE, vid, res.etag, res.last_modified, now)
            detail = f"release {month} republished"
            self.store.log_poll(now, HEADLINE, Logged.REVISION, status=200, size=len(body), detail=detail)
            log.info("revision: %s for release %s changed (stored, no alert)", HEADLINE, month)
            message = f"revision of release {month}: {HEADLINE} changed, stored (no alert)"
            return PollOutcome.REVISION, message, month
        months = tuple(m for m in on_line if latest is None or m > latest.month)
        if latest is None:
            months = (month,)
        with self.store.transaction():
            vid = self.store.add_vintage(HEADLINE, body, sha, month, res.etag, res.last_modified, now)
            self.store.set_held(HEADLINE, vid, res.etag, res.last_modified, now)
            before = {f: (h.vintage_id if (h := self.store.held(f)) else None) for f in self.companions}
            self.store.add_release(month, months, vid, latest is None, self._gather_until(now), before, now)
        detail = f"release {month}: {', '.join(months)}"
        self.store.log_poll(now, HEADLINE, Logged.NEW_RELEASE, status=200, size=len(body), detail=detail)
        log.info("new release %s (months %s)", month, ", ".join(months))
        return PollOutcome.NEW_RELEASE, f"new release {month}", month

    def _gather_until(self, now: dt.datetime) -> dt.datetime:
        local_day = now.astimezone(self.calendar.tz).date()
        grace = now + dt.timedelta(minutes=self.settings.companion_grace_minutes)
        window = window_on(self.calendar, local_day, self.settings.window_start, self.settings.window_end)
        if window is None or now >= window.end:
            return grace
        return max(window.end, now + SPREAD)

    def _fault(self, now: dt.datetime, err: FetchError | ParseError, file: str = HEADLINE) -> str:
        """Log a failed poll of ``file``; after ``failures_before_event`` in a row, one operator event."""
        if isinstance(err, FetchError):
            kind, status = err.kind, err.status
        else:
            kind, status = ("html" if "HTML" in err.expected else "parse"), None
        self.store.log_poll(now, file, Logged.ERROR, status=status, detail=f"{kind}: {err}")
        count, since = self.store.trailing_errors(file)
        if file == HEADLINE:
            self.failures += 1
            count = self.failures
        # (debug: the poll's one warning line is PollWatch's, with the other files of the tick)
        log.debug("poll of %s failed (%d in a row): %s: %s", file, count, kind, err)
        if count >= self.settings.failures_before_event:
            self._operator(
                "failures",
                f"failures:{file}:{since}",
                now,
                f"{count} consecutive failed polls of {file_url(self.base_url, file)} since {since};"
                f" last: {kind}: {err}",
            )
        return f"error ({kind}): {err}"

    # --- companions and reference files --------------------------------------------------

    def _gather(self, now: dt.datetime) -> list[str]:
        notes = []
        for rel in self.store.open_releases():
            for rf in self.store.files_of_release(rel.month):
                if rf.complete_at is not None:
                    continue
                try:
                    held = self.files.refresh(rf.file, now)
                except (FetchError, ParseError) as err:
                    self._fault(now, err, rf.file)
                    continue
                if held is not None and self._shows(rf.file, rf.before_id, held, rel.month):
                    with self.store.transaction():
                        self.store.file_complete(rel.month, rf.file, held.vintage_id, now)
                    detail = f"release {rel.month}: {held.vintage}"
                    self.store.log_poll(now, rf.file, Logged.COMPLETE, detail=detail)
                    notes.append(f"{rf.file} shows release {rel.month} ({held.vintage})")
            files = self.store.files_of_release(rel.month)
            if all(f.complete_at for f in files) or now >= rel.gather_until:
                with self.store.transaction():
                    self.store.close_release(rel.month, now)
                missing = [f.file for f in files if not f.complete_at]
                if missing:
                    log.info("release %s closed without %s", rel.month, ", ".join(missing))
        return notes

    @staticmethod
    def _shows(file: str, before_id: int | None, held: Held, month: str) -> bool:
        if companion_shows(file) == "stamp":  # a new footer stamp, or the first copy we ever held
            return before_id is None or held.vintage_id != before_id
        return held.vintage >= month

    def _fetch_reference(self, now: dt.datetime) -> None:
        for file in self.reference_files:
            tried = self._reference_tried.get(file)
            if self.store.held(file) is not None or (
                tried is not None and (now - tried).total_seconds() < self.settings.out_of_window_seconds
            ):
                continue
            self._reference_tried[file] = now
            try:
                self.files.refresh(file, now)
            except (FetchError, ParseError) as err:
                status = getattr(err, "status", None)
                self.store.log_poll(now, file, Logged.ERROR, status=status, detail=str(err))
                log.debug("reference file %s: %s", file, err)  # (PollWatch's line says it)

    # --- hand-over and operator events ---------------------------------------------------

    def _hand_over(self) -> None:
        """Hand each release on whose contents changed, once, in one transaction with the mark.

        The mark is a compare-and-set on what was handed over before: of two pollers on one
        database only one hands a given state on, and a crash before the commit leaves the mark
        unset, so the next poll hands it on again (the consumer's writes are keyed)."""
        for row in self.store.releases():
            release = self.detected(row)
            if row.handed_over == release.contents:
                continue
            try:
                panel = self.build_panel(only_release_files(self.store.held_bodies()))
                self._data_doubts(row.month, panel)
                prepared = self.handover.prepare(release, panel)  # CPU: no lock is held yet
                with self.store.transaction():
                    if not self.store.claim_handover(row.month, row.handed_over, release.contents):
                        continue  # another poller handed this state on
                    if prepared is not None:
                        prepared.commit()  # the consumer's rows, committed with the mark
            except Exception:  # the rules stage must not stop the poller; retried next poll
                log.exception("hand-over of release %s failed; retrying on the next poll", row.month)
                continue
            self.committed()

    def _data_doubts(self, month: str, panel: Panel) -> None:
        """Suspect cells (files of one release disagree) or an unknown entity: an operator event."""
        warnings = getattr(panel, "warnings", ())  # a test's stand-in panel may have none
        doubts = [w for w in warnings if "unknown entity" in w or "files of one release" in w]
        if doubts:
            self._operator("data", f"data:{month}:{len(doubts)}", self.clock(), "; ".join(doubts)[:1000])

    def _operator(self, kind: str, key: str, now: dt.datetime, message: str) -> None:
        if self.store.add_operator_event(kind, key, message, now):
            self.operator(OperatorEvent(kind, key, now, message))
