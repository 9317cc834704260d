"""One leading process per SQLite file (issue 27): an OS lock on ``<db>.lock`` beside it.

A SQLite file has no server to hold PostgreSQL's advisory lock, so :class:`~bot.store.leader.Leadership`
takes this one instead: ``fcntl.flock`` (exclusive, non-blocking) on ``<db>.lock``, held for the
life of the process. The kernel releases it when the process ends, however it ends (a crash, a
``kill -9``): no stale lock to clean up. The holder writes who it is (``host:pid since …``) into the
file, so a second `run` or `serve` on the same file names the first while it stands by.

`poll` takes no lock: a `poll` process beside a `serve` process on one file is the documented
split, and of two pollers only one hands a release over (``Store.claim_handover``).
"""

from __future__ import annotations

import fcntl
import logging
from pathlib import Path
from typing import TextIO

log = logging.getLogger("tic_alert.leader")


def lock_path(db_file: Path) -> Path:
    return db_file.with_name(f"{db_file.name}.lock")


class FileLock:
    """``acquire(who)`` once or until True; ``holder()`` says who has it; ``release()``."""

    def __init__(self, path: Path):
        self.path = path
        self._file: TextIO | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self, who: str) -> bool:
        """True when this process holds the lock (now or already); False while another does.
        A folder where no lock file can be made (a read-only mount) cannot hold two writers
        either: then it is True, with one warning."""
        if self._file is not None:
            return True
        try:
            file = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the process's life)
        except OSError as err:
            log.warning(
                "%s: no lock file (%s): this process does not guard against a second one", self.path, err
            )
            return True
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process holds it
            file.close()
            return False
        file.seek(0)
        file.truncate()
        file.write(who + "\n")
        file.flush()
        self._file = file
        return True

    def holder(self) -> str:
        """Who holds the lock, as it wrote it ("host:pid since …"), or why that is unknown."""
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError as err:
            return f"unknown ({err.strerror})"
        return text or "unknown (it is starting)"

    def release(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.seek(0)
            file.truncate()  # (the next holder writes its own name; a reader meanwhile: "unknown")
            file.close()  # closing the descriptor ends the flock
