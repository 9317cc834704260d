"""Issue 26: a database password is masked in every form wherever a URL is shown (one function,
bot.masking.mask): ``?password=``, ``&password=``, ``user:pw@``, and PGPASSWORD never printed."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from bot.cli import main
from bot.masking import mask
from bot.notify.redact import redact_in_logs
from bot.store.db import describe

PG = "postgresql://tic@127.0.0.1:9/tic"  # nothing listens on port 9: every open fails at once


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (PG + "?password=hunter2", PG + "?password=****"),
        (
            PG + "?sslmode=disable&password=hunter2&application_name=x",
            PG + "?sslmode=disable&password=****&application_name=x",
        ),
        ("postgresql://tic:hunter2@db:5432/tic", "postgresql://tic:****@db:5432/tic"),
        ("postgresql://tic:hun/ter@2@db/tic?x=1", "postgresql://tic:****@db/tic?x=1"),  # up to the last @
        (PG + "?pass%77ord=hunter2", PG + "?pass%77ord=****"),  # libpq decodes the key too
        (PG + "?sslpassword=hunter2", PG + "?sslpassword=****"),
        ("host=db password='a b c' user=tic", "host=db password=**** user=tic"),
        (
            f"{PG}?password=hunter2: cannot open the state database",
            f"{PG}?password=****: cannot open the state database",
        ),
        ("https://user:hunter2@proxy.example/", "https://user:****@proxy.example/"),
        (PG, PG),  # nothing to mask
        ("/var/lib/tic-alert/tic-alert.db", "/var/lib/tic-alert/tic-alert.db"),
        ("http://x.example/a?b=1&c=2", "http://x.example/a?b=1&c=2"),
    ],
)
def test_every_form_of_a_password_is_masked(text: str, masked: str):
    assert mask(text, env={}) == masked
    if " " not in text:  # a URL, not a message
        assert describe(text) == masked  # what every message and config check show of a database


def test_secrets_in_the_environment_and_remembered_ones_are_masked_wherever_they_appear():
    env = {"PGPASSWORD": "s3cret-pg", "TIC_ALERT_BOT_TOKEN": "123:ABCDEF"}
    assert mask("libpq: s3cret-pg; ptb: /bot123:ABCDEF/getMe", env) == "libpq: ****; ptb: /bot****/getMe"
    describe("postgresql://tic:p%40ss%20word@db/tic")  # the configured URL: its password remembered
    assert mask("a driver quoted p@ss word and p%40ss%20word", env={}) == "a driver quoted **** and ****"


def masked_everywhere(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    return err


@pytest.mark.parametrize(
    "url",
    [
        PG + "?password=hunter2",
        PG + "?sslmode=disable&password=hunter2",
        "postgresql://tic:hunter2@127.0.0.1:9/tic",
    ],
)
def test_config_check_and_outbox_never_print_the_password(monkeypatch, capsys, url: str):
    monkeypatch.setenv("TIC_ALERT_DB", url)
    monkeypatch.delenv("TIC_ALERT_CONFIG", raising=False)
    err = masked_everywhere(capsys, ["config", "check"])
    assert err.startswith("tic-alert: config error: [store] db_path (TIC_ALERT_DB) = ") and "****" in err
    err = masked_everywhere(capsys, ["outbox"])
    assert err.startswith("tic-alert: error: ") and "****" in err


def test_pgpassword_is_never_printed(monkeypatch, capsys):
    monkeypatch.setenv("TIC_ALERT_DB", PG)
    monkeypatch.setenv("PGPASSWORD", "hunter2")
    monkeypatch.delenv("TIC_ALERT_CONFIG", raising=False)
    masked_everywhere(capsys, ["config", "check"])
    masked_everywhere(capsys, ["outbox"])
    redact_in_logs()
    record = logging.getLogRecordFactory()("x", logging.ERROR, __file__, 1, "quoted %s", ("hunter2",), None)
    assert record.getMessage() == "quoted ****"


def test_run_never_prints_the_password():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIC_ALERT_", "PG"))}
    env.update(TIC_ALERT_DB=PG + "?password=hunter2", TIC_ALERT_BOT_TOKEN="1:x", PGPASSWORD="hunter3")
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=120
    )
    print(proc.stderr.strip())
    assert proc.returncode == 2
    assert "hunter" not in proc.stdout + proc.stderr
    assert "?password=****: cannot open the state database" in proc.stderr
