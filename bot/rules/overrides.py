"""A subscriber's settings for the rules, typed: per rule id, an :class:`Override` of its
threshold, its $bn floor, or switching it off. Written by the chat's settings (notify) and by
``tic-alert backtest --set``, checked here, read by the release and the backtest."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from bot.errors import ConfigError
from bot.rules.catalogue import Rule

MAX_FLOOR = 1e5  # $bn: a floor is from 0 to below this


@dataclass(frozen=True)
class Override:
    """One rule's setting: a threshold (None: the rule's own; a value also switches on a rule
    that is off by default), a $bn floor (None: the rule's own), or ``off``."""

    threshold: float | None = None
    floor: float | None = None
    off: bool = False


Overrides = Mapping[str, Override]  # rule id → its override


def threshold_for(rule: Rule, overrides: Overrides) -> float | None:
    """The threshold a rule runs with: the subscriber's, else the default; None = switched off."""
    o = overrides.get(rule.id)
    if o is not None and o.off:
        return None
    if o is not None and o.threshold is not None:
        return o.threshold
    return rule.threshold if rule.enabled else None


def floor_for(rule: Rule, overrides: Overrides) -> float:
    """The $bn floor a rule runs with: the subscriber's, else the rule's."""
    o = overrides.get(rule.id)
    return rule.floor if o is None or o.floor is None else o.floor


def check_overrides(rules: Iterable[Rule], overrides: Overrides) -> dict[str, Override]:
    """Validate a subscriber's settings against the catalogue: a known rule, a threshold its
    kind accepts, a floor in $bn from 0 (a :class:`ConfigError` naming the rule and field)."""
    by_id = {r.id: r for r in rules}
    out: dict[str, Override] = {}
    for rid, o in overrides.items():
        if rid not in by_id:
            raise ConfigError(f"override: rule {rid!r}: no such rule")
        if o.floor is not None and not _number(o.floor, 0, MAX_FLOOR):
            raise ConfigError(f"override: rule {rid!r}: field 'floor': bad value {o.floor!r}")
        kind = by_id[rid].spec
        if o.threshold is not None and not kind.threshold_ok(o.threshold):
            means = kind.threshold_means
            bad = f"bad value {o.threshold!r} ({means})"
            raise ConfigError(f"override: rule {rid!r}: field 'threshold': {bad}")
        out[rid] = Override(
            None if o.threshold is None else float(o.threshold),
            None if o.floor is None else float(o.floor),
            o.off,
        )
    return out


def _number(value: object, lo: float, hi: float) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and lo <= value < hi


def parse_settings(items: Iterable[str]) -> dict[str, Override]:
    """``RULE=N``, ``RULE=off`` and ``RULE.floor=N`` (as `tic-alert backtest --set` takes them)
    → overrides, unchecked (:func:`check_overrides` checks them); ValueError naming a bad item."""
    out: dict[str, Override] = {}
    for item in items:
        key, _, value = item.partition("=")
        rid, _, field = key.strip().partition(".")
        try:
            off = value.strip() == "off" and not field
            change = {"off": True} if off else {field or "threshold": float(value)}
            if field not in ("", "floor"):
                raise ValueError(field)
        except ValueError as err:
            raise ValueError(f"--set {item!r}: expected RULE=N, RULE=off, RULE.floor=N") from err
        out[rid] = replace(out.get(rid, Override()), **change)
    return out
