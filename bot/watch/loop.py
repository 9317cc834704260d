"""Running the poller: an HTTP fetcher for it, and the loop that ticks it on an own
``schedule.Scheduler``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

import requests
import schedule

from bot.data.fetch import fetch_conditional
from bot.errors import StoreError
from bot.watch.outcomes import Fetcher, PollResult
from bot.watch.poller import Poller

log = logging.getLogger("tic_alert.poller")


def http_fetcher(
    session: requests.Session, timeout: float, max_bytes: int, conditional: bool = True
) -> Fetcher:
    """A fetcher over HTTP; ``conditional=False`` never sends validators (for comparison only)."""
    get = partial(fetch_conditional, session, timeout=timeout, max_bytes=max_bytes)
    if conditional:
        return lambda url, etag, last_modified: get(url, etag=etag, last_modified=last_modified)
    return lambda url, etag, last_modified: get(url)


def run_forever(
    poller: Poller,
    tick_seconds: float,
    should_stop: Callable[[], bool] = lambda: False,
    observe: Callable[[PollResult | None, float], None] = lambda result, seconds: None,
) -> None:
    """Tick the poller every ``tick_seconds`` on an own ``schedule.Scheduler`` until told to stop;
    ``observe(result, seconds)`` after each tick (result None: no poll was due)."""
    scheduler = schedule.Scheduler()
    scheduler.every(tick_seconds).seconds.do(_safe_tick, poller, observe)
    _safe_tick(poller, observe)
    while not should_stop():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        time.sleep(min(tick_seconds, max(idle if idle is not None else tick_seconds, 0.01)))


def _safe_tick(poller: Poller, observe: Callable[[PollResult | None, float], None]) -> None:
    started = time.monotonic()
    try:
        result = poller.tick()
    except StoreError as err:  # read-only, full, locked: one line a tick, the next tick tries again
        log.warning("poller tick failed: the database refused (%s); trying again next tick", err)
        result = None
    except Exception:  # a bug: log it, keep the loop alive for the next tick
        log.exception("poller tick failed")
        result = None
    try:
        observe(result, time.monotonic() - started)
    except Exception:
        log.exception("observing a poll failed")
