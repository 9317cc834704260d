"""Our own pace within Telegram's limits, for everything the bot sends.

Telegram allows about 30 messages a second overall, one a second in a private chat and 20 a
minute in a group or channel, and answers 429 ("retry after N s") beyond. A :class:`Pacer`
keeps under those limits instead of drawing 429s:

* an **overall slot** every ``1 / per_second`` seconds, taken one at a time, on a schedule: a
  send that woke a little late (the event loop's timers are coarser than a paid broadcast's
  1 ms) does not push the next slots later, but a schedule more than ``CATCH_UP`` behind starts
  again from now (a stalled event loop never releases a burst of the slots it missed);
* a **chat's own slot**: its next message waits a full interval (``1 / private_per_second`` in a
  private chat, ``60 / group_per_minute`` in a group or channel — chat ids below zero) from when
  Telegram had its last one, plus 5 %: Telegram counts arrivals, and ours are paced by departure;
* a **pause** of every send after a 429, for as long as Telegram asked;
* a command's reply (``first``) takes the next overall slot ahead of the broadcast's sends.

The clock and the sleep are passed in (tests drive them); one Pacer is shared by every sender
of one bot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.notify.settings import TelegramSettings

MARGIN = 1.05  # a chat's interval, counted from arrival, plus 5 %
CATCH_UP = 0.01  # seconds a late slot may be made up by the next ones (no more: a stall is a stall)
PAID_PER_SECOND = 950.0  # Telegram's 1,000 a second for paid broadcasts, less 5 %: it counts arrivals
REMEMBERED = 4096  # chats whose next slot is kept; beyond it, those whose slot has passed go


class Pacer:
    """Slots for sends: overall, per chat, and a pause after a 429."""

    def __init__(
        self,
        *,
        per_second: float,
        private_per_second: float,
        group_per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.interval = 1.0 / per_second
        self.private = 1.0 / private_per_second
        self.group = 60.0 / group_per_minute
        self.clock = clock
        self.sleep = sleep
        self.paused_until = 0.0
        self._last_any = float("-inf")
        self._slot = asyncio.Lock()
        self._line = asyncio.Lock()  # sends not marked ``first`` wait here, one at a time on the slot
        self._next: dict[int, float] = {}  # chat id → when its next message may go

    def ready(self, chat_id: int) -> float:
        """When the chat's next message may go (its own slot, and any pause)."""
        return max(self._next.get(chat_id, 0.0), self.paused_until)

    def spacing(self, chat_id: int) -> float:
        """The shortest time between two messages to one chat."""
        return self.group if chat_id < 0 else self.private

    async def own_slot(self, chat_id: int) -> None:
        """Wait for the chat's own slot and any pause (not for an overall slot)."""
        ready = self.ready(chat_id)
        if ready > self.clock():
            await self.sleep(ready - self.clock())

    async def wait(self, chat_id: int, first: bool = False) -> None:
        """Wait for the chat's own slot and any pause, then take the next overall slot.

        ``first`` (a command's reply): ahead of the sends not marked so, which line up one at a
        time before the slot (a broadcast's many workers never stand between a reply and it)."""
        while True:
            await self.own_slot(chat_id)
            if first:
                taken = await self._take(chat_id)
            else:
                async with self._line:
                    taken = await self._take(chat_id)
            if taken:
                return

    async def _take(self, chat_id: int) -> bool:
        """The next overall slot, if the chat's own is still free once it comes (False: another
        send to the chat, e.g. a reply beside the broadcast, or a 429's pause came first; the
        slot is left for the next send)."""
        async with self._slot:
            slot, now = self._last_any + self.interval, self.clock()
            if slot < now - CATCH_UP:
                slot = now
            elif slot > now:
                await self.sleep(slot - now)
            if self.ready(chat_id) > self.clock():
                return False
            self._last_any = slot
            self._next[chat_id] = slot + self.spacing(chat_id)
        return True

    def sent(self, chat_id: int) -> None:
        """Telegram has a message for the chat: its next one waits a full interval from now."""
        now = self.clock()
        self._next[chat_id] = max(self._next.get(chat_id, 0.0), now + self.spacing(chat_id) * MARGIN)
        if len(self._next) > REMEMBERED:
            self._next = {c: t for c, t in self._next.items() if t > now}

    def pause(self, seconds: float) -> None:
        """Telegram answered 429: no send for ``seconds``."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)


def pacer_for(settings: TelegramSettings) -> Pacer:
    """The pace the settings ask for (paid broadcasts: 950 a second overall, under Telegram's 1,000)."""
    return Pacer(
        per_second=PAID_PER_SECOND if settings.paid_broadcast else settings.messages_per_second,
        private_per_second=settings.private_per_second,
        group_per_minute=settings.group_per_minute,
    )
