"""The bot's event loop proves it is alive: a beat every few seconds (a blocked loop stops
beating, and /healthz turns 503), and now and then a getMe to know the Bot API answers (/readyz)."""

from __future__ import annotations

import asyncio
import logging
import time

from telegram import Bot
from telegram.error import TelegramError

from bot.notify.outbound.verdicts import message_of
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.bot")
LOOP = "bot"
TELEGRAM = "telegram"


async def keep_beating(bot: Bot, telemetry: Telemetry, every: float = 5.0, probe_every: float = 60.0) -> None:
    """Until cancelled: beat every ``every`` seconds; ask getMe every ``probe_every`` seconds."""
    next_probe = 0.0
    while True:
        telemetry.beat(LOOP)
        if time.monotonic() >= next_probe:
            next_probe = time.monotonic() + probe_every
            try:
                await bot.get_me()
                telemetry.reached(TELEGRAM)
            except TelegramError as err:  # the network, or Telegram: /readyz says so
                log.warning("Bot API not reached: %s", message_of(err))
        await asyncio.sleep(every)
