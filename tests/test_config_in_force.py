"""`tic-alert config check` says what the rules file puts in force: a line per rule, a warning
where an override does nothing, and "did you mean" for a mistyped rule id or field (issue 27)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.cli import main
from bot.rules.catalogue import load_rules
from bot.rules.in_force import floor_masks, in_force


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    for name in ("TIC_ALERT_CONFIG", "TIC_ALERT_DB", "TIC_ALERT_BOT_TOKEN", "TIC_ALERT_ADMINS"):
        monkeypatch.delenv(name, raising=False)
    rules = tmp_path / "rules.toml"
    path = tmp_path / "c.toml"
    path.write_text(f'[rules]\nfile = "rules.toml"\n[store]\ndb_path = "{tmp_path / "t.db"}"\n')
    return path, rules


def check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(["config", "check", "--config", str(path)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_threshold_under_its_floor_is_in_force_but_warned_as_inert(config, capsys):
    path, rules = config
    rules.write_text('[[rule]]\nid = "holdings-3m-drop"\nthreshold = 40\n')
    rc, out, _ = check(path, capsys)
    assert rc == 0
    assert "  holdings-3m-drop: on, threshold 40, floor 50bn (set: threshold)" in out.splitlines()
    warning = [line for line in out.splitlines() if line.startswith("warning: ")]
    assert warning == [
        "warning: rule holdings-3m-drop: threshold = 40 is below its floor = 50 ($bn): the floor "
        "decides, the threshold changes nothing (lower the floor too, e.g. floor = 40)"
    ]


def test_lowering_the_floor_too_is_not_warned(config, capsys):
    path, rules = config
    rules.write_text('[[rule]]\nid = "holdings-3m-drop"\nthreshold = 40\nfloor = 40\n')
    rc, out, _ = check(path, capsys)
    assert rc == 0 and "warning:" not in out
    assert "  holdings-3m-drop: on, threshold 40, floor 40bn (set: floor, threshold)" in out


def test_every_shipped_rule_has_its_line(config, capsys):
    path, rules = config
    rules.write_text('[[rule]]\nid = "multi-year-low"\nthreshold = 3\n')
    rc, out, _ = check(path, capsys)
    assert rc == 0
    for rule in load_rules():
        assert f"  {rule.id}: " in out
    assert "  multi-year-low: on, threshold 3 (set: threshold)" in out


def test_a_mistyped_rule_id_is_an_error_with_did_you_mean(config, capsys):
    path, rules = config
    rules.write_text('[[rule]]\nid = "holdings-3m-drp"\nthreshold = 40\n')
    rc, out, err = check(path, capsys)
    assert rc == 2 and not out
    assert err.count("\n") == 1
    assert "rule 'holdings-3m-drp': no shipped rule has this id (did you mean 'holdings-3m-drop'?)" in err


def test_a_mistyped_field_is_an_error_with_did_you_mean(config, capsys):
    path, rules = config
    rules.write_text('[[rule]]\nid = "holdings-3m-drop"\nthreshhold = 40\n')
    rc, _, err = check(path, capsys)
    assert rc == 2
    assert "field 'threshhold': unknown field for kind 'change' (did you mean 'threshold'?)" in err


def test_a_change_to_a_rule_that_is_off_says_it_reaches_only_chats_that_switch_it_on():
    shipped = {r.id: r for r in load_rules()}
    off = dataclasses.replace(shipped["multi-year-low"], enabled=False, threshold=3)
    lines, warnings = in_force([off], shipped, {"multi-year-low": {"id", "threshold"}})
    assert lines == ["  multi-year-low: off, threshold 3 (set: threshold)"]
    assert warnings == [
        "rule multi-year-low: it is off by default (enabled = false): your threshold applies only to "
        "chats that switch it on (/rules); add enabled = true to turn it on for every chat"
    ]
    # switched off by the same file: what the operator meant, no warning
    assert in_force([off], shipped, {"multi-year-low": {"id", "threshold", "enabled"}})[1] == []


def test_only_a_bn_threshold_on_the_floors_own_move_is_masked():
    shipped = {r.id: r for r in load_rules()}
    drop = shipped["holdings-3m-drop"]
    assert floor_masks(dataclasses.replace(drop, threshold=40))
    assert not floor_masks(dataclasses.replace(drop, threshold=60))
    assert not floor_masks(dataclasses.replace(shipped["holdings-12m-drop-pct"], threshold=5))  # percent
    assert not floor_masks(dataclasses.replace(shipped["holdings-decline-streak"], threshold=2))  # months
