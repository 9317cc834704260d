"""SIGHUP in `run` and `serve`: the rules, groups and calendar read again and swapped in.

The files are read (and the release view rebuilt with them) in a worker thread; a bad file is
refused with one log line and what is loaded is kept. The bot adopts the new rules, groups,
calendar and view together, in one callback of its event loop; the poller adopts them between
two ticks, in its own thread (:meth:`Reloads.take`), so no hand-over sees half of a reload.
Settings other than these three (the window, the intervals, the Telegram settings) need a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from bot.data.entities import Group
from bot.data.load import panel_from_bytes
from bot.errors import TicAlertError
from bot.notify.people.view import ReleaseView
from bot.notify.release.dispatch import Dispatcher
from bot.notify.runtime import BotRuntime, make_view
from bot.rules.catalogue import Rule
from bot.watch.calendar import Calendar
from bot.watch.observe import PollWatch
from bot.watch.poller import Poller

log = logging.getLogger("tic_alert.reload")


@dataclass(frozen=True)
class Loaded:
    """What SIGHUP reads again: the rules, the groups and the calendar."""

    rules: tuple[Rule, ...]
    groups: tuple[Group, ...]
    calendar: Calendar

    def adopt_in_bot(self, runtime: BotRuntime, view: ReleaseView | None) -> None:
        """In the bot's loop: its rules, groups, calendar and view, in one go."""
        bot = runtime.chatbot
        runtime.rules, runtime.groups = self.rules, self.groups
        bot.rules, bot.by_id = self.rules, {r.id: r for r in self.rules}
        bot.groups, bot.calendar = self.groups, self.calendar
        if view is not None:
            bot.view = view

    def adopt_in_poller(self, poller: Poller, watch: PollWatch | None) -> None:
        """In the poller's thread, between two ticks: its dispatcher's rules and groups, its
        calendar and the groups its panels are built with."""
        dispatcher = getattr(poller.handover, "dispatcher", poller.handover)  # run: OfferRelease
        if isinstance(dispatcher, Dispatcher):
            dispatcher.rules, dispatcher.groups = self.rules, self.groups
        poller.calendar = self.calendar
        poller.build_panel = partial(panel_from_bytes, groups=self.groups)
        if watch is not None:
            watch.calendar = self.calendar


class Reloads:
    """Reads the configuration again on SIGHUP (``load``) and hands it to the bot and the poller."""

    def __init__(
        self, load: Callable[[], Loaded], runtime: BotRuntime, files: Callable[[], dict[str, bytes]]
    ):
        self.load, self.runtime, self.files = load, runtime, files
        self._pending: Loaded | None = None
        self._lock, self._busy = threading.Lock(), threading.Lock()

    def signalled(self, signum: int = 0, frame: object = None) -> None:
        """The signal handler: the work goes to a thread (the handler interrupts the event loop)."""
        threading.Thread(target=self.reload, name="reload", daemon=True).start()

    def reload(self) -> Loaded | None:
        """Read, check and hand over; None (and one log line) when refused."""
        if not self._busy.acquire(blocking=False):
            log.warning("SIGHUP: a reload is under way; this one is skipped")
            return None
        try:
            try:
                fresh = self.load()
                view = None
                if self.runtime.chatbot.view is not None:  # the release view, with the new rules
                    view = make_view(self.files(), fresh.groups, fresh.rules)
            except (TicAlertError, OSError) as err:
                log.error("SIGHUP: reload refused, the rules, groups and calendar loaded are kept: %s", err)
                return None
            with self._lock:
                self._pending = fresh
            loop = self.runtime.loop
            if loop is None:
                fresh.adopt_in_bot(self.runtime, view)
            else:
                loop.call_soon_threadsafe(fresh.adopt_in_bot, self.runtime, view)
            log.info(
                "SIGHUP: reloaded %d rules, %d groups and the calendar", len(fresh.rules), len(fresh.groups)
            )
            return fresh
        finally:
            self._busy.release()

    def take(self) -> Loaded | None:
        """The poller's share of a reload, once."""
        with self._lock:
            fresh, self._pending = self._pending, None
        return fresh
