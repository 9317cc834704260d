"""SIGHUP in `run`/`serve`: the rules, groups and calendar read again and swapped in; a bad file is
refused with one log line and what is loaded is kept (bot.notify.reload)."""

from __future__ import annotations

import logging
import os
import signal
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
from waits import wait_until

from bot.config import load_settings
from bot.notify.release.dispatch import Dispatcher
from bot.notify.reload import Reloads
from bot.store.state import Store
from bot.wiring import build_poller, loaded

GOOD = '[[rule]]\nid = "holdings-3m-drop"\nthreshold = 60\n'
BAD = '[[rule]]\nid = "holdings-3m-drop"\nthreshhold = 60\n'


def threshold(rules, rule_id: str = "holdings-3m-drop") -> float:
    return next(r.threshold for r in rules if r.id == rule_id)


@pytest.fixture
def setup(tmp_path: Path):
    rules = tmp_path / "rules.toml"
    rules.write_text(GOOD.replace("60", "50"))  # as shipped
    config = tmp_path / "tic-alert.toml"
    config.write_text(f'[rules]\nfile = "{rules}"\n')
    first = loaded(load_settings(str(config), env={}))
    chatbot = SimpleNamespace(
        view=None, rules=first.rules, by_id={}, groups=first.groups, calendar=first.calendar
    )
    runtime = SimpleNamespace(chatbot=chatbot, rules=first.rules, groups=first.groups, loop=None)
    read = partial(lambda: loaded(load_settings(str(config), env={})))  # as `run` reads it again
    return rules, runtime, Reloads(read, runtime, dict)  # type: ignore[arg-type]


def test_a_good_file_is_adopted_by_the_bot_and_once_by_the_poller(setup, tmp_path):
    rules, runtime, reloads = setup
    shipped = threshold(runtime.chatbot.rules)
    rules.write_text(GOOD)
    fresh = reloads.reload()
    assert fresh is not None and threshold(fresh.rules) == 60 != shipped
    assert (
        threshold(runtime.chatbot.rules) == 60 and runtime.chatbot.by_id["holdings-3m-drop"].threshold == 60
    )
    assert threshold(runtime.rules) == 60

    store = Store(tmp_path / "tic.db")
    try:
        settings = load_settings(env={})
        poller = build_poller(settings, store, settings.rules())
        assert reloads.take() is fresh and reloads.take() is None  # the poller's share, once
        fresh.adopt_in_poller(poller, None)
        assert isinstance(poller.handover, Dispatcher) and threshold(poller.handover.rules) == 60
        assert poller.calendar is fresh.calendar
    finally:
        store.close()


def test_a_bad_file_is_refused_with_one_line_and_the_loaded_rules_kept(setup, caplog):
    rules, runtime, reloads = setup
    before = runtime.chatbot.rules
    rules.write_text(BAD)
    with caplog.at_level(logging.INFO, logger="tic_alert.reload"):
        assert reloads.reload() is None
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and "reload refused" in record.getMessage()
    assert "threshhold" in record.getMessage() and "\n" not in record.getMessage()
    assert runtime.chatbot.rules is before and reloads.take() is None


def test_sighup_reloads(setup):
    rules, runtime, reloads = setup
    rules.write_text(GOOD)
    old = signal.signal(signal.SIGHUP, reloads.signalled)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        wait_until(lambda: threshold(runtime.chatbot.rules) == 60, 10, what="the rules reloaded")
    finally:
        signal.signal(signal.SIGHUP, old)
    assert threshold(runtime.chatbot.rules) == 60
