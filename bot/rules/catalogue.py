"""The rule catalogue: what a rule is, how the TOML file declares it, and how it is checked at startup.

A rule names a kind (see :mod:`bot.rules.kinds`), the entities it watches, a basis (which panel
series), a window in months, a severity, and one threshold a subscriber may override.

A malformed file (unknown kind, entity, field or a bad value) raises :class:`ConfigError`
naming the rule and the field, when the catalogue is loaded at startup, never at release time.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from bot.config_files import Toml
from bot.data.entities import (
    ASSET_SERIES,
    ASSETS,
    FOREIGN_NON_OFFICIAL,
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    TREASURY,
    EntityNames,
    Group,
    known_countries,
)
from bot.errors import ConfigError
from bot.packaged import config_file
from bot.rules.kinds import BASES, KINDS, MAX_WINDOW, SEVERITIES, Kind, KindName

RULES_FILE = "rules.toml"

# Entity selectors, expanded against the panel when metrics are computed:
GROUPS = "@groups"  # every configured group
COUNTRIES = "@countries"  # every single country with data
MAJOR = "@major"  # countries on the Major Foreign Holders roster at the month (Table 5 / mfhhis01)
LARGEST = "@largest"  # the largest holders at the month: Grand Total, Foreign Official, the top 3 countries
SELECTORS = (GROUPS, COUNTRIES, MAJOR, LARGEST)
AGGREGATES = (GRAND_TOTAL, FOREIGN_OFFICIAL, FOREIGN_NON_OFFICIAL)

COMMON_FIELDS = (
    "assets",
    "id",
    "description",
    "kind",
    "entity",
    "entities",
    "basis",
    "window",
    "direction",
    "threshold",
    "severity",
    "enabled",
    "floor",
    "min_size",
)
DEFAULTS = {"unit": "bn", "min_history": 36, "top_n": 10}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


@dataclass(frozen=True)
class Rule:
    """One checked rule of the catalogue; entities are canonical names or selectors."""

    id: str
    description: str
    kind: KindName
    entities: tuple[str, ...]
    basis: str  # as written: holdings, lt_holdings or net
    window: int
    direction: str
    threshold: float
    severity: str
    unit: str = "bn"  # change: "bn" or "pct"
    min_history: int = 36  # record: windows of history needed before a record counts
    top_n: int = 10  # rank_change: only moves that end within the top n holders
    enabled: bool = True
    floor: float = 0.0  # smallest $bn move that is news (moves, records, streaks); overridable
    min_size: float = 0.0  # smallest holder ($bn of holdings at the month) the rule speaks about
    every_month: bool = False  # streak: told every month of a run from the threshold, not at milestones
    calendar_year: bool = False  # record/largest_since with window 12: calendar years only (December)
    # the asset classes whose net flows a basis-"net" rule reads, as written (empty: Treasury notes
    # & bonds); the engine evaluates one instance per asset (:meth:`instances`), each with its asset
    assets: tuple[str, ...] = ()
    asset: str = TREASURY

    @property
    def series(self) -> str:
        """The panel series the rule reads (an instance's asset's net flows for basis "net")."""
        if self.basis == "net" and self.asset != TREASURY:
            return ASSET_SERIES[self.asset]["net"]
        return BASES[self.basis]

    def instances(self) -> tuple[Rule, ...]:
        """The rule as the engine evaluates it: one instance per asset it reads, each with the
        rule's id, threshold and floor (a subscriber's setting applies to every asset)."""
        if not self.assets:
            return (self,)
        return tuple(replace(self, asset=a, assets=()) for a in self.assets)

    @property
    def key(self) -> str:
        """Unique per instance: the id, and the asset for another asset than Treasuries."""
        return self.id if self.asset == TREASURY else f"{self.id}/{self.asset}"

    @property
    def spec(self) -> Kind:
        return KINDS[self.kind]


def load_rules(
    groups: Iterable[Group] = (), text: str | None = None, where: str = f"config/{RULES_FILE}"
) -> tuple[Rule, ...]:
    """Read and check the rule catalogue (the packaged config/rules.toml unless ``text`` is given)."""
    if text is None:
        text = config_file(RULES_FILE).read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"rules {where}: not valid TOML ({err})") from err
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise ConfigError(f"rules {where}: unknown top-level key {unknown[0]!r} (expected [[rule]] tables)")
    raw = data.get("rule", [])
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"rules {where}: no [[rule]] tables")
    group_names = {g.name for g in groups}
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        rule = _rule(item, i, group_names, where)
        if rule.id in seen:
            raise ConfigError(f"rules {where}: rule {rule.id!r}: field 'id': used by an earlier rule")
        seen.add(rule.id)
        rules.append(rule)
    return tuple(rules)


def _rule(item: Any, number: int, group_names: set[str], where: str) -> Rule:
    if not isinstance(item, dict):
        raise ConfigError(f"rules {where}: rule #{number}: must be a table")
    rid = item.get("id")
    name = repr(rid) if isinstance(rid, str) else f"#{number}"

    def bad(fieldname: str, expected: str) -> ConfigError:
        found = item.get(fieldname, "nothing")
        return ConfigError(
            f"rules {where}: rule {name}: field {fieldname!r}: expected {expected}, found {found!r}"
        )

    if not isinstance(rid, str) or not _ID.match(rid):
        raise bad("id", "a short id of lower-case letters, digits, '-' or '_'")
    kind_name = item.get("kind")
    if kind_name not in KINDS:
        raise bad("kind", "one of " + ", ".join(KINDS))
    kind = KINDS[kind_name]
    allowed = set(COMMON_FIELDS) | set(kind.extra)
    for key in item:
        if key not in allowed:
            near = difflib.get_close_matches(key, sorted(allowed), n=1)
            raise ConfigError(
                f"rules {where}: rule {name}: field {key!r}: unknown field for kind {kind_name!r} "
                + (f"(did you mean {near[0]!r}?) " if near else "")
                + f"(allowed: {', '.join(sorted(allowed))})"
            )
    description = item.get("description")
    if not isinstance(description, str) or not description.strip() or "\n" in description:
        raise bad("description", "a one-line description")
    entities = _entities(item, kind, group_names, bad)
    basis = item.get("basis")
    if basis not in kind.bases:
        raise bad("basis", "one of " + ", ".join(kind.bases))
    window = item.get("window", 1)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= MAX_WINDOW:
        raise bad("window", f"a whole number of months from 1 to {MAX_WINDOW}")
    if kind.window_one and window != 1:
        raise bad("window", f"1 (a {kind.name} rule looks at every month)")
    direction = item.get("direction", kind.directions[0])
    if direction not in kind.directions:
        raise bad("direction", "one of " + ", ".join(kind.directions))
    if "threshold" not in item:
        raise bad("threshold", f"a number: {kind.threshold_means}")
    threshold = item["threshold"]
    if not kind.threshold_ok(threshold):
        whole = "a whole number" if kind.integer else "a number"
        upper = f" and at most {kind.maximum:g}" if math.isfinite(kind.maximum) else ""
        raise bad("threshold", f"{whole} of at least {kind.minimum:g}{upper} ({kind.threshold_means})")
    severity = item.get("severity")
    if severity not in SEVERITIES:
        raise bad("severity", "one of " + ", ".join(SEVERITIES))
    enabled = item.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad("enabled", "true or false")
    extra: dict[str, float | str] = {}  # floor, min_size; unit
    for key in ("floor", "min_size"):
        v = item.get(key, 0.0)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < 1e5:
            raise bad(key, "a number of $bn from 0")
        extra[key] = float(v)
    if "unit" in kind.extra:
        unit = item.get("unit", DEFAULTS["unit"])
        if unit not in ("bn", "pct"):
            raise bad("unit", "'bn' or 'pct'")
        if unit == "pct" and basis == "net":
            raise bad("unit", "'bn' (a percent change needs a level: use holdings)")
        extra["unit"] = unit
    if "assets" in item:
        raw_assets = item["assets"]
        if not kind.assets or basis != "net":
            kinds = ", ".join(k for k in KINDS if KINDS[k].assets)
            raise bad("assets", f"nothing (only a basis 'net' rule of kind {kinds})")
        if (
            not isinstance(raw_assets, list)
            or not raw_assets
            or any(a not in ASSETS for a in raw_assets)
            or len(set(raw_assets)) != len(raw_assets)
        ):
            raise bad("assets", "a list of distinct asset classes from " + ", ".join(ASSETS))
        extra["assets"] = tuple(raw_assets)
        extra["asset"] = raw_assets[0]
    if "calendar_year" in kind.extra:
        calendar = item.get("calendar_year", False)
        if not isinstance(calendar, bool) or (calendar and window != 12):
            raise bad("calendar_year", "true or false (true with window = 12)")
        extra["calendar_year"] = calendar
    if "every_month" in kind.extra:
        every = item.get("every_month", False)
        if not isinstance(every, bool):
            raise bad("every_month", "true or false")
        extra["every_month"] = every
    for key in ("min_history", "top_n"):
        if key in kind.extra:
            v = item.get(key, DEFAULTS[key])
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1000:
                raise bad(key, "a whole number from 1 to 1000")
            extra[key] = v
    return Rule(
        id=rid,
        description=description.strip(),
        kind=kind.name,
        entities=entities,
        basis=basis,
        window=window,
        direction=direction,
        threshold=float(threshold),
        severity=severity,
        enabled=enabled,
        **extra,
    )


def _entities(item: Toml, kind: Kind, group_names: set[str], bad: Any) -> tuple[str, ...]:
    if "entity" in item and "entities" in item:
        raise bad("entities", "either 'entity' or 'entities', not both")
    only = kind.only_entity
    if only is not None:
        raw = item.get("entity", item.get("entities", only))
        if raw not in (only, [only]):
            raise bad("entity" if "entity" in item else "entities", f"{only!r} (or nothing)")
        return (only,)
    fieldname = "entity" if "entity" in item else "entities"
    raw = item.get(fieldname)
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise bad(fieldname, "an entity name or a list of them")
    out: list[str] = []
    for n in names:
        entity = resolve_entity(n, group_names)
        if entity is None:
            raise ConfigError(
                f"rules: rule {item.get('id')!r}: field {fieldname!r}: unknown entity {n!r} "
                f"(a country, {', '.join(AGGREGATES)}, a group from [groups], or {', '.join(SELECTORS)})"
            )
        if kind.countries_only and entity in (*AGGREGATES, *group_names, GROUPS):
            raise bad(fieldname, "countries only (a rank change ranks single countries among holders)")
        if entity not in out:
            out.append(entity)
    return tuple(out)


def resolve_entity(name: str, group_names: Iterable[str] = ()) -> str | None:
    """The canonical entity (or selector) for a name a rule or a user gives; None if unknown."""
    text = name.strip()
    if text in SELECTORS:
        return text
    return EntityNames([*group_names, *AGGREGATES, *sorted(known_countries())]).resolve(text)


def instances(rules: Iterable[Rule]) -> tuple[Rule, ...]:
    """Every rule as the engine evaluates it (:meth:`Rule.instances`: one per asset it reads)."""
    return tuple(r for rule in rules for r in rule.instances())
