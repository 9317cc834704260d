"""One leader among the `tic-alert run` processes that share a PostgreSQL database (issue 19).

Each process opens a session of its own (:meth:`Database.session`: a connection outside the pool)
and tries for one session-level advisory lock on it (``pg_try_advisory_lock``); the holder leads
(the poller, Telegram's ``getUpdates``, the sender) for as long as that session lives. It ends when
the process exits or is killed (the server sees the socket close at once), when the session goes
silent (the server ends it :data:`~bot.store.dialect.LOCK_SESSION_IDLE` = 8 s after its last
statement, or its TCP keepalives fail: :data:`~bot.store.dialect.LOCK_SESSION`), or when someone
ends it on the server (``pg_terminate_backend``); a standby trying every second then takes the lock.

A leader cut off from the server cannot learn any of this: its checks go unanswered. So it trusts
its lock for :data:`TRUST` = 6 s after sending its last check that was answered, and no longer:
past that, :meth:`Leadership.holds` is False (no message starts) and :meth:`Leadership.lapsed`
says why (the runtime steps down). The server was active on the session after that check was
sent, so it frees the lock 8 s after it at the earliest: the old leader's last message starts
at least 2 s before a standby can lead (``LOCK_SESSION_IDLE - TRUST``, for a send in flight).

Taking the lock, the new leader adds one to the epoch in the ``leadership`` row. The sender's
writes carry the epoch their process led with and check it in the same statement (:data:`FENCE`),
so an older leader that has not noticed yet (paused, cut off) changes nothing once a newer one
took over: its next claim of a row fails with :class:`~bot.errors.Fenced`, and it stops.
:meth:`Leadership.lost` is the leader's own check, once a second, of its session and its epoch.

A lock session that ends with an error (the server restarted, or ended it: ``pg_ctl restart``,
a failover of the server, ``pg_terminate_backend``) is not yet a lost leadership (issue 25): the
lock went with the session, so from then on :meth:`Leadership.holds` is False (no message
starts). Where a standby waits (sessions named ``tic-alert standby``: :meth:`Leadership.standbys`)
the leader steps down at once, as before, and the standby takes over. Where none does,
:meth:`Leadership.regain` tries, on a new session, for the lock again: the leader leads on when it
gets the lock and the epoch is still its own (nobody led in between), and steps down when another
process holds the lock or led meanwhile (a newer epoch). A standby not seen (its own session cut
by the same restart) tries once a second, and the leader's first try waits :data:`REGAIN_AFTER` =
2 s, so such a standby usually leads first. The tries go on for :data:`REGAIN` = 60 s (and a last
try's connect timeout, 10 s), then the leader steps down (its service manager starts it again):
trying longer would be safe, since nothing it writes counts once another process leads (the
epoch fence) and no message starts meanwhile, but a server gone for a minute is an outage the
operators should hear of.

On SQLite the lock is an OS lock on the file ``<db>.lock`` beside the database
(:mod:`bot.store.filelock`), held until the process ends, with no epoch (the sender's writes are
not fenced): a second `run` or `serve` on the same file stands by, naming the first, and leads
once the first has ended. A database without a file (":memory:") is led at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import ExitStack
from pathlib import Path

from bot.errors import Fenced, StoreError
from bot.store.database import Database
from bot.store.db import iso
from bot.store.dialect import LOCK_SESSION_IDLE, holder
from bot.store.filelock import FileLock, lock_path

log = logging.getLogger("tic_alert.leader")

# appended to a sender's UPDATE … WHERE …: the row changes only while its epoch is the newest
FENCE = " AND (SELECT epoch FROM leadership) = ?"
# seconds a leader trusts its lock after sending its last answered check (see the module's doc)
TRUST = LOCK_SESSION_IDLE - 2.0
# after its lock session ended: seconds before the first try for the lock again (a standby, trying
# once a second, goes first), and how long the tries go on before the leader steps down
REGAIN_AFTER = 2.0
REGAIN = 60.0


def check_epoch(db: Database, epoch: int) -> None:
    """Raise :class:`Fenced` when another process has led since ``epoch``."""
    newest, who = db.execute("SELECT epoch, holder FROM leadership").fetchone()
    if newest != epoch:
        raise Fenced(f"{db.where}: {who} leads since epoch {newest}; this process led epoch {epoch}")


class Leadership:
    """This process's bid for the leadership: :meth:`try_lead` until True, then :meth:`lost`."""

    def __init__(self, db: Database, who: str | None = None):
        self.db, self.who = db, who or holder()
        self.shared = db.dialect.name != "sqlite"  # several processes may compete
        self.epoch: int | None = None  # while leading a shared database
        file: Path | None = getattr(db, "file", None)
        self.file_lock = FileLock(lock_path(file)) if file is not None and not self.shared else None
        self.leading = self._unguarded()
        self._session: Database | None = None
        self._stack = ExitStack()
        self.confirmed = 0.0  # (monotonic) when the last check that was answered was sent
        self.dropped: float | None = None  # (monotonic) when its lock session ended, until regained

    def try_lead(self, now: dt.datetime | None = None) -> bool:
        """Lead from now on if the lock is free (one try; True at once on SQLite). A StoreError
        (the server cannot be reached, the session ended) says why not, this time."""
        if self.leading:
            return True
        if self.file_lock is not None:  # SQLite
            stamp = iso(now or dt.datetime.now(dt.UTC))
            self.leading = self.file_lock.acquire(f"{self.who} since {stamp}")
            return self.leading
        try:
            if self._session is None:
                self._session = self._stack.enter_context(self.db.session())
            asked = time.monotonic()
            if not self.db.dialect.try_lead(self._session):
                return False
            stamp = iso(now or dt.datetime.now(dt.UTC))
            (self.epoch, before) = self._session.execute(
                "WITH old AS (SELECT holder FROM leadership) UPDATE leadership"
                " SET epoch = epoch + 1, holder = ?, since = ? RETURNING epoch, (SELECT holder FROM old)",
                (self.who, stamp),
            ).fetchone()
            if before and before not in (self.who, holder()):
                ended = self.db.dialect.end_sessions(self._session, before)
                if ended:
                    log.warning("ended %d database sessions of the previous leader %s", ended, before)
        except StoreError:
            self.close()  # the next try opens a new session (the server may have restarted)
            raise
        self.leading, self.confirmed, self.dropped = True, asked, None
        return True

    def leader(self) -> str:
        """Who leads, as the ``leadership`` row (or the SQLite file's lock) says (for a standby's
        log line and /readyz)."""
        if self.file_lock is not None:
            return self.file_lock.holder()
        try:
            epoch, who, since = self.db.execute("SELECT epoch, holder, since FROM leadership").fetchone()
        except StoreError as err:
            return f"unknown ({err})"
        return f"{who} since {since}, epoch {epoch}" if epoch else "nobody yet"

    def lost(self, wait: float = 0.0) -> str | None:
        """While leading: None, or why this process leads no more (its session ended, or another
        process holds a newer epoch), asked on the lock's own session after up to ``wait``
        seconds (less when the server hangs up: ended sessions are noticed at once)."""
        session = self._session  # (close() may end it meanwhile: then this says it ended)
        if self.epoch is None or session is None:
            return None
        session.idle(wait)
        asked = time.monotonic()
        try:
            check_epoch(session, self.epoch)  # (a dead network: no answer for a long time)
        except Fenced as err:
            return str(err)
        except StoreError as err:
            if self.dropped is None:
                self.dropped = time.monotonic()  # holds() is False from now on: see regain()
            return f"its database session ended ({err})"
        self.confirmed = max(self.confirmed, asked)
        return None

    @property
    def regaining(self) -> bool:
        """Its lock session ended (:meth:`lost` said so); :meth:`regain` has not got it back."""
        return self.dropped is not None

    def regain(self) -> str | None:
        """One try, once its lock session ended, for the lock on a new session: None when it leads
        again (the lock is its own, and the epoch in the ``leadership`` row is still its own); else
        why it leads no more (another process holds the lock, or led since: then this session
        ends, freeing the lock for the newer leader). A StoreError: the server cannot be reached
        yet (the next try opens a new session)."""
        assert self.epoch is not None, "regain() is for a leader of a shared database"
        if self.dropped is None:
            return None
        try:
            self._end_session()  # the one that ended
            self._session = self._stack.enter_context(self.db.session())
            asked = time.monotonic()
            if not self.db.dialect.try_lead(self._session):
                self._end_session()
                return f"another process holds the lock ({self.leader()})"
            check_epoch(self._session, self.epoch)
        except Fenced as err:
            self._end_session()
            return str(err)
        except StoreError:
            self._end_session()
            raise
        self.dropped, self.confirmed = None, asked
        return None

    def standbys(self) -> int:
        """How many other processes stand by for the lock now (on the pool: the lock session may
        be the one that ended); 0 when the server cannot say."""
        try:
            return self.db.dialect.standbys(self.db)
        except StoreError:
            return 0

    def _end_session(self) -> None:
        self._stack.close()
        self._session = None

    def lapsed(self) -> str | None:
        """While leading: None, or that no check was answered for :data:`TRUST` seconds (no I/O)."""
        if self.epoch is None or self.dropped is not None or time.monotonic() - self.confirmed < TRUST:
            return None  # (a session that ended is not in doubt: regain() tries for it again)
        return f"its lock was not confirmed for {TRUST:g} s (the database does not answer)"

    def holds(self) -> bool:
        """Cheap enough before each message: True unless the lock's trust has lapsed or the server
        has hung up on its session (one system call; the session is asked only when the server
        said something)."""
        session = self._session
        if self.dropped is not None or self.lapsed() is not None:
            return False
        if self.epoch is None or session is None or not session.spoke():
            return True
        return self.lost() is None

    def close(self) -> None:
        """End the session (and the lock with it); on SQLite, free the file's lock."""
        self._end_session()
        if self.file_lock is not None:
            self.file_lock.release()
        self.leading = self._unguarded()

    def _unguarded(self) -> bool:
        """Nothing to compete for: a database without a file (":memory:")."""
        return not self.shared and self.file_lock is None
