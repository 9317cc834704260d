"""The running bot of `tic-alert serve` and `tic-alert run`: commands, the sender and (in `run`) the poller.

The bot owns the main thread and its event loop: commands, and the sender draining the outbox.
In `run` the poller runs in its own thread with its own SQLite connection and its own
``schedule`` loop; a hand-over's commit wakes the sender at once. With `poll` and `serve` as two
processes on one database, the sender finds new rows within a second.
The release the bot answers from is the newest one the poller holds in the database (rebuilt
when the poller records a new release), or the files of ``--data-dir``, or, on a fresh machine,
the files fetched once from the Treasury.
"""

from __future__ import annotations

import asyncio
import html
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from telegram import Update
from telegram.ext import Application

from bot.data.entities import Group
from bot.data.load import panel_from_bytes, read_dir, release_files
from bot.data.panel import Panel
from bot.data.sources import HEADLINE
from bot.notify.app import TelegramFrontend, build_application, register_commands
from bot.notify.chatbot import ChatBot
from bot.notify.delivery_watch import DeliveryWatch
from bot.notify.sender import Sender
from bot.notify.settings import TelegramSettings
from bot.notify.view import ReleaseView
from bot.rules.catalogue import Rule
from bot.store.outbox import NewDelivery, Outbox
from bot.store.state import Logged, Store
from bot.store.subscribers import Subscribers
from bot.telemetry import Telemetry
from bot.watch.calendar import Calendar
from bot.watch.outcomes import OperatorEvent

log = logging.getLogger("tic_alert.serve")
REFRESH_SECONDS = 30.0


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
        self.store = store
        self.telemetry = telemetry
        self.rules = tuple(rules)
        self.groups = tuple(groups)
        self.settings = settings
        self.chatbot = ChatBot(
            Subscribers(store.conn),
            rules,
            groups,
            calendar,
            settings.heavy_workers,
            lambda: poller_health(store),
        )
        frontend = TelegramFrontend(self.chatbot, settings, telemetry=telemetry)
        self.app = build_application(token, settings, frontend, self.post_init, self.post_stop)
        self.sender = Sender(
            self.app.bot,
            Outbox(store.conn),
            Subscribers(store.conn),
            settings,
            watch=DeliveryWatch(telemetry),
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.on_start: list[Callable[[], None]] = []  # e.g. start the poller thread
        self.on_stop: list[Callable[[], None]] = []
        self._offered: Panel | None = None

    def wake(self) -> None:
        """Thread-safe: new outbox rows are committed."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.sender.wake)

    async def post_init(self, app: Application) -> None:
        """After the Application is initialised: register the commands, start the sender, the
        view's refresh and whatever ``on_start`` holds."""
        await register_commands(app.bot, self.settings.admins)
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._tasks.append(self.loop.create_task(self.sender.run(self._stop)))
        self._tasks.append(self.loop.create_task(self.refresh_forever()))
        for start in self.on_start:
            start()

    async def post_stop(self, app: Application) -> None:
        for stop in self.on_stop:
            stop()
        self._stop.set()
        for task in self._tasks:
            if task.get_name() and not task.done():
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def offer(self, panel: Panel) -> None:
        """Thread-safe: the poller (in `run`) hands over a release's panel; the view adopts it
        instead of parsing the files again."""
        self._offered = panel

    async def refresh_forever(self) -> None:
        """Adopt an offered panel at once; else rebuild the view when the poller (another process)
        has recorded a newer release."""
        waited = 0.0
        while True:
            await asyncio.sleep(1.0)
            offered, self._offered = self._offered, None
            if offered is not None:
                try:
                    self.chatbot.view = await asyncio.to_thread(ReleaseView, offered, self.rules)
                    log.info("release view now %s (from the poller)", self.chatbot.view.month)
                except Exception:
                    log.exception("adopting the poller's panel failed; keeping the view loaded")
                continue
            waited += 1.0
            if waited < REFRESH_SECONDS:
                continue
            waited = 0.0
            try:
                latest = self.store.latest_release()
                view = self.chatbot.view
                if latest is None or (view is not None and view.month >= latest.month):
                    continue
                bodies = release_files(self.store.held_bodies())
                self.chatbot.view = await asyncio.to_thread(make_view, bodies, self.groups, self.rules)
                log.info("release view now %s", self.chatbot.view.month)
            except Exception:
                log.exception("refreshing the release view failed; keeping the one loaded")

    def run(self, files: dict[str, bytes]) -> None:
        """Until Ctrl-C or SIGTERM: commands, deliveries, and whatever ``on_start`` added."""
        self.chatbot.view = make_view(files, self.groups, self.rules)
        log.info("serving release %s", self.chatbot.view.month)
        self.app.run_polling(
            allowed_updates=Update.ALL_TYPES, timeout=int(self.settings.poll_timeout_seconds)
        )


def poller_thread(make: Callable[[threading.Event], None]) -> tuple[Callable[[], None], Callable[[], None]]:
    """(start, stop) for a thread running ``make(stop_event)`` (the poller's loop)."""
    stop = threading.Event()
    thread = threading.Thread(target=make, args=(stop,), name="poller", daemon=True)

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return thread.start, halt


def load_files(
    store: Store, data_dir: Path | None, fetch_all: Callable[[], dict[str, bytes]]
) -> dict[str, bytes]:
    """The files of the release to serve (RELEASE_FILES, as `check` and the poller use them):
    from a folder, else what the poller holds, else a fetch."""
    if data_dir is not None:
        return read_dir(data_dir)
    held = release_files(store.held_bodies())
    return held if HEADLINE in held else fetch_all()


def make_view(files: dict[str, bytes], groups: Sequence[Group], rules: Sequence[Rule]) -> ReleaseView:
    return ReleaseView(panel_from_bytes(files, groups), tuple(rules))
