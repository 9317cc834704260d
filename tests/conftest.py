"""Shared fixtures: the real Treasury files in ../shared/data/tic, by path (never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_TIC = Path(os.environ.get("TIC_ALERT_SHARED_DATA", ROOT.parent / "shared" / "data" / "tic"))
SNAPSHOT = SHARED_TIC / "2026-07-01"
MARCH_EDITION = SHARED_TIC / "2026-03-18"
SKIP_REASON = f"real Treasury files not found at {SNAPSHOT} (../shared is absent in a user's clone)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    """Without the real files, ~100 tests skip for the same reason: `-ra` folds them into one
    line with their count (they all skip here, in tic_dir); other skips are listed as usual."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple) and SKIP_REASON in str(report.longrepr[2]):
        report.longrepr = (__file__, _SKIP_LINE, report.longrepr[2])


@pytest.fixture(scope="session")
def tic_dir() -> Path:
    """The folder of real Treasury files (snapshot after the June 18, 2026 release)."""
    if not (SNAPSHOT / "slt_table5.txt").is_file():
        pytest.skip(SKIP_REASON)
    return SNAPSHOT


_SKIP_LINE = next(  # the line of the skip above
    n
    for n, line in enumerate(Path(__file__).read_text().splitlines(), start=1)
    if "skip(SKIP_REASON)" in line
)


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
