"""The sender's record of what Telegram has: messages recorded as sent, many in one write.

At a paid broadcast's 1,000 messages a second, one transaction per message is a good part of
the sender's time. Every sender whose message Telegram took during one turn of the event loop
hands it here and waits; one write then records them all (each row's ``sent_ids`` and
``sent_as`` as the sender now knows them, a row's last message also making the row ``sent``),
and each sender goes on — so a message is recorded before its chat's next one is sent, as
before, and a crash repeats at most the message each chat had in flight (Telegram had it, the
write had not happened yet). A write waits ``GATHER`` seconds for more records first: each
write is a hand-off to a thread (a wake-up and a context switch, costlier than a small SQLite
write on a busy machine), and a chat's next message is a second away anyway.

A write the database refuses (busy, full, read-only) is tried again, waiting longer each time up
to 5 s; the senders wait with it rather than lose or repeat a message. Any other error is
raised in each sender of that write (its row fails, as a sender's own error fails it). A
sender cancelled while it waits (the process stops) does not take its message back: it is
still written, and a stop waits for it (:meth:`flush`, up to a grace: a record given up on is
logged, its message is sent again after the restart).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from bot.errors import StoreUnavailable
from bot.notify.patience import Attempts, kind_of, refused_writes
from bot.store.outbox import Outbox

log = logging.getLogger("tic_alert.sender")
Record = tuple[int, tuple[int, ...], tuple[str, ...], bool]  # Outbox.sent_many's
GATHER = 0.01  # seconds a write waits for more records (at 1,000 messages/s, ~10 a write)


class Ledger:
    """Gathers the records of messages sent and writes them together."""

    def __init__(self, outbox: Outbox, clock: Callable[[], dt.datetime], writes: Attempts | None = None):
        self.outbox = outbox
        self.clock = clock
        self.writes = writes or refused_writes()  # the sender's: told once, and once when it takes them
        self._waiting: list[tuple[Record, asyncio.Future[None]]] = []
        self._writing: list[tuple[Record, asyncio.Future[None]]] = []  # the write under way
        self._writer: asyncio.Task[None] | None = None

    async def sent(
        self, delivery_id: int, sent_ids: tuple[int, ...], sent_as: tuple[str, ...], *, last: bool
    ) -> None:
        """Record one more message Telegram has: ``sent_ids``, the row's messages with Telegram
        now, the new one last, and how each went (``sent_as``); ``last``: all of the row's.
        Returns once it is written."""
        done = asyncio.get_running_loop().create_future()
        self._waiting.append(((delivery_id, sent_ids, sent_as, last), done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        await done  # cancelled while waiting: the record stays in the batch and is still written

    @property
    def failing(self) -> bool:
        """The database refuses writes now."""
        return self.writes.failures > 0

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until every record handed in so far is written, up to ``timeout`` seconds (the
        database still refusing then: each record given up on is logged)."""
        if self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer}, timeout=timeout)
        if self._writer is not None and not self._writer.done():
            for (row, ids, _, _), _ in self._writing + self._waiting:
                log.error(
                    "delivery %s: message %d is with Telegram, not recorded: sent again after a restart",
                    row,
                    len(ids) - 1,
                )

    async def _write(self) -> None:
        while self._waiting:
            await asyncio.sleep(GATHER)
            batch, self._waiting = self._waiting, []
            self._writing = batch
            try:
                # in a thread: the loop goes on sending to other chats while the database writes
                await asyncio.to_thread(
                    self.outbox.sent_many, [record for record, _ in batch], now=self.clock()
                )
            except StoreUnavailable as err:
                self._waiting, self._writing = batch + self._waiting, []
                await asyncio.sleep(self.writes.failed(kind_of(err)))
                continue
            except Exception as err:  # not the database refusing: each sender fails its row
                for _, done in batch:
                    if not done.done():
                        done.set_exception(err)
                continue
            self.writes.succeeded()
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
