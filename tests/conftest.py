"""Shared fixtures: the real Treasury files in ../shared/data/tic, by path (never copied), and
``db_url``: a fresh database on each backend (a SQLite file, and a PostgreSQL database on a
throwaway server started from the PostgreSQL binaries when they are installed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_TIC = Path(os.environ.get("TIC_ALERT_SHARED_DATA", ROOT.parent / "shared" / "data" / "tic"))
SNAPSHOT = SHARED_TIC / "2026-07-01"
MARCH_EDITION = SHARED_TIC / "2026-03-18"
SKIP_REASON = f"real Treasury files not found at {SNAPSHOT} (../shared is absent in a user's clone)"
PG_SKIP_REASON = (
    "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin):"
    " the tests' PostgreSQL half skips (apt-get install postgresql)"
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Without the real files, ~100 tests skip for the same reason: `-ra` folds them into one
    line with their count (they all skip here, in tic_dir); so do the PostgreSQL halves without
    PostgreSQL (in pg_server). Other skips are listed as usual."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple):
        for reason, line in ((SKIP_REASON, _SKIP_LINE), (PG_SKIP_REASON, _PG_SKIP_LINE)):
            if reason in str(report.longrepr[2]):
                report.longrepr = (__file__, line, report.longrepr[2])


@pytest.fixture(scope="session")
def tic_dir() -> Path:
    """The folder of real Treasury files (snapshot after the June 18, 2026 release)."""
    if not (SNAPSHOT / "slt_table5.txt").is_file():
        pytest.skip(SKIP_REASON)
    return SNAPSHOT


def _line_of(text: str) -> int:
    return next(n for n, line in enumerate(Path(__file__).read_text().splitlines(), start=1) if text in line)


_SKIP_LINE = _line_of("skip(SKIP_REASON)")  # the line of the skip above


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL server for the session (tests/pg_server.py), or a skip."""
    from pg_server import PgServer, binaries

    if binaries() is None:
        pytest.skip(PG_SKIP_REASON)
    with PgServer() as server:
        yield server


_PG_SKIP_LINE = _line_of("skip(PG_SKIP_REASON)")
# The PostgreSQL half is `slow` (a server per session, a database per test): `pytest -m "not slow"`
# runs the SQLite half only; plain `pytest` (CI) runs both.
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.slow))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the PostgreSQL server itself (``pg_server``, directly or through a
    fixture of its own) is in the PostgreSQL half too: marked ``slow`` like db_url's param."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path):
    """A new, empty database: a SQLite file's path, or a PostgreSQL database's URL (dropped after
    the test, with whatever connections are left on it)."""
    if request.param == "sqlite":
        yield str(tmp_path / "tic.db")
        return
    server = request.getfixturevalue("pg_server")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def db(db_url):
    """A connection to ``db_url``'s database (the sender's and outbox's tests), closed after."""
    from bot.store.db import connect

    conn = connect(db_url)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def real_bytes(tic_dir: Path):
    """read(name) → the bytes of a real Treasury file."""
    cache: dict[str, bytes] = {}

    def read(name: str) -> bytes:
        if name not in cache:
            cache[name] = (tic_dir / name).read_bytes()
        return cache[name]

    return read


@pytest.fixture(scope="session")
def real_panel(tic_dir: Path):
    """The panel built from all seven real files (parsed once per test session)."""
    from bot.config import load_settings
    from bot.data.load import panel_from_bytes, read_dir

    return panel_from_bytes(read_dir(tic_dir), load_settings(env={}).groups)


@pytest.fixture(scope="session")
def rules(real_panel):
    """The default rule catalogue for the real panel's groups."""
    from bot.rules.catalogue import load_rules

    return load_rules(real_panel.groups)


@pytest.fixture(scope="session")
def metrics(real_panel):
    from bot.rules.metrics import Metrics

    return Metrics(real_panel)


@pytest.fixture(scope="session")
def history(real_panel, rules, metrics):
    """Every event of the default rules, 2000-01 → newest (the backtest, once per session)."""
    from bot.rules.backtest import backtest

    return backtest(real_panel, rules, metrics=metrics)
