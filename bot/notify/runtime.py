"""The running bot of `tic-alert serve` and `tic-alert run`: commands, the sender and (in `run`) the poller.

The bot owns the main thread and its event loop: commands, and the sender draining the outbox.
In `run` the poller runs in its own thread with its own database connection and its own
``schedule`` loop; a hand-over's commit wakes the sender at once. With `poll` and `serve` as two
processes on one database, the sender finds new rows within a second.
On a shared database it stands by until it leads, and steps down if it loses the lead (standby).
The release the bot answers from is the newest one the poller holds in the database (rebuilt
when the poller records a new release), or the files of ``--data-dir``, or, on a fresh machine,
the files fetched once from the Treasury.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path

from telegram import Update
from telegram.ext import Application

from bot.data.entities import Group
from bot.data.load import only_release_files, panel_from_bytes, read_dir
from bot.data.panel import Panel
from bot.data.sources import HEADLINE
from bot.errors import TicAlertError
from bot.notify.app import TelegramFrontend, build_application, register_commands
from bot.notify.heartbeat import LOOP as BOT_LOOP
from bot.notify.outbound.delivery_watch import DeliveryWatch
from bot.notify.outbound.engine import Fence
from bot.notify.outbound.pacer import pacer_for
from bot.notify.outbound.reply_queue import ReplyQueue, Urgency
from bot.notify.outbound.scheduler import Sender, make_engine
from bot.notify.patience import Attempts, kind_of, until_telegram_answers
from bot.notify.people.chatbot import ChatBot, Reply
from bot.notify.people.trial import TrialAlert
from bot.notify.people.view import ReleaseView
from bot.notify.settings import TelegramSettings
from bot.notify.standby import Standby, exit_within
from bot.render.alert import ReleaseMessages
from bot.rules.catalogue import Rule
from bot.rules.release import ReleaseCandidates
from bot.store.leader import Leadership
from bot.store.outbox import NewDelivery, Outbox
from bot.store.state import Logged, Store
from bot.store.subscribers import Subscribers
from bot.telemetry import Telemetry
from bot.watch.calendar import Calendar
from bot.watch.outcomes import OperatorEvent

log = logging.getLogger("tic_alert.serve")
REFRESH_SECONDS = 30.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# the poller's hand-over to the bot: the panel, each new month's candidates and the renderer
Offer = Callable[[Panel, Sequence[ReleaseCandidates], ReleaseMessages | None], None]


def poller_health(store: Store) -> str:
    """The newest release the poller holds, its last poll and the deliveries, for /stats."""
    latest = store.latest_release()
    polls = store.poll_log(limit=1)
    last = f"{polls[0].at:%Y-%m-%dT%H:%M:%S} {polls[0].file} {polls[0].outcome}" if polls else "no polls yet"
    errors = sum(1 for p in store.poll_log(limit=20) if p.outcome == Logged.ERROR)
    outbox = Outbox(store.conn)
    release = outbox.latest_release()
    states = ", ".join(f"{n} {s}" for s, n in outbox.counts(release).items() if n) if release else "none"
    return (
        f"Poller: newest release {latest.month if latest else 'none'}; last poll {last}; "
        f"{errors} errors in the last 20 polls; operator events {len(store.operator_events())}\n"
        f"Deliveries for {release or 'no release yet'}: {states or 'none'}"
    )


def operator_sink(
    store: Store, admins: Sequence[int], wake: Callable[[], None]
) -> Callable[[OperatorEvent], None]:
    """Operator events (poller faults, dead-man) become outbox rows for the admin chats."""

    def send(event: OperatorEvent) -> None:
        log.warning("OPERATOR %s: %s", event.kind, event.message)
        outbox = Outbox(store.conn)
        with store.transaction():
            for admin in admins:
                text = f"⚠️ tic-alert operator event: {event.kind}\n{event.message}"
                outbox.add(
                    NewDelivery.operator(
                        key=f"op:{event.key}:{admin}", chat_id=admin, html_text=html.escape(text)
                    ),
                    now=event.at,
                )
        wake()

    return send


class BotRuntime:
    """The Application, its ChatBot and its Sender, sharing one database connection."""

    def __init__(
        self,
        store: Store,
        rules: Sequence[Rule],
        groups: Sequence[Group],
        calendar: Calendar,
        settings: TelegramSettings,
        token: str,
        telemetry: Telemetry | None = None,
    ):
        self.store, self.rules, self.groups, self.settings = store, tuple(rules), tuple(groups), settings
        self.telemetry = telemetry
        chats = Subscribers(store.conn)
        health = partial(poller_health, store)
        self.chatbot = ChatBot(
            chats, rules, groups, calendar, settings.heavy_workers, health, self.tell_operators
        )
        self.pacer = pacer_for(settings)  # one budget for the broadcast and the replies
        self.replies = ReplyQueue(self.pacer)
        self.frontend = TelegramFrontend(self.chatbot, settings, self.replies, telemetry=telemetry)
        self.app = build_application(token, settings, self.frontend, self.post_init, self.post_stop)
        self.leadership = lead = Leadership(store.conn)  # on SQLite: the file's OS lock (filelock)
        self.sender = self._sender(chats, Fence(on_fenced=self.fenced, leading=lead.holds))
        self.frontend.migrated = self.sender.chat_migrated
        self.standby, self.lost = Standby(lead, telemetry), None  # lost: why it stepped down
        self.chatbot.deliver = self.deliver_trial
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._sending: asyncio.Task | None = None  # the sender's run: stopped, never cancelled
        self.on_start: list[Callable[[], None]] = []  # e.g. start the poller thread (before Telegram answers)
        self.background: list[Callable[[], Awaitable[None]]] = []  # tasks in the loop, e.g. the heartbeat
        self.on_stop: list[Callable[[], None]] = []  # run once, at the Application's stop or the end
        self._offered: tuple[Panel, Sequence[ReleaseCandidates], ReleaseMessages | None] | None = None
        self.token = token
        self._load: Callable[[], dict[str, bytes]] | None = None  # while no release is loaded
        self._next_load = 0.0
        self.loading = Attempts("no release to answer from yet")

    def _sender(self, chats: Subscribers, fence: Fence) -> Sender:
        """The outbox's sender, on one engine with the replies: one pace, one Link, one file_id cache."""
        outbox, bot = Outbox(self.store.conn), self.app.bot
        engine = make_engine(bot, outbox, chats, self.pacer, fence, self.replies, self.telemetry)
        watch = DeliveryWatch(self.telemetry)
        return Sender(bot, outbox, chats, self.settings, watch=watch, engine=engine)

    def tell_operators(self, text: str) -> None:
        """A line for the operators' chats now, not through the outbox (the database may be what
        failed); in the log too."""
        log.warning("OPERATOR database: %s", text)
        for admin in self.settings.admins:
            self.replies.submit(admin, [Reply(f"⚠️ tic-alert operator event: database\n{text}")], Urgency.NOW)

    def deliver_trial(self, trial: TrialAlert) -> None:
        """/testalert: its row in the outbox (this thread owns the connection), the sender woken."""
        trial.queue(self.sender.outbox, now=dt.datetime.now(dt.UTC))
        self.sender.wake()

    def wake(self) -> None:
        """Thread-safe: new outbox rows are committed."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.sender.wake)

    async def post_init(self, app: Application) -> None:
        """After the Application is initialised: register the commands, start the sender, the
        replies and the view's refresh."""
        await register_commands(app.bot, self.settings.admins)
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._sending = self.loop.create_task(self.sender.run(self._stop))
        self._tasks.append(self._sending)
        self._tasks.append(self.loop.create_task(self.replies.run(self.sender.engine, self._stop)))
        self._tasks.append(self.loop.create_task(self.refresh_forever()))
        self._tasks += [self.loop.create_task(make()) for make in self.background]

    async def post_stop(self, app: Application) -> None:
        """The sender stops by itself (no message starts; what Telegram has is recorded: not
        cancelled, see Sender._drain); the other tasks are cancelled."""
        self._halt()  # the poller first: it wakes the sender through this loop
        self._stop.set()
        self.sender.wake()
        for task in self._tasks:
            if task is not self._sending and not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def offer(
        self,
        panel: Panel,
        candidates: Sequence[ReleaseCandidates] = (),
        messages: ReleaseMessages | None = None,
    ) -> None:
        """Thread-safe (an :data:`Offer`): the poller (in `run`) hands over a release's panel, and
        what its dispatcher built of it; the view adopts them instead of parsing the files and
        firing the rules again."""
        self._offered = (panel, candidates, messages)

    async def refresh_forever(self) -> None:
        """Adopt an offered panel at once; while no release is loaded, load one with backoff;
        else rebuild the view when the poller (another process) has recorded a newer release."""
        waited = 0.0
        while True:
            await asyncio.sleep(1.0)
            offered, self._offered = self._offered, None
            if offered is not None:
                try:
                    panel, candidates, messages = offered
                    view = partial(ReleaseView, panel, self.rules, candidates, messages)
                    self.chatbot.view = await asyncio.to_thread(view)
                    log.info("release view now %s (from the poller)", self.chatbot.view.month)
                except Exception:
                    log.exception("adopting the poller's panel failed; keeping the view loaded")
                continue
            if self.chatbot.view is None:
                await self._load_again()
                continue
            waited += 1.0
            if waited < REFRESH_SECONDS:
                continue
            waited = 0.0
            try:
                latest = self.store.latest_release()
                if latest is None or self.chatbot.view.month >= latest.month:
                    continue
                bodies = only_release_files(self.store.held_bodies())
                self.chatbot.view = await asyncio.to_thread(make_view, bodies, self.groups, self.rules)
                log.info("release view now %s", self.chatbot.view.month)
            except Exception:
                log.exception("refreshing the release view failed; keeping the one loaded")

    async def _load_again(self) -> None:
        if self._load is None or time.monotonic() < self._next_load:
            return
        try:
            files = await asyncio.to_thread(self._load)
            self.chatbot.view = await asyncio.to_thread(make_view, files, self.groups, self.rules)
        except (TicAlertError, OSError) as err:
            self._next_load = time.monotonic() + self.loading.failed(kind_of(err))
            return
        self.loading.succeeded()
        log.info("serving release %s", self.chatbot.view.month)

    def run(self, load: Callable[[], dict[str, bytes]], patient: bool = True) -> None:
        """Until Ctrl-C or SIGTERM: commands, deliveries, and whatever ``on_start`` added.

        The release to answer from is ``load()``. When that fails and ``patient`` (files from
        the Treasury, not a folder), the bot serves anyway, saying no release is loaded yet, and
        loads it in the background with backoff. Telegram unreachable is waited for likewise
        (meanwhile the poller, in `run`, polls); only a refused token ends it."""
        try:
            self.chatbot.view = make_view(load(), self.groups, self.rules)
            log.info("serving release %s", self.chatbot.view.month)
        except (TicAlertError, OSError) as err:
            if not patient:
                raise
            self._load, self._next_load = load, time.monotonic() + self.loading.failed(kind_of(err))
        if not asyncio.run(self._unless_stopped(self.standby.wait, "the leadership")):
            return
        self.sender.outbox.epoch = self.leadership.epoch  # the sender's writes are fenced by it
        self.on_stop.append(self.standby.watch(self.step_down, self.resume))
        for start in self.on_start:
            start()
        try:
            beat = partial(self.telemetry.beat, BOT_LOOP) if self.telemetry else lambda: None
            answers = partial(until_telegram_answers, self.token, self.settings, beat)  # waiting: no stall
            if not asyncio.run(self._unless_stopped(answers, "Telegram")):
                return  # stopped (Ctrl-C, SIGTERM) while waiting
            self.app.run_polling(
                allowed_updates=Update.ALL_TYPES,
                timeout=int(self.settings.poll_timeout_seconds),
                bootstrap_retries=-1,  # Telegram gone between our check and PTB's: PTB waits too
            )
        finally:
            self._halt()

    async def _unless_stopped(self, wait: Callable[[], Awaitable[None]], what: str) -> bool:
        """Await ``wait()``; False when SIGINT or SIGTERM came first."""
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, task.cancel)
        try:
            await wait()
            return True
        except asyncio.CancelledError:
            log.info("stopped while waiting for %s", what)
            return False
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)

    def step_down(self, why: str) -> None:
        """Thread-safe: another process leads, or may: no message starts any more, the process
        stops as on SIGTERM and exits with an error (run_bot), to be started again as a standby."""
        if self.lost is not None:
            return
        self.lost, self.sender.engine.closing = why, True
        log.error("lost the leadership: %s; stopping (no message starts any more)", why)
        os.kill(os.getpid(), signal.SIGTERM)  # calls in flight finish, then it ends, whatever hangs
        exit_within(self.sender.grace + 15.0)

    def fenced(self, why: str) -> None:
        """The sender stopped starting messages (``engine.closing``): not leading just before one,
        or a write fenced. While the lock session that ended is tried for again (standby.watch),
        that is all (:meth:`resume` or :meth:`step_down` follows); else it steps down."""
        if not self.leadership.regaining:
            self.step_down(why)

    def resume(self) -> None:
        """Thread-safe: the lock is back on a new session and nobody led meanwhile: messages start
        again (a stop or a step-down since wins)."""

        def go_on() -> None:
            if self.lost is None and not self._stop.is_set():
                self.sender.engine.closing = False
                self.sender.wake()

        if self.loop is not None:
            with suppress(RuntimeError):  # the loop has closed: the process is ending
                self.loop.call_soon_threadsafe(go_on)

    def _halt(self) -> None:
        """Run the ``on_stop`` hooks, once."""
        hooks, self.on_stop = self.on_stop, []
        for stop in hooks:
            stop()


def load_files(
    store: Store, data_dir: Path | None, fetch_all: Callable[[], dict[str, bytes]]
) -> dict[str, bytes]:
    """The files of the release to serve (RELEASE_FILES, as `check` and the poller use them):
    from a folder, else what the poller holds, else a fetch."""
    if data_dir is not None:
        return read_dir(data_dir)
    held = only_release_files(store.held_bodies())
    return held if HEADLINE in held else fetch_all()


def make_view(files: dict[str, bytes], groups: Sequence[Group], rules: Sequence[Rule]) -> ReleaseView:
    return ReleaseView(panel_from_bytes(files, groups), tuple(rules))
