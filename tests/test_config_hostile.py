"""Issue 26: the settings as a hostile operator writes them. Each is refused by `tic-alert config
check` in one line naming the key (or the file), exit 2, at once: none is accepted, hangs, reads
without end or ends in an internal error. Every section words its refusal the same way."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from bot.cli import main

ROOT = "tic-alert: config error: "
IDS = ", ".join(str(i) for i in range(1, 1002))
CASES = [
    # (name, the --config file's text, environment, rc, first line); {names} are the paths below
    (
        "a sane file",
        "[poller]\nretries = 3\n",
        {},
        0,
        "config: packaged defaults + {config} + environment: OK",
    ),
    (
        "arrays nested 20,000 deep",
        "[source]\nx = " + "[" * 20_000 + "]" * 20_000 + "\n",
        {},
        2,
        ROOT + "config file {config}: line 2: nested more than 10 levels deep",
    ),
    (
        "a dotted key of 10,000 parts",
        "[telegram]\nx" + ".a" * 10_000 + " = 1\n",
        {},
        2,
        ROOT + "config file {config}: line 2: nested more than 10 levels deep",
    ),
    (
        "/dev/zero as the calendar file",
        '[poller]\ncalendar_file = "/dev/zero"\n',
        {},
        2,
        ROOT + '[poller] calendar_file = "/dev/zero": not a regular file (a device)',
    ),
    (
        "/dev/urandom as the rules file",
        '[rules]\nfile = "/dev/urandom"\n',
        {},
        2,
        ROOT + '[rules] file = "/dev/urandom": not a regular file (a device)',
    ),
    (
        "a FIFO as the calendar file",
        '[poller]\ncalendar_file = "{fifo}"\n',
        {},
        2,
        ROOT + '[poller] calendar_file = "{fifo}": not a regular file (a FIFO)',
    ),
    (
        "a rules file of more than 1 MB",
        '[rules]\nfile = "{big}"\n',
        {},
        2,
        ROOT + '[rules] file = "{big}": larger than 1,000,000 bytes (a configuration file is a few kB)',
    ),
    (
        "a number of 5,000 digits",
        "[poller]\nretries = 1" + "0" * 5_000 + "\n",
        {},
        2,
        ROOT + "config file {config}: not valid TOML (a number of more than 4,300 digits)",
    ),
    (
        "poll_timeout_seconds = 0",
        "[telegram]\npoll_timeout_seconds = 0\n",
        {},
        2,
        ROOT + "[telegram] poll_timeout_seconds = 0: must be ≥ 1",
    ),
    (
        "max_backoff_seconds = 0",
        "[poller]\nmax_backoff_seconds = 0\n",
        {},
        2,
        ROOT + "[poller] max_backoff_seconds = 0: must be ≥ 1",
    ),
    ("retries = 0", "[poller]\nretries = 0\n", {}, 2, ROOT + "[poller] retries = 0: must be ≥ 1"),
    (
        "retry_backoff_factor = 0",
        "[poller]\nretry_backoff_factor = 0\n",
        {},
        2,
        ROOT + "[poller] retry_backoff_factor = 0: must be ≥ 0.1",
    ),
    (
        "1,001 admins",
        f"[telegram]\nadmins = [{IDS}]\n",
        {},
        2,
        ROOT + "[telegram] admins = [1, 2, 3, 4, … (1,001 items)]: more than 1,000 items",
    ),
    (
        "1,001 admins in TIC_ALERT_ADMINS",
        "",
        {"TIC_ALERT_ADMINS": IDS},
        2,
        ROOT + '[telegram] admins (TIC_ALERT_ADMINS) = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 1…":'
        " more than 1,000 items",
    ),
    (
        "an admin id past Telegram's 52 bits",
        "[telegram]\nadmins = [42, 100000000000000000000]\n",
        {},
        2,
        ROOT + "[telegram] admins = [42, 100000000000000000000]: an item: must be ≤ 9,007,199,254,740,992",
    ),
    (
        "a database that is not a SQLite file",
        "",
        {"TIC_ALERT_DB": "{notadb}"},
        2,
        ROOT + '[store] db_path (TIC_ALERT_DB) = "{notadb}": cannot read the state database'
        " (file is not a database)",
    ),
    (
        "a database under a file",
        '[store]\ndb_path = "{notadb}/tic.db"\n',
        {"TIC_ALERT_DB": ""},  # the file's db_path, not the environment's
        2,
        ROOT + '[store] db_path = "{notadb}/tic.db": cannot be made: {notadb} is not a folder',
    ),
    (
        "a PostgreSQL database that cannot be reached",
        "",
        {"TIC_ALERT_DB": "postgresql://tic@127.0.0.1:9/tic?connect_timeout=2"},  # nothing listens on 9
        2,
        ROOT + '[store] db_path (TIC_ALERT_DB) = "postgresql://tic@127.0.0.1:9/tic?connect_timeout=2":'
        " cannot open the state database (connection failed:",
    ),
]


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in list(os.environ):
        if name.startswith(("TIC_ALERT_", "PG")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TIC_ALERT_DB", str(tmp_path / "state" / "tic.db"))  # not there yet: fine
    fifo = tmp_path / "calendar.fifo"
    os.mkfifo(fifo)  # no writer: opening it for reading the ordinary way would block
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 100_001)
    notadb = tmp_path / "notadb.db"
    notadb.write_text("not a database\n" * 100)
    return {"config": str(tmp_path / "c.toml"), "fifo": str(fifo), "big": str(big), "notadb": str(notadb)}


@pytest.mark.parametrize(("name", "text", "env", "rc", "first"), CASES, ids=[c[0] for c in CASES])
def test_config_check_refuses_each_hostile_setting_in_one_line(
    paths, monkeypatch, capsys, name: str, text: str, env: dict[str, str], rc: int, first: str
):
    Path(paths["config"]).write_text(text.format(**paths))
    for var, value in env.items():
        monkeypatch.setenv(var, value.format(**paths))
    start = time.monotonic()
    assert main(["config", "check", "--config", paths["config"]]) == rc
    seconds = time.monotonic() - start
    out, err = capsys.readouterr()
    line = (err or out).splitlines()[0]
    print(f"{name}: rc {rc}, {seconds:.2f} s: {line}")
    assert line.startswith(first.format(**paths))
    assert seconds < 10
    if rc:
        assert err.count("\n") == 1 and not out  # one line, nothing else


def test_dev_zero_is_refused_at_once(paths, capsys):
    """/dev/zero never ends: it is refused for what it is (a device), before a byte is read."""
    Path(paths["config"]).write_text('[poller]\ncalendar_file = "/dev/zero"\n')
    start = time.monotonic()
    assert main(["config", "check", "--config", paths["config"]]) == 2
    assert time.monotonic() - start < 2
    assert "not a regular file (a device)" in capsys.readouterr().err


LINE = re.compile(r"^tic-alert: config error: \[(\w+)\] \w+( \(TIC_ALERT_\w+\))? = \S.*: \w.+$")


@pytest.mark.parametrize(
    ("text", "env", "section"),
    [
        ("[source]\ntimeout_seconds = 0\n", {}, "source"),
        ("[store]\nkeep_releases = -1\n", {}, "store"),
        ("[http]\nstall_seconds = true\n", {}, "http"),
        ("", {"TIC_ALERT_HTTP": "nowhere"}, "http"),
        ("[rules]\nfile = 5\n", {}, "rules"),
        ("[poller]\nin_window_seconds = nan\n", {}, "poller"),
        ('[poller]\nwindow_start = "4pm"\n', {}, "poller"),
        ("[telegram]\nheavy_workers = 1.5\n", {}, "telegram"),
        ("", {"TIC_ALERT_TELEGRAM_API_URL": "ftp://x"}, "telegram"),
        ('[groups]\n"Asia" = ["Japan", "Atlantis"]\n', {}, "groups"),
        ('[poller]\ncalendar_file = "{calendar}"\n', {}, "calendar"),
    ],
)
def test_every_section_refuses_in_the_same_words(
    tmp_path: Path, monkeypatch, capsys, text: str, env: dict[str, str], section: str
):
    calendar = tmp_path / "cal.toml"
    calendar.write_text(
        'timezone = "America/New_York"\nrelease_time = "16:00"\ndates = []\nfallback_extra_days = 9\n'
    )
    config = tmp_path / "c.toml"
    config.write_text(text.format(calendar=calendar))
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert main(["config", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    print(err.strip())
    first = err.splitlines()[0].removesuffix(f" (in calendar file {calendar})")
    m = LINE.match(first)
    assert m is not None and m[1] == section
