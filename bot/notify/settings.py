"""The [telegram] section of the configuration, checked by its fields' bounds
(:mod:`bot.settings_schema`), and the Bot API address.

The token is not here: it comes from ``TIC_ALERT_BOT_TOKEN`` only (see bot.config) and is never
printed. ``TIC_ALERT_TELEGRAM_API_URL`` is the Bot API base exactly as python-telegram-bot's
``base_url`` takes it (the token is appended), so a local Bot API server or a test server can
stand in for Telegram's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config_files import Toml
from bot.settings_schema import build, http_url, setting

TELEGRAM_API = "https://api.telegram.org/bot"
CHAT_ID = 2**53  # Telegram's ids have at most 52 significant bits
MAX_CHATS = 1_000  # admins, channels: each gets every operator event or summary at stop and start


@dataclass(frozen=True)
class TelegramSettings:
    """How the bot talks to Telegram, whom it treats as operators and where summaries go."""

    api_url: str = setting(TELEGRAM_API, parse=http_url, chars=2000)
    # operators' user ids: /stats and /testalert in a private chat, and operator events (a group's
    # chat id here gets the events only)
    admins: tuple[int, ...] = setting((), lo=-CHAT_ID, hi=CHAT_ID, items=MAX_CHATS)
    # channel ids that receive every release's summary
    channels: tuple[int, ...] = setting((), lo=-CHAT_ID, hi=CHAT_ID, items=MAX_CHATS)
    messages_per_second: float = setting(25.0, lo=0.1, hi=1000)  # our own pace, below Telegram's ~30/s
    private_per_second: float = setting(1.0, lo=0.01, hi=30)
    group_per_minute: float = setting(20.0, lo=0.1, hi=60)
    paid_broadcast: bool = setting(False)
    # per person and chat; beyond it they are asked to slow down
    commands_per_minute: int = setting(20, lo=1, hi=600)
    heavy_workers: int = setting(2, lo=1, hi=16)  # charts and backtests rendered at once (CPU-bound)
    request_timeout_seconds: float = setting(10.0, lo=1, hi=120)
    # getUpdates long-poll: 0 would ask again at once, some 20 times a second
    poll_timeout_seconds: float = setting(10.0, lo=1, hi=60)
    # a delivery Telegram cannot be reached for is retried this long
    delivery_deadline_hours: float = setting(24.0, lo=1, hi=168)


def telegram_settings(
    raw: Toml, api_url: str | None = None, origins: dict[str, str] | None = None
) -> TelegramSettings:
    """Build and check the [telegram] section; ``api_url`` from the environment wins."""
    origins = dict(origins or {})
    if api_url:
        raw = {**raw, "api_url": api_url}
        origins["api_url"] = "TIC_ALERT_TELEGRAM_API_URL"
    return build(TelegramSettings, "telegram", raw, origins)
