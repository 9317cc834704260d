"""`tic-alert serve`: the bot on long polling, its settings in the state database.

The release it answers from is the newest one the poller holds in the same database (rebuilt
when the poller records a new release), or the files of ``--data-dir``, or, on a fresh machine,
the files fetched once from the Treasury.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from telegram import Update
from telegram.ext import Application

from bot.data.entities import Group
from bot.data.load import panel_from_bytes, read_dir
from bot.notify.app import TelegramFrontend, build_application
from bot.notify.chatbot import ChatBot
from bot.notify.service import ReleaseView
from bot.notify.settings import TelegramSettings
from bot.rules.catalogue import Rule
from bot.store.state import Store
from bot.store.subscribers import Subscribers
from bot.watch.calendar import Calendar

log = logging.getLogger("tic_alert.serve")
REFRESH_SECONDS = 30.0


def poller_health(store: Store) -> str:
    """The newest release the poller holds and its last poll, for /stats."""
    latest = store.latest_release()
    polls = store.poll_log(limit=1)
    last = f"{polls[0][0][:19]} {polls[0][1]} {polls[0][2]}" if polls else "no polls yet"
    errors = sum(1 for p in store.poll_log(limit=20) if p[2] == "error")
    return (
        f"Poller: newest release {latest.month if latest else 'none'}; last poll {last}; "
        f"{errors} errors in the last 20 polls; operator events {len(store.operator_events())}"
    )


def build_bot(
    store: Store,
    rules: Sequence[Rule],
    groups: Sequence[Group],
    calendar: Calendar,
    settings: TelegramSettings,
    token: str,
) -> tuple[Application, ChatBot]:
    chatbot = ChatBot(
        Subscribers(store.conn), rules, groups, calendar, settings.heavy_workers, lambda: poller_health(store)
    )
    return build_application(token, settings, TelegramFrontend(chatbot, settings)), chatbot


def load_files(
    store: Store, data_dir: Path | None, fetch_all: Callable[[], dict[str, bytes]]
) -> dict[str, bytes]:
    """The files of the release to serve: a folder, else what the poller holds, else a fetch."""
    if data_dir is not None:
        return read_dir(data_dir)
    held = store.held_bodies()
    return held if "slt_table5.txt" in held else fetch_all()


async def refresh_forever(
    store: Store, chatbot: ChatBot, groups: Sequence[Group], rules: Sequence[Rule]
) -> None:
    """Rebuild the release view when the poller has recorded a newer release."""
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            latest = store.latest_release()
            if latest is None or (chatbot.view is not None and chatbot.view.month >= latest.month):
                continue
            view = await asyncio.to_thread(make_view, store.held_bodies(), groups, rules)
            chatbot.view = view
            log.info("release view now %s", view.month)
        except Exception:
            log.exception("refreshing the release view failed; keeping the one loaded")


def serve(
    store: Store,
    rules: Sequence[Rule],
    groups: Sequence[Group],
    calendar: Calendar,
    settings: TelegramSettings,
    token: str,
    files: dict[str, bytes],
    follow_store: bool = True,
) -> None:
    """Run the bot until Ctrl-C or SIGTERM."""
    app, chatbot = build_bot(store, rules, groups, calendar, settings, token)
    chatbot.view = make_view(files, groups, rules)
    log.info("serving release %s", chatbot.view.month)
    register = app.post_init

    async def post_init(application: Application) -> None:
        if register is not None:
            await register(application)
        if follow_store:
            refresh = refresh_forever(store, chatbot, groups, rules)
            tasks.append(asyncio.get_running_loop().create_task(refresh))

    tasks: list[asyncio.Task] = []
    app.post_init = post_init
    app.run_polling(allowed_updates=Update.ALL_TYPES, timeout=int(settings.poll_timeout_seconds))


def make_view(files: dict[str, bytes], groups: Sequence[Group], rules: Sequence[Rule]) -> ReleaseView:
    return ReleaseView(panel_from_bytes(files, groups), tuple(rules))
