"""The sender's record of what Telegram has: messages recorded as sent, many in one write.

At a paid broadcast's 1,000 messages a second, one transaction per message is a good part of
the sender's time. Every courier whose message Telegram took during one turn of the event loop
hands it here and waits; one write then records them all (each row's ``sent_ids`` as the
courier now knows them, a row's last message also making the row ``sent``), and each courier
goes on —
so a message is recorded before its chat's next one is sent, as before, and a crash repeats at
most the message each chat had in flight (Telegram had it, the write had not happened yet).

A write the database refuses (busy, full, read-only) is tried again, waiting longer each time up
to 5 s; the couriers wait with it rather than lose or repeat a message. Any other error is
raised in each courier of that write (its row fails, as a courier's own error fails it). A
courier cancelled while it waits (the process stops) does not take its message back: it is
still written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from bot.errors import StoreUnavailable
from bot.store.outbox import Outbox

log = logging.getLogger("tic_alert.sender")


class Ledger:
    """Gathers the records of messages sent and writes them together."""

    def __init__(self, outbox: Outbox, clock: Callable[[], dt.datetime]):
        self.outbox = outbox
        self.clock = clock
        self.failing = False  # the database refuses writes (told once, and once when it takes them)
        self._waiting: list[tuple[tuple[int, tuple[int, ...], bool], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def sent(self, delivery_id: int, sent_ids: tuple[int, ...], *, last: bool) -> None:
        """Record one more message Telegram has: ``sent_ids``, the row's messages with Telegram
        now, the new one last (``last``: all of the row's); returns once it is written."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append(((delivery_id, sent_ids, last), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done  # cancelled while waiting: the record stays in the batch and is still written

    async def flush(self) -> None:
        """Wait until every record handed in so far is written."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        delay = 0.1
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                # in a thread: the loop goes on sending to other chats while the database writes
                await asyncio.to_thread(
                    self.outbox.sent_many, [record for record, _ in batch], now=self.clock()
                )
            except StoreUnavailable as err:
                if not self.failing:
                    log.warning("deliveries wait: the database refuses writes (%s); retrying", err)
                    self.failing = True
                self._waiting = batch + self._waiting
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            except Exception as err:  # not the database refusing: each courier fails its row
                for _, done in batch:
                    if not done.done():
                        done.set_exception(err)
                continue
            if self.failing:
                log.warning("the database takes writes again: deliveries go on")
                self.failing = False
            delay = 0.1
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
