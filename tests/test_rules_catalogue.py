"""The rule catalogue: the default file loads, and every malformed rule fails naming rule and field."""

from __future__ import annotations

import pytest
from rule_panels import JC

from bot.config import load_settings
from bot.errors import ConfigError
from bot.rules.catalogue import load_rules, resolve_entity
from bot.rules.kinds import KINDS
from bot.rules.overrides import Override, check_overrides

GOOD = """
[[rule]]
id = "x"
description = "a rule"
kind = "change"
entity = "Japan"
basis = "holdings"
window = 3
direction = "decline"
threshold = 50
severity = "notable"
"""


def test_default_catalogue_loads_with_every_kind():
    rules = load_rules(load_settings(env={}).groups)
    assert {r.kind for r in rules} == set(KINDS)
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    assert {"record-3m-decline", "record-3m-net-selling", "official-net-selling"} <= set(ids)


def test_good_rule_is_read_with_canonical_names():
    (r,) = load_rules((JC,), GOOD.replace('entity = "Japan"', 'entities = ["china", "japan + china", "uk"]'))
    assert r.entities == ("China, Mainland", "Japan + China", "United Kingdom")
    assert r.threshold == 50.0
    assert r.series == "holdings"
    assert r.unit == "bn"


@pytest.mark.parametrize(
    ("old", "new", "field", "says"),
    [
        ('kind = "change"', 'kind = "bogus"', "kind", "one of change"),
        ('entity = "Japan"', 'entity = "Narnia"', "entity", "unknown entity 'Narnia'"),
        ('entity = "Japan"', "entity = 3", "entity", "an entity name"),
        ('severity = "notable"', 'severity = "notable"\ncolour = "red"', "colour", "unknown field"),
        ("window = 3", "window = 0", "window", "whole number of months"),
        ("window = 3", 'window = "3"', "window", "whole number of months"),
        ("threshold = 50", "threshold = -5", "threshold", "at least 0"),
        ("threshold = 50", 'threshold = "ten"', "threshold", "a number"),
        ("threshold = 50", "", "threshold", "a number"),
        ('severity = "notable"', 'severity = "loud"', "severity", "one of info"),
        ('basis = "holdings"', 'basis = "flows"', "basis", "one of holdings"),
        ('direction = "decline"', 'direction = "sideways"', "direction", "one of decline"),
        ('description = "a rule"', 'description = ""', "description", "one-line"),
        ('id = "x"', 'id = "Bad Id!"', "id", "short id"),
        ('severity = "notable"', 'severity = "notable"\nunit = "pct"\n', "unit", None),
        (
            'severity = "notable"',
            'severity = "notable"\nmin_history = 5',
            "min_history",
            "unknown field for kind 'change' (",
        ),
        ('severity = "notable"', 'severity = "notable"\nenabled = "yes"', "enabled", "true or false"),
    ],
)
def test_malformed_rule_names_rule_and_field(old, new, field, says):
    text = GOOD.replace(old, new)
    if field == "unit":  # a percent change of net transactions has no level to divide by
        text = text.replace('basis = "holdings"', 'basis = "net"')
    with pytest.raises(ConfigError) as err:
        load_rules((JC,), text)
    msg = str(err.value)
    assert f"field '{field}'" in msg, msg
    assert "rule 'x'" in msg or "rule #1" in msg or "rule 'Bad Id!'" in msg, msg
    if says:
        assert says in msg, msg


@pytest.mark.parametrize(
    ("kind_lines", "field"),
    [
        ('kind = "record"\nthreshold = 2.5', "threshold"),  # top k is a whole number
        ('kind = "record"\nthreshold = 11', "threshold"),
        ('kind = "streak"\nthreshold = 1', "threshold"),
        ('kind = "streak"\nthreshold = 3\nwindow = 3', "window"),
        ('kind = "rank_change"\nthreshold = 1\nentity = "Japan + China"', "entity"),
        ('kind = "official_selling"\nthreshold = 1\nentity = "Japan"', "entity"),
    ],
)
def test_kind_specific_values_are_checked(kind_lines, field):
    base = GOOD.replace('kind = "change"\n', "").replace("threshold = 50\n", "")
    if "entity =" in kind_lines:
        base = base.replace('entity = "Japan"\n', "")
    base = base.replace("window = 3\n", "")  # window 1 unless the case sets one
    base = base.replace('direction = "decline"\n', "")
    with pytest.raises(ConfigError, match=f"rule 'x': field '{field}'"):
        load_rules((JC,), base + kind_lines + "\n")


def test_file_level_errors():
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_rules((), "[[rule]\nid=")
    with pytest.raises(ConfigError, match="no \\[\\[rule\\]\\] tables"):
        load_rules((), "")
    with pytest.raises(ConfigError, match="unknown top-level key 'rules'"):
        load_rules((), "[[rules]]\nid = 'x'")
    with pytest.raises(ConfigError, match="rule 'x': field 'id': used by an earlier rule"):
        load_rules((), GOOD + GOOD)


def test_group_names_must_be_configured():
    with pytest.raises(ConfigError, match="unknown entity 'Japan \\+ China'"):
        load_rules((), GOOD.replace('entity = "Japan"', 'entity = "Japan + China"'))
    assert resolve_entity("custody centres", ["Custody centres"]) == "Custody centres"
    assert resolve_entity("@major") == "@major"
    assert resolve_entity("Atlantis") is None


def test_overrides_are_checked():
    rules = load_rules((JC,), GOOD)
    assert check_overrides(rules, {"x": Override(10)}) == {"x": Override(10.0)}
    assert check_overrides(rules, {"x": Override(off=True)}) == {"x": Override(off=True)}
    assert check_overrides(rules, {"x": Override(floor=20)}) == {"x": Override(floor=20.0)}
    with pytest.raises(ConfigError, match="rule 'nope': no such rule"):
        check_overrides(rules, {"nope": Override(1)})
    with pytest.raises(ConfigError, match="rule 'x': field 'threshold'"):
        check_overrides(rules, {"x": Override(-1)})
    with pytest.raises(ConfigError, match="rule 'x': field 'floor'"):
        check_overrides(rules, {"x": Override(floor=-1)})


@pytest.mark.slow  # backtests of the real files
def test_backtest_set_keeps_its_command_line_syntax(tic_dir, capsys):
    from bot.cli import main

    args = ["backtest", "--data-dir", str(tic_dir), "--from", "2022-10", "--to", "2022-10"]
    assert main([*args, "--set", "record-3m-decline=1", "--set", "record-3m-decline.floor=100000"]) == 2
    assert "field 'floor'" in capsys.readouterr().err
    assert main([*args, "--rule", "holdings-3m-drop", "--set", "holdings-3m-drop.floor=99999"]) == 0
    assert "0 events" in capsys.readouterr().out
    assert main([*args, "--rule", "holdings-3m-drop", "--set", "holdings-3m-drop=off"]) == 0
    assert "0 events" in capsys.readouterr().out
    assert main([*args, "--rule", "holdings-3m-drop"]) == 0
    assert "Japan + China" in capsys.readouterr().out
    for bad in ("holdings-3m-drop.ceiling=3", "holdings-3m-drop=lots", "holdings-3m-drop.floor=off"):
        assert main([*args, "--set", bad]) == 2
        assert "RULE.floor=N" in capsys.readouterr().err
