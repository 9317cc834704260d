"""Wiring the stages into the running jobs: `poll`, `serve` and `run` share these builders.

Like bot.cli this sits above every stage: it reads Settings and passes each stage what it needs.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bot import __version__
from bot.config import Settings
from bot.data.fetch import fetch, make_session, request_budget
from bot.data.load import fetch_all, panel_from_bytes
from bot.data.panel import Panel
from bot.errors import StoreError, TicAlertError
from bot.heap import give_back, limit_arenas
from bot.notify.heartbeat import LOOP as BOT_LOOP
from bot.notify.heartbeat import TELEGRAM, keep_beating
from bot.notify.release.dispatch import Dispatcher, Queued
from bot.notify.reload import Loaded, Reloads
from bot.notify.runtime import BotRuntime, Offer, load_files, operator_sink
from bot.rules.catalogue import Rule
from bot.status_server import Check, DatabaseCollector, StatusServer
from bot.store.census import census
from bot.store.db import describe
from bot.store.leader import Leadership
from bot.store.prune import DailyPrune
from bot.store.state import Store
from bot.telemetry import Telemetry
from bot.watch.files import PolledFiles
from bot.watch.loop import http_fetcher, run_forever
from bot.watch.observe import LOOP as POLLER_LOOP
from bot.watch.observe import PollWatch
from bot.watch.outcomes import Commits, Handover, Outlets, PollResult, Prepared, PublishedRelease
from bot.watch.poller import Poller

log = logging.getLogger("tic_alert")


@dataclass(frozen=True)
class OfferRelease:
    """The dispatcher's hand-over, then the bot's: when the hand-over commits, the bot is offered
    the release as the dispatcher built it (in `run`: the panel, each month's candidates and the
    renderer with its summary and charts), so its view builds none of them again."""

    dispatcher: Dispatcher
    offer: Offer

    def prepare(self, release: PublishedRelease, panel: Panel) -> Prepared:
        queued = self.dispatcher.prepare(release, panel)  # None: a baseline (the view builds its own)
        offered = Offered(self.offer, panel, queued)
        return offered if queued is None else Commits((queued, offered))


@dataclass(frozen=True)
class Offered:
    offer: Offer
    panel: Panel
    queued: Queued | None

    def commit(self) -> None:
        q = self.queued
        self.offer(self.panel, q.candidates if q else (), q.messages if q else None)


def loaded(settings: Settings) -> Loaded:
    """What SIGHUP reads again (`run`, `serve`): the rules, the groups and the calendar."""
    return Loaded(tuple(settings.rules()), tuple(settings.groups), settings.poller.calendar())


def build_poller(
    settings: Settings,
    store: Store,
    rules: tuple[Rule, ...],
    source_url: str | None = None,
    wake: Callable[[], None] = lambda: None,
    offer: Offer | None = None,
    watch: PollWatch | None = None,
) -> Poller:
    """The poller, handing every release to the dispatcher (outbox rows in its own transaction)
    and, given ``offer``, its panel to the bot; ``watch`` times its requests (for the per-poll log
    line and the metrics)."""
    ps = settings.poller
    # a timed-out request ends within one in-window interval: detection is delayed by one poll at most
    budget = request_budget(
        ps.in_window_seconds, settings.timeout_seconds, ps.retries, ps.retry_backoff_factor
    )
    session = make_session(settings.user_agent, budget.retries, ps.retry_backoff_factor)
    dispatcher = Dispatcher(
        store.conn, rules=rules, groups=settings.groups, channels=settings.telegram.channels
    )
    handover: Handover = dispatcher if offer is None else OfferRelease(dispatcher, offer)
    fetcher = http_fetcher(session, budget.timeout, settings.max_body_bytes)  # type: ignore[arg-type]
    return Poller(
        store,
        watch.fetcher(fetcher) if watch else fetcher,
        PolledFiles(source_url or settings.source_url),
        ps,
        ps.calendar(),
        build_panel=lambda files: panel_from_bytes(files, settings.groups),
        outlets=Outlets(handover, operator_sink(store, settings.telegram.admins, wake), committed=wake),
    )


def keep_polling(
    settings: Settings,
    store: Store,
    poller: Poller,
    watch: PollWatch,
    should_stop: Callable[[], bool] = lambda: False,
    reloads: Reloads | None = None,
) -> None:
    """The poller's loop with its heartbeat, per-poll log lines and metrics, and the daily prune;
    a reload (SIGHUP) adopted between two ticks."""
    watch.telemetry.expect(POLLER_LOOP, settings.stall_seconds)
    daily = DailyPrune(store.conn, settings.keep_releases)

    def observe(result: PollResult | None, seconds: float) -> None:
        watch.after_tick(result, seconds)
        daily.tick()
        fresh = reloads.take() if reloads else None
        if fresh is not None:
            fresh.adopt_in_poller(poller, watch)
        if result is not None:  # a poll may have built a panel: its peak goes back to the system
            give_back()

    run_forever(poller, settings.poller.tick_seconds, should_stop, observe)


def status_endpoints(settings: Settings, telemetry: Telemetry, bot: bool) -> StatusServer | None:
    """/healthz, /readyz and /metrics when ``[http] listen`` (or TIC_ALERT_HTTP) is set."""
    if settings.http_listen is None:
        return None
    db = str(settings.db_path)
    telemetry.add_collector(DatabaseCollector(db))
    checks: list[tuple[str, Check]] = [("database", lambda: _database_problem(db))]
    if bot:
        checks.append(("telegram", lambda: _telegram_problem(telemetry)))
        checks.append(("leadership", lambda: telemetry.standby and f"standby, {telemetry.standby}"))
    return StatusServer(telemetry, settings.http_listen, checks).start()


def banner(settings: Settings, mode: str, role: str, status: StatusServer | None) -> None:
    """The start-up line: which tic-alert, which database (a URL's password masked), what it runs,
    whether it leads, and where /healthz, /readyz and /metrics answer."""
    db, listen = describe(settings.db_path), status.address if status is not None else "off"
    log.info(
        "tic-alert %s starting: mode=%s database=%s role=%s listen=%s",
        __version__,
        mode,
        db,
        role,
        listen,
        extra={"version": __version__, "mode": mode, "database": db, "role": role, "listen": listen},
    )


def first_bid(leadership: Leadership) -> str:
    """One try for the leadership before the banner: "leader", or "standby (leader: …)"."""
    try:
        if leadership.try_lead():
            return "leader"
        return f"standby (leader: {leadership.leader()})"
    except StoreError as err:
        return f"standby (the database does not answer: {err})"


def _database_problem(db: str) -> str | None:
    census(db)  # raises with the reason
    return None


def _release_problem(runtime: BotRuntime) -> str | None:
    return "no release loaded yet" if runtime.chatbot.view is None else None


def _telegram_problem(telemetry: Telemetry, within: float = 180.0) -> str | None:
    age = telemetry.last_reached(TELEGRAM)
    if age is None:
        return "the Bot API has not answered yet"
    return f"the Bot API last answered {age:.0f} s ago" if age > within else None


def poller_thread(make: Callable[[threading.Event], None]) -> tuple[Callable[[], None], Callable[[], None]]:
    """(start, stop) for a thread running ``make(stop_event)`` (the poller's loop)."""
    stop = threading.Event()
    thread = threading.Thread(target=make, args=(stop,), name="poller", daemon=True)

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return thread.start, halt


def _files(
    settings: Settings, data_dir: Path | None, fetched: Callable[[], dict[str, bytes]]
) -> dict[str, bytes]:
    """The release's files for a reload's view, on a connection of the reload's own thread."""
    own = Store(settings.db_path)
    try:
        return load_files(own, data_dir, fetched)
    finally:
        own.close()


def token_of(settings: Settings) -> str:
    if not settings.bot_token:
        raise TicAlertError(
            "TIC_ALERT_BOT_TOKEN is not set: put the bot's token (from @BotFather) in that variable"
        )
    return settings.bot_token


def run_bot(
    settings: Settings,
    data_dir: Path | None,
    source_url: str | None,
    with_poller: bool,
    load: Callable[[], Settings] | None = None,
) -> None:
    """`serve` (with_poller False) or `run`: the bot in this thread, the poller in another; on a
    shared database, once this process leads (an error when it lost the lead and stepped down).
    ``load`` reads the settings again on SIGHUP (the rules, groups and calendar are adopted)."""
    token = token_of(settings)
    limit_arenas()  # before any thread starts: the poller's and the workers' peaks share heaps
    rules = settings.rules()
    store = Store(settings.db_path)
    telemetry = Telemetry()
    telemetry.expect(BOT_LOOP, settings.stall_seconds)  # start-up counts: a hung start is a stall
    status = status_endpoints(settings, telemetry, bot=True)
    runtime: BotRuntime | None = None
    try:
        runtime = BotRuntime(
            store, rules, settings.groups, settings.poller.calendar(), settings.telegram, token, telemetry
        )
        runtime.background.append(lambda: keep_beating(runtime.app.bot, telemetry))
        base = source_url or settings.source_url
        session = make_session(settings.user_agent, retries=0)  # the runtime retries, with one line
        get = partial(fetch, session, timeout=settings.timeout_seconds, max_bytes=settings.max_body_bytes)
        fetched = partial(fetch_all, lambda url: get(url), base)
        read = partial(loaded, settings) if load is None else lambda: loaded(load())
        reloads = Reloads(read, runtime, partial(_files, settings, data_dir, fetched))
        signal.signal(signal.SIGHUP, reloads.signalled)
        if status is not None:  # a bot with nothing to answer from is not ready (issue 27)
            status.checks.append(("release", partial(_release_problem, runtime)))
        banner(settings, "run" if with_poller else "serve", first_bid(runtime.leadership), status)
        if with_poller:

            def loop(stop: threading.Event) -> None:
                own = Store(settings.db_path)  # the poller's own connection, in its own thread
                try:
                    watch = PollWatch(telemetry, settings.poller.calendar())
                    poller = build_poller(
                        settings, own, rules, source_url, runtime.wake, runtime.offer, watch
                    )
                    keep_polling(settings, own, poller, watch, stop.is_set, reloads)
                finally:
                    own.close()

            start, stop = poller_thread(loop)
            # once leading: a poller that never starts is a stall
            runtime.on_start.append(partial(telemetry.expect, POLLER_LOOP, settings.stall_seconds))
            runtime.on_start.append(start)
            runtime.on_stop.append(stop)
        runtime.run(
            partial(load_files, store, data_dir, fetched),
            patient=data_dir is None,  # a folder that cannot be read is the operator's to fix
        )
        if runtime.lost is not None:
            raise TicAlertError(f"stepped down, another tic-alert leads: {runtime.lost}")
    finally:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        if runtime is not None:
            runtime.leadership.close()
        store.close()
        if status is not None:
            status.stop()
