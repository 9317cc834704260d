"""The [telegram] section of the configuration, range-checked, and the Bot API address.

The token is not here: it comes from ``TIC_ALERT_BOT_TOKEN`` only (see bot.config) and is never
printed. ``TIC_ALERT_TELEGRAM_API_URL`` is the Bot API base exactly as python-telegram-bot's
``base_url`` takes it (the token is appended), so a local Bot API server or a test server can
stand in for Telegram's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bot.errors import ConfigError

TELEGRAM_API = "https://api.telegram.org/bot"

# key → (type, lowest, highest): every number has a finite range
_NUMBERS: dict[str, tuple[type, float, float]] = {
    "messages_per_second": (float, 0.1, 1000.0),
    "private_per_second": (float, 0.01, 30.0),
    "group_per_minute": (float, 0.1, 60.0),
    "commands_per_minute": (int, 1, 600),
    "heavy_workers": (int, 1, 16),
    "request_timeout_seconds": (float, 1.0, 120.0),
    "poll_timeout_seconds": (float, 0.0, 60.0),
    "delivery_deadline_hours": (float, 1.0, 168.0),
}


@dataclass(frozen=True)
class TelegramSettings:
    """How the bot talks to Telegram, whom it treats as operators and where summaries go."""

    api_url: str = TELEGRAM_API
    # operators' user ids: /stats and /testalert in a private chat, and operator events (a group's
    # chat id here gets the events only)
    admins: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()  # channel ids that receive every release's summary
    messages_per_second: float = 25.0  # our own pace for broadcasts, below Telegram's ~30/s
    private_per_second: float = 1.0
    group_per_minute: float = 20.0
    paid_broadcast: bool = False
    commands_per_minute: int = 20  # per person and chat; beyond it they are asked to slow down
    heavy_workers: int = 2  # charts and backtests rendered at once (CPU-bound)
    request_timeout_seconds: float = 10.0
    poll_timeout_seconds: float = 10.0  # getUpdates long-poll
    delivery_deadline_hours: float = 24.0  # a delivery Telegram cannot be reached for is retried this long


def telegram_settings(raw: dict[str, Any], api_url: str | None = None) -> TelegramSettings:
    """Build and check the [telegram] section; ``api_url`` from the environment wins."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"config: telegram.{key}"
        if key in _NUMBERS:
            kind, lo, hi = _NUMBERS[key]
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (kind is int and not isinstance(value, int))
            ):
                raise ConfigError(f"{where}: expected a number, found {value!r}")
            if not math.isfinite(value) or not lo <= value <= hi:
                raise ConfigError(f"{where}: must be between {lo:g} and {hi:g}, found {value!r}")
            values[key] = kind(value)
        elif key in ("admins", "channels"):
            if not isinstance(value, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in value
            ):
                raise ConfigError(f"{where}: expected a list of chat ids (integers), found {value!r}")
            values[key] = tuple(value)
        elif key == "paid_broadcast":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: expected true or false, found {value!r}")
            values[key] = value
        elif key == "api_url":
            values[key] = value
        else:
            raise ConfigError(f"config: unknown setting telegram.{key}")
    url = api_url or values.get("api_url") or TELEGRAM_API
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        where = "config: telegram.api_url (or TIC_ALERT_TELEGRAM_API_URL)"
        raise ConfigError(f"{where}: expected an http(s) URL, found {url!r}")
    values["api_url"] = url
    return TelegramSettings(**values)
