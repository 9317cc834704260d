"""python-telegram-bot's AIORateLimiter (Telegram's limits as a backstop), counting each 429.

The limiter retries a 429 itself before the sender sees it, so the sender alone would undercount:
every answer of the Bot API passes through the callback wrapped here, each 429 counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter


class CountingRateLimiter(AIORateLimiter):
    def __init__(self, *args: Any, on_429: Callable[[], None] = lambda: None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.on_429 = on_429

    async def process_request(  # type: ignore[override]
        self,
        callback: Callable[..., Any],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        async def counted(*a: Any, **kw: Any) -> Any:
            try:
                return await callback(*a, **kw)
            except RetryAfter:
                self.on_429()
                raise

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)
