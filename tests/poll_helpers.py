"""Helpers for the poller tests and the bench: a simulated clock, vintage sets, a poller factory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from vintages import (
    mfhhis_restamped,
    table3_without_newest,
    table5_without_newest,
)

from bot.data.fetch import make_session
from bot.store.state import Store
from bot.watch.calendar import load_calendar
from bot.watch.files import PolledFiles
from bot.watch.loop import http_fetcher
from bot.watch.outcomes import Handover, OperatorEvent, Outlets, PublishedRelease
from bot.watch.poller import Poller
from bot.watch.settings import PollerSettings

ET = ZoneInfo("America/New_York")
T5, T3, MFH, MFH_CSV = "slt_table5.txt", "slt_table3.txt", "mfhhis01.txt", "mfhhis01.csv"
T1 = "slt_table1.txt"
# The companions the tests' editions hold (see editions): slt_table1.txt joined the release's files
# later; its own tests pass ``companions=COMPANIONS`` and an edition with it (editions(…, table1=True)).
EDITION_COMPANIONS = (T3, MFH, MFH_CSV)


class SimClock:
    """A clock that only moves when told to; ``epoch()`` drives the fake server's editions."""

    def __init__(self, start: dt.datetime):
        self.now = start.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def epoch(self) -> float:
        return self.now.timestamp()

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def et(*args: int) -> dt.datetime:
    """A moment in U.S. Eastern time."""
    return dt.datetime(*args, tzinfo=ET)


def editions(
    read: Callable[[str], bytes], march_mfh: bytes, table1: bool = False
) -> dict[str, dict[str, bytes]]:
    """Three consecutive releases derived from the real files: data through Feb, Mar and Apr 2026
    (``table1``: with slt_table1.txt)."""
    t5, t3, mfh = read(T5), read(T3), read(MFH)
    eds = {
        "2026-02": {
            T5: table5_without_newest(t5, 2),
            T3: table3_without_newest(t3, 2),
            MFH: mfhhis_restamped(march_mfh, 2, 18, 2026),
        },
        "2026-03": {T5: table5_without_newest(t5), T3: table3_without_newest(t3), MFH: march_mfh},
        "2026-04": {T5: t5, T3: t3, MFH: mfh},
    }
    if table1:  # Table 1 has Table 3's long layout: the same cut drops its newest months
        t1 = read(T1)
        for months, month in ((2, "2026-02"), (1, "2026-03")):
            eds[month][T1] = table3_without_newest(t1, months)
        eds["2026-04"][T1] = t1
    for files in eds.values():  # the comma-delimited twin: the real one is the .txt, tabs → commas
        files[MFH_CSV] = files[MFH].replace(b"\t", b",")
    return eds


@dataclass
class Recorder:
    """Collects hand-overs and operator events."""

    releases: list[PublishedRelease] = field(default_factory=list)
    events: list[OperatorEvent] = field(default_factory=list)

    def prepare(self, release: PublishedRelease, panel: Any) -> None:
        self.releases.append(release)

    def operator(self, event: OperatorEvent) -> None:
        self.events.append(event)


TEST_SETTINGS = PollerSettings(failures_before_event=3, retries=0, retry_backoff_factor=0.0)


def make_poller(
    store: Store,
    url: str,
    clock: Callable[[], dt.datetime],
    timeout: float = 2.0,
    conditional: bool = True,
    build_panel: Callable[[dict[str, bytes]], Any] | None = None,
    handover: Handover | None = None,
    companions: tuple[str, ...] = EDITION_COMPANIONS,
    **overrides: Any,
) -> tuple[Poller, Recorder]:
    settings = replace(TEST_SETTINGS, **overrides)
    session = make_session("tic-alert-tests/1.0", settings.retries, settings.retry_backoff_factor)
    rec = Recorder()
    poller = Poller(
        store,
        http_fetcher(session, timeout, 20_000_000, conditional=conditional),
        PolledFiles(url, companions, reference=()),
        settings,
        load_calendar(),
        build_panel=build_panel or (lambda files: sorted(files)),  # type: ignore[arg-type,return-value]
        clock=clock,
        outlets=Outlets(handover or rec, rec.operator),
    )
    return poller, rec
