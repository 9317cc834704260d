"""Issue 11: one set of files per release (RELEASE_FILES), the same for the poller, `check` (live
and --data-dir) and the bot; mfhhis01.csv in it catches a month-column swap in mfhhis01.txt."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from pathlib import Path

import pytest
from poll_helpers import SimClock, et, make_poller
from treasury_server import FakeTreasury

from bot.cli import main
from bot.config import load_settings
from bot.data.fetch import fetch, make_session
from bot.data.load import fetch_all, panel_from_bytes, read_dir
from bot.data.parse import PARSERS
from bot.data.sources import COMPANIONS, HEADLINE, MFH_HISTORY, MFH_HISTORY_CSV, REFERENCE, RELEASE_FILES
from bot.notify.runtime import load_files
from bot.store.state import Store

GROUPS = load_settings(env={}).groups
LEGACY = "mfh.txt"


def test_the_set_is_the_headline_its_companions_and_the_reference_files():
    assert set(RELEASE_FILES) == {HEADLINE, *COMPANIONS, *REFERENCE}
    assert MFH_HISTORY_CSV in COMPANIONS
    assert MFH_HISTORY in COMPANIONS
    assert LEGACY not in RELEASE_FILES
    assert LEGACY in PARSERS


@pytest.mark.slow  # three panels from the real files
def test_poller_check_and_bot_build_their_panels_from_the_same_files(tic_dir: Path, tmp_path, capsys):
    clock = SimClock(et(2026, 6, 18, 16, 5))
    with FakeTreasury(clock=clock.epoch) as fake:
        for name in PARSERS:  # the Treasury also serves the legacy file: no one may read it
            fake.publish(name, (tic_dir / name).read_bytes())

        # live check
        assert main(["check", "--source-url", fake.url, "--json"]) == 0
        checked = json.loads(capsys.readouterr().out)["files"]
        assert not fake.requests_for(LEGACY)

        # the poller: what it hands over, even from a store that also holds the legacy file
        store = Store(tmp_path / "tic.db")
        legacy = (tic_dir / LEGACY).read_bytes()
        now = clock()
        with store.transaction():
            vid = store.add_vintage(LEGACY, legacy, "legacy", "2023-03-15", None, None, now)
            store.set_held(LEGACY, vid, None, None, now)
        panels = []
        poller, rec = make_poller(
            store,
            fake.url,
            clock,
            build_panel=lambda f: panels.append(panel_from_bytes(f, GROUPS)) or panels[-1],
            companions=COMPANIONS,  # every companion of today's releases, slt_table1.txt too
        )
        poller.reference_files = REFERENCE
        poller.poll()
        assert rec.releases
        assert panels
        handed = panels[-1].files

        # the bot: from the poller's store, from a folder, from a fetch on a fresh machine
        def never() -> dict[str, bytes]:
            raise AssertionError("the store holds the release: no fetch")

        held = load_files(store, None, never)
        folder = load_files(store, tic_dir, never)
        get = partial(fetch, make_session("tests"), timeout=10.0, max_bytes=20_000_000)
        fresh = Store(":memory:")
        fetched = load_files(fresh, None, lambda: fetch_all(get, fake.url))
        fresh.close()
        store.close()

    # --data-dir, by default
    assert main(["check", "--data-dir", str(tic_dir), "--json"]) == 0
    from_dir = json.loads(capsys.readouterr().out)["files"]

    assert set(checked) == set(RELEASE_FILES)
    assert checked == handed == from_dir
    for files in (held, folder, fetched):
        assert set(files) == set(RELEASE_FILES)
        assert panel_from_bytes(files, GROUPS).files == checked


def test_check_all_files_reads_every_known_file(tic_dir: Path, capsys):
    assert main(["check", "--data-dir", str(tic_dir), "--all-files", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["files"]) == set(PARSERS)
    assert main(["check", "--all-files"]) == 2
    assert "--all-files reads a folder" in capsys.readouterr().err


def _swap_month_columns(data: bytes, year: str, a: int, b: int) -> bytes:
    """mfhhis01.txt with month columns a and b swapped in every row of ``year``'s block: each
    column's total moves with it, so the file's own identities still hold."""
    lines = data.split(b"\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"Country\t" + year.encode()))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith(b"Country\t"))
    swapped = 0
    for i in range(start + 1, end):
        cells = lines[i].split(b"\t")
        try:
            float(cells[a]), float(cells[b])
        except (IndexError, ValueError):
            continue
        cells[a], cells[b] = cells[b], cells[a]
        lines[i] = b"\t".join(cells)
        swapped += 1
    assert swapped > 10
    return b"\n".join(lines)


def test_a_month_column_swap_in_mfhhis01_txt_is_caught_by_its_twin(tic_dir: Path):
    files = read_dir(tic_dir)
    # before 2020 (Table 3's first month, a newer publication that wins where it differs) only the
    # twin prints these cells in the same release; slt3d_globl.csv is an older publication
    files[MFH_HISTORY] = _swap_month_columns(files[MFH_HISTORY], "2015", 10, 11)  # Mar <-> Feb
    alone = {n: b for n, b in files.items() if n != MFH_HISTORY_CSV}
    assert panel_from_bytes(alone, GROUPS).suspect.empty  # the gap without the twin
    panel = panel_from_bytes(files, GROUPS)
    assert not panel.suspect.empty
    assert {str(p) for p in panel.suspect["period"]} == {"2015-02", "2015-03"}
    assert "Japan" in panel.suspect_entities()


def test_a_store_holding_only_other_files_holds_no_release(tic_dir: Path):
    store = Store(":memory:")
    now = dt.datetime(2026, 6, 18, tzinfo=dt.UTC)
    with store.transaction():
        vid = store.add_vintage(LEGACY, (tic_dir / LEGACY).read_bytes(), "x", "2023-03-15", None, None, now)
        store.set_held(LEGACY, vid, None, None, now)
    got = load_files(store, None, lambda: {"fetched": b""})
    assert got == {"fetched": b""}  # only a legacy file held: the release is fetched
    store.close()
