"""A throwaway PostgreSQL server for tests and benches: initdb + pg_ctl on a temporary folder and
a free port on 127.0.0.1, stopped and removed at the end.

The binaries are found on PATH or in /usr/lib/postgresql/*/bin (Debian's layout). PostgreSQL
refuses to run as root: run as root, the server runs as the user ``postgres`` when there is one,
else as ``ticpg`` (a system user without a shell or home, created when missing), through
``runuser``. The server is tuned for tests (no fsync; commits not waited for unless ``durable``), never for
data anyone keeps.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "ticpg"


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for folder in reversed(folders):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> str | None:
    """Who runs the server: None (this user) unless this is root."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("TIC_ALERT_PG_USER"), "postgres", SERVER_USER):
        if not name:
            continue
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            if name == SERVER_USER:
                subprocess.run(
                    ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                    check=True,
                    capture_output=True,
                )
                return name
    return None


class PgServer:
    """``with PgServer() as pg:`` a running server; ``pg.create()`` a new, empty database's URL."""

    def __init__(self, bin_dir: Path | None = None, durable: bool = False):
        """``durable``: a commit is on disk when it returns (synchronous_commit on, as a real
        server has it), so a crash (``restart("immediate")``) loses none; else the last few
        hundred milliseconds of commits may go with it (faster for the tests)."""
        self.durable = durable
        found = bin_dir or binaries()
        if found is None:
            raise FileNotFoundError("PostgreSQL's initdb and pg_ctl are not installed")
        self.bin = found
        self.user = _server_user()
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="tic-pg-"))
        self.data = self.dir / "data"
        self._made = 0

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> PgServer:
        if self.user:
            shutil.chown(self.dir, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = " ".join(
            f"-c {k}={v}"
            for k, v in {
                "listen_addresses": "127.0.0.1",
                "port": self.port,
                "unix_socket_directories": str(self.dir),
                "fsync": "off",
                "synchronous_commit": "on" if self.durable else "off",
                "full_page_writes": "off",
                "max_connections": 300,
                "shared_buffers": "32MB",
            }.items()
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-o", options, "-w", "start"
        )
        return self

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> list[tuple]:
        """Run one statement as the superuser (autocommit); its rows."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            cur = conn.execute(statement)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def create(self, prefix: str = "tic") -> str:
        """A new, empty database: its URL."""
        self._made += 1
        name = f"{prefix}_{os.getpid()}_{self._made}"
        self.sql(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create`, closing whatever still holds it open."""
        self.sql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def read_only(self, url: str, on: bool, spare: str = "") -> None:
        """Make a database read-only (as a standby is) or writable again: its new sessions get the
        default, so the open ones are ended (all but those whose application_name is ``spare``)."""
        name = url.rsplit("/", 1)[1].split("?")[0]
        self.sql(f"ALTER DATABASE {name} SET default_transaction_read_only = {'on' if on else 'off'}")
        but = f" AND application_name <> '{spare}'" if spare else ""
        self.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{name}' AND pid <> pg_backend_pid(){but}"
        )

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m MODE`` (fast: sessions ended with an error, a checkpoint; immediate:
        every process killed, crash recovery at the start), returning once it accepts connections
        again (the options of the first start are kept in postmaster.opts)."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-m", mode, "-w", "restart"
        )

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def bench_databases(choice: str | None, folder: Path) -> Iterator[Callable[[], str]]:
    """A bench's databases (its ``--db``), one new one per call of what this yields: ``sqlite``
    or nothing → a new file in ``folder``; ``postgresql`` → a new database on a throwaway server
    started here (stopped at the end); a ``postgresql://`` URL → that database (it should be
    empty: the bench fills it)."""
    made = iter(range(1, 1_000_000))
    if choice in (None, "sqlite"):
        yield lambda: str(folder / f"bench-{next(made)}.db")
    elif choice == "postgresql":
        with PgServer() as server:
            yield server.create
    else:
        yield lambda: str(choice)
