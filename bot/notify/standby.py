"""Standing by, then leading: how the running bot uses :class:`~bot.store.leader.Leadership`.

Before the poller, ``getUpdates`` and the sender start, :meth:`Standby.wait` tries for the
leadership once a second. While another process leads this one says so once in the log and in
/healthz (200 "standby: …": waiting is what a standby is for, so it is healthy) and /readyz (503:
it does not serve). Once leading, :meth:`Standby.watch` checks in a thread of its own, every
second and at once when the server ends the lock's session, that the session lives and no newer
epoch exists, and in another that a check was answered lately (a cut-off network leaves the
check hanging: past :data:`~bot.store.leader.TRUST` the lock is in doubt); if not, ``step_down``
is called (the runtime stops sending and exits, and its service manager starts it again as a
standby). A lock session that ended with an error (a server restart) with no standby waiting
is tried for again first (:meth:`~bot.store.leader.Leadership.regain`, for up to
:data:`~bot.store.leader.REGAIN` s, one warning line as it starts, one when it is back):
``resume`` is called when this process leads on, ``step_down`` when another does, or the server
stays away. On SQLite the lock is the file's OS lock (:mod:`bot.store.filelock`): the wait ends
at once unless another process holds it, and nothing is watched (the kernel keeps it until exit).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable

from bot.errors import StoreError
from bot.notify.heartbeat import LOOP as BOT_LOOP
from bot.store.leader import REGAIN, REGAIN_AFTER, Leadership
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.leader")
EVERY = 1.0  # seconds between a standby's tries, and between a leader's checks


class Standby:
    """Wait for the leadership (:meth:`wait`), then watch it (:meth:`watch`)."""

    def __init__(self, leadership: Leadership, telemetry: Telemetry | None = None, every: float = EVERY):
        self.leadership, self.telemetry, self.every = leadership, telemetry, every

    async def wait(self) -> None:
        """Until this process leads (at once on SQLite); cancel it to stop waiting."""
        started, told = time.monotonic(), False
        if self.telemetry is not None and not self.leadership.leading:
            self.telemetry.standby = "trying for the leadership"  # not "ok" before it knows
        while True:
            if self.telemetry is not None:
                self.telemetry.beat(BOT_LOOP)  # the standby's loop ticks
            try:
                if await asyncio.to_thread(self.leadership.try_lead):
                    break
                why = f"waiting for leadership (leader: {await asyncio.to_thread(self.leadership.leader)})"
            except StoreError as err:
                why = f"waiting for the database ({err})"
            if self.telemetry is not None:
                self.telemetry.standby = why
            if not told:
                log.warning("standby: %s", why)
                told = True
            await asyncio.sleep(self.every)
        if self.telemetry is not None:
            self.telemetry.standby = None
            self.telemetry.leader.set(1)
        if self.leadership.shared or told:
            waited = f" after {time.monotonic() - started:.1f} s as a standby" if told else ""
            epoch = f"epoch {self.leadership.epoch}, " if self.leadership.epoch is not None else ""
            log.warning("leading: %s%s%s", epoch, self.leadership.who, waited)

    def watch(
        self, step_down: Callable[[str], None], resume: Callable[[], None] = lambda: None
    ) -> Callable[[], None]:
        """Check the leadership every second in a thread, and its trust (``lapsed``: a check that
        hangs on a dead network) in another; ``step_down(why)`` once, when either says it is lost;
        ``resume()`` when its lock session ended and it got the lock back on a new one (the epoch
        still its own). Returns what stops the checks."""
        if not self.leadership.shared:
            return lambda: None
        watch = Watch(self, step_down, resume)
        for target in (watch.check, watch.trust):
            threading.Thread(target=target, name=f"leadership {target.__name__}", daemon=True).start()
        return watch.stop.set


class Watch:
    """The two threads of :meth:`Standby.watch`, and what they share."""

    def __init__(self, standby: Standby, step_down: Callable[[str], None], resume: Callable[[], None]):
        self.leadership, self.telemetry, self.every = standby.leadership, standby.telemetry, standby.every
        self.step_down, self.resume = step_down, resume
        self.stop, self.once = threading.Event(), threading.Lock()

    def leading(self, value: bool) -> None:
        if self.telemetry is not None:
            self.telemetry.leader.set(int(value))

    def down(self, why: str) -> None:
        if not self.stop.is_set() and self.once.acquire(blocking=False):
            self.leading(False)
            self.step_down(why)

    def check(self) -> None:
        while not self.stop.is_set():
            why = self.leadership.lost(wait=self.every)
            if self.stop.is_set():
                return  # the process stops (its lock session is being closed): nothing to say
            if why is not None and self.leadership.regaining:
                why = self.regain(why)
            if why is not None:
                return self.down(why)

    def regain(self, why: str) -> str | None:
        """Unless a standby waits (it takes over, as when this process exits): try for the lock
        again until it is back (None), another process leads, or REGAIN s pass."""
        waiting = self.leadership.standbys()
        if waiting:
            return f"{why}; {waiting} standby process{'es' if waiting > 1 else ''} waiting to take over"
        log.warning(
            "leader: %s; no message starts until it has the lock again (reconnecting for up to %g s)",
            why,
            REGAIN,
        )
        self.leading(False)
        started, delay, backoff = time.monotonic(), REGAIN_AFTER, 0.5  # then 0.5, 1, 2, 4, 4 … s
        while not self.stop.wait(delay):
            try:
                refused = self.leadership.regain()
            except StoreError as err:
                if time.monotonic() - started >= REGAIN:
                    return f"its database session ended and no new one came in {REGAIN:g} s ({err})"
                delay, backoff = backoff, min(backoff * 2, 4.0)
                continue
            if refused is not None:
                return refused
            log.warning(
                "leader: database session back after %.1f s; leading on (epoch %s, nobody led meanwhile)",
                time.monotonic() - started,
                self.leadership.epoch,
            )
            self.leading(True)
            self.resume()
            return None
        return None  # stopped meanwhile

    def trust(self) -> None:
        while not self.stop.wait(self.every / 4):
            why = self.leadership.lapsed()
            if why is not None:
                return self.down(why)


def exit_within(seconds: float, code: int = 2) -> None:
    """A process that stepped down ends within ``seconds`` whatever hangs: a statement to a
    database it can no longer reach waits in a thread that would keep it alive for good (its
    service manager starts it again, as a standby)."""

    def end() -> None:
        log.error("stepped down %g s ago and still running (the database does not answer): exiting", seconds)
        logging.shutdown()
        os._exit(code)

    timer = threading.Timer(seconds, end)
    timer.daemon = True
    timer.start()
