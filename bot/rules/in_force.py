"""What an operator's rules file puts in force, rule by rule, and where its change does nothing.

``tic-alert config check`` prints one line per rule (threshold, floor, on or off, and the fields
the operator's file set) and a warning for each override that cannot take effect: a $bn threshold
below the rule's $bn floor (the floor drops every move the threshold lets through), or a change to
a rule that is off by default (it applies only to chats that switch the rule on with /rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.rules.catalogue import Rule
from bot.rules.kinds import Measure


def _num(x: float) -> str:
    return f"{x:g}"


def floor_masks(rule: Rule) -> bool:
    """A $bn threshold on the window's move below the $bn floor on that same move: the floor
    decides alone (a threshold of 40 with a floor of 50 fires exactly what 50 fires)."""
    spec = rule.spec
    return (
        spec.floor == Measure.WINDOW
        and rule.unit == "bn"
        and "unit" in spec.extra
        and rule.threshold < rule.floor
    )


def in_force(
    rules: Iterable[Rule], shipped: Mapping[str, Rule], operator: Mapping[str, set[str]]
) -> tuple[list[str], list[str]]:
    """Lines of what is in force, one per rule, and warnings for overrides that do nothing.

    ``operator``: rule id → the fields the operator's rules file sets for it."""
    lines: list[str] = []
    warnings: list[str] = []
    for rule in rules:
        fields = operator.get(rule.id, set()) - {"id"}
        origin = (
            ""
            if not fields
            else (" (new)" if rule.id not in shipped else f" (set: {', '.join(sorted(fields))})")
        )
        floor = f", floor {_num(rule.floor)}bn" if rule.spec.floor != Measure.NONE else ""
        unit = "%" if rule.unit == "pct" and "unit" in rule.spec.extra else ""
        state = "on" if rule.enabled else "off"
        lines.append(f"  {rule.id}: {state}, threshold {_num(rule.threshold)}{unit}{floor}{origin}")
        if not fields:
            continue
        if floor_masks(rule) and fields & {"threshold", "floor"}:
            warnings.append(
                f"rule {rule.id}: threshold = {_num(rule.threshold)} is below its floor = "
                f"{_num(rule.floor)} ($bn): the floor decides, the threshold changes nothing "
                f"(lower the floor too, e.g. floor = {_num(rule.threshold)})"
            )
        if not rule.enabled and "enabled" not in fields:
            warnings.append(
                f"rule {rule.id}: it is off by default (enabled = false): your "
                f"{', '.join(sorted(fields))} applies only to chats that switch it on (/rules); "
                "add enabled = true to turn it on for every chat"
            )
    return lines, warnings
