"""Wiring the stages into the running jobs: `poll`, `serve` and `run` share these builders.

Like bot.cli this sits above every stage: it reads Settings and passes each stage what it needs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bot.config import Settings
from bot.data.fetch import fetch, make_session, request_budget
from bot.data.load import fetch_all, panel_from_bytes
from bot.data.panel import Panel
from bot.errors import TicAlertError
from bot.notify.dispatch import Dispatcher
from bot.notify.runtime import BotRuntime, load_files, operator_sink, poller_thread
from bot.rules.catalogue import Rule, load_rules
from bot.store.state import Store
from bot.watch.loop import http_fetcher, run_forever
from bot.watch.outcomes import Handover, Handovers, PublishedRelease
from bot.watch.poller import Poller

log = logging.getLogger("tic_alert")


@dataclass(frozen=True)
class OfferPanel:
    """A hand-over that gives the bot the release's panel when the hand-over commits (in `run`,
    the bot answers from the panel the poller built instead of parsing the files again)."""

    offer: Callable[[Panel], None]

    def prepare(self, release: PublishedRelease, panel: Panel) -> Offered:
        return Offered(self.offer, panel)


@dataclass(frozen=True)
class Offered:
    offer: Callable[[Panel], None]
    panel: Panel

    def commit(self) -> None:
        self.offer(self.panel)


def build_poller(
    settings: Settings,
    store: Store,
    rules: tuple[Rule, ...],
    source_url: str | None = None,
    wake: Callable[[], None] = lambda: None,
    offer: Callable[[Panel], None] | None = None,
) -> Poller:
    """The poller, handing every release to the dispatcher (outbox rows in its own transaction)
    and, given ``offer``, its panel to the bot."""
    ps = settings.poller
    # a timed-out request ends within one in-window interval: detection is delayed by one poll at most
    budget = request_budget(
        ps.in_window_seconds, settings.timeout_seconds, ps.retries, ps.retry_backoff_factor
    )
    session = make_session(settings.user_agent, budget.retries, ps.retry_backoff_factor)
    dispatcher = Dispatcher(
        store.conn, rules=rules, groups=settings.groups, channels=settings.telegram.channels
    )
    handover: Handover = dispatcher if offer is None else Handovers((dispatcher, OfferPanel(offer)))
    return Poller(
        store,
        http_fetcher(session, budget.timeout, settings.max_body_bytes),  # type: ignore[arg-type]
        source_url or settings.source_url,
        ps,
        ps.calendar(),
        build_panel=lambda files: panel_from_bytes(files, settings.groups),
        handover=handover,
        operator=operator_sink(store, settings.telegram.admins, wake),
        committed=wake,
    )


def token_of(settings: Settings) -> str:
    if not settings.bot_token:
        raise TicAlertError(
            "TIC_ALERT_BOT_TOKEN is not set: put the bot's token (from @BotFather) in that variable"
        )
    return settings.bot_token


def run_bot(settings: Settings, data_dir: Path | None, source_url: str | None, with_poller: bool) -> None:
    """`serve` (with_poller False) or `run`: the bot in this thread, the poller in another."""
    token = token_of(settings)
    rules = load_rules(settings.groups)
    store = Store(settings.db_path)
    try:
        runtime = BotRuntime(
            store, rules, settings.groups, settings.poller.calendar(), settings.telegram, token
        )
        if with_poller:

            def loop(stop: threading.Event) -> None:
                own = Store(settings.db_path)  # the poller's own connection, in its own thread
                try:
                    poller = build_poller(settings, own, rules, source_url, runtime.wake, runtime.offer)
                    run_forever(poller, settings.poller.tick_seconds, stop.is_set)
                finally:
                    own.close()

            start, stop = poller_thread(loop)
            runtime.on_start.append(start)
            runtime.on_stop.append(stop)
        base = source_url or settings.source_url
        session = make_session(settings.user_agent, retries=0)  # the runtime retries, with one line
        get = partial(fetch, session, timeout=settings.timeout_seconds, max_bytes=settings.max_body_bytes)
        runtime.run(
            partial(load_files, store, data_dir, lambda: fetch_all(lambda url: get(url), base)),
            patient=data_dir is None,  # a folder that cannot be read is the operator's to fix
        )
    finally:
        store.close()
