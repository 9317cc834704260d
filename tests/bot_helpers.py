"""Run the real python-telegram-bot Application against the fake Bot API, in a background loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from telegram import Update

from bot.config import load_settings
from bot.notify.runtime import BotRuntime, make_view
from bot.notify.settings import TelegramSettings
from bot.rules.catalogue import load_rules
from bot.store.state import Store

TOKEN = "123456:TEST-token-that-must-never-be-logged"


class RunningBot:
    """``with RunningBot(server, db) as bot:`` the bot answers updates until the block ends."""

    def __init__(
        self,
        server,  # tests.telegram_server.TelegramServer, or a TelegramFront before one (its base_url)
        db: Path | str,  # a SQLite file or a PostgreSQL URL
        files: dict[str, bytes] | None = None,
        admins: tuple[int, ...] = (),
        commands_per_minute: int = 20,
        token: str = TOKEN,
        telemetry=None,  # bot.telemetry.Telemetry: command latency, the sender's counters
        request_timeout: float = 10.0,  # each Bot API call's timeouts (a read's: between two reads)
    ):
        settings = load_settings(env={})
        self.rules = load_rules(settings.groups)
        self.store = Store(db)
        self.telegram = TelegramSettings(
            api_url=server.base_url,
            admins=admins,
            commands_per_minute=commands_per_minute,
            poll_timeout_seconds=1,
            request_timeout_seconds=request_timeout,
        )
        self.runtime = BotRuntime(
            self.store,
            self.rules,
            settings.groups,
            settings.poller.calendar(),
            self.telegram,
            token,
            telemetry,
        )
        self.app, self.chatbot = self.runtime.app, self.runtime.chatbot
        if files is not None:
            self.chatbot.view = make_view(files, settings.groups, self.rules)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> RunningBot:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(20)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.store.close()

    async def _start(self) -> None:
        await self.app.initialize()
        if self.app.post_init is not None:
            await self.app.post_init(self.app)
        assert self.app.updater is not None
        await self.app.updater.start_polling(
            poll_interval=0,
            timeout=1,
            allowed_updates=Update.ALL_TYPES,
            error_callback=self._polling_failed,  # as Application.run_polling passes its errors on
        )
        await self.app.start()

    def _polling_failed(self, err: Exception) -> None:
        """getUpdates failed: to the Application's error handlers, as in `tic-alert run`."""
        self.app.create_task(self.app.process_error(error=err, update=None))

    async def _stop(self) -> None:
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.runtime.post_stop(self.app)
        await self.app.shutdown()
