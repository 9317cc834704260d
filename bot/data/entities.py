"""Canonical entity names: countries, aggregates and groups, and the label variants that map to them.

The Treasury spells the same row differently from file to file and vintage to vintage
(quotes, footnote suffixes such as ``2/``, indentation, trailing spaces, ``Korea`` vs
``Korea, South``). Every parser passes its row labels through :func:`canonical_row`, so rows
are matched by meaning, never by position.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from bot.errors import ParseError
from bot.packaged import config_file

GRAND_TOTAL = "Grand Total"
FOREIGN_OFFICIAL = "Foreign Official"
FOREIGN_NON_OFFICIAL = "Foreign Non-Official"

# Series names used across the panel. Values are billions of dollars.
HOLDINGS = "holdings"  # total Treasury holdings (bills + bonds & notes)
HOLDINGS_PRIOR = "holdings_prior"  # old series at a series break, "for comparison only"
LT_HOLDINGS = "lt_holdings"  # long-term: bonds & notes
ST_HOLDINGS = "st_holdings"  # short-term: bills
NET = "net"  # total net transactions (Table 3), > 0 = foreigners bought
LT_NET = "lt_net"  # net long-term (bonds & notes) transactions, > 0 = foreigners bought
ST_NET = "st_net"  # net short-term transactions (estimated by Treasury as a change in position)
LT_VALUATION = "lt_valuation"  # valuation change of long-term holdings

# Every long-term U.S. security, not only Treasuries (SLT Table 1, 2020 on; Form S, 1977-2023):
# holdings, net transactions (> 0 = foreigners bought) and valuation change, by asset class.
TOTAL_LT_HOLDINGS = "total_lt_holdings"  # all long-term U.S. securities
TOTAL_LT_NET = "total_lt_net"
TOTAL_LT_VALUATION = "total_lt_valuation"
AGENCY_HOLDINGS = "agency_holdings"  # U.S. agency bonds
AGENCY_NET = "agency_net"
AGENCY_VALUATION = "agency_valuation"
CORP_HOLDINGS = "corp_holdings"  # U.S. corporate & other bonds
CORP_NET = "corp_net"
CORP_VALUATION = "corp_valuation"
EQUITY_HOLDINGS = "equity_holdings"  # U.S. corporate equity
EQUITY_NET = "equity_net"
EQUITY_VALUATION = "equity_valuation"
# U.S. residents' net purchases of foreign securities (Form S only, to 2023-01): > 0 = U.S.
# residents bought foreign bonds / stocks from foreigners (a capital outflow).
FOREIGN_BONDS_NET = "foreign_bonds_net"
FOREIGN_STOCKS_NET = "foreign_stocks_net"

# Asset classes, as the rules, messages and CSV/JSON columns name them.
TREASURY = "treasury"
AGENCY = "agency"
CORPORATE = "corporate"
EQUITY = "equity"
TOTAL_LT = "total_lt"
FOREIGN_BONDS = "foreign_bonds"
FOREIGN_STOCKS = "foreign_stocks"
ASSETS = (TOTAL_LT, TREASURY, AGENCY, CORPORATE, EQUITY, FOREIGN_BONDS, FOREIGN_STOCKS)
# Each asset's series by kind ("holdings", "net", "valuation"): the one map from asset to series.
ASSET_SERIES: dict[str, dict[str, str]] = {
    TREASURY: {"holdings": LT_HOLDINGS, "net": LT_NET, "valuation": LT_VALUATION},
    AGENCY: {"holdings": AGENCY_HOLDINGS, "net": AGENCY_NET, "valuation": AGENCY_VALUATION},
    CORPORATE: {"holdings": CORP_HOLDINGS, "net": CORP_NET, "valuation": CORP_VALUATION},
    EQUITY: {"holdings": EQUITY_HOLDINGS, "net": EQUITY_NET, "valuation": EQUITY_VALUATION},
    TOTAL_LT: {"holdings": TOTAL_LT_HOLDINGS, "net": TOTAL_LT_NET, "valuation": TOTAL_LT_VALUATION},
    FOREIGN_BONDS: {"net": FOREIGN_BONDS_NET},
    FOREIGN_STOCKS: {"net": FOREIGN_STOCKS_NET},
}
# Series → asset class (the Treasury-only series of Table 3 and the MFH files are not in it:
# HOLDINGS, NET, ST_* are Treasuries too, but bills and bonds together; see asset_of).
SERIES_ASSET: dict[str, str] = {s: a for a, kinds in ASSET_SERIES.items() for s in kinds.values()}
# The net-flow series of every asset (what the flow rules rank), headline first.
FLOW_SERIES = tuple(ASSET_SERIES[a]["net"] for a in ASSETS)


def asset_of(series: str) -> str:
    """The asset class of a panel series: ``treasury`` for every Treasury series (holdings,
    net, bills), else the class of :data:`SERIES_ASSET`; a KeyError for an unknown series."""
    if series in SERIES_ASSET:
        return SERIES_ASSET[series]
    if series in (HOLDINGS, HOLDINGS_PRIOR, NET, ST_HOLDINGS, ST_NET):
        return TREASURY
    raise KeyError(series)


_FOOTNOTE = re.compile(r"\s+\d+/\s*$")
_SPACES = re.compile(r"\s+")

# Rows that are a series of an aggregate rather than an entity of their own.
# Keys are normalized labels (see normalize_label); the "Of which:" context is checked by parsers.
_SPECIAL_ROWS: dict[str, tuple[str, str]] = {
    "of which: foreign official": (FOREIGN_OFFICIAL, HOLDINGS),
    "of which foreign official": (FOREIGN_OFFICIAL, HOLDINGS),
    "for. official": (FOREIGN_OFFICIAL, HOLDINGS),
    "foreign official": (FOREIGN_OFFICIAL, HOLDINGS),
    "of which: foreign official treasury bills": (FOREIGN_OFFICIAL, ST_HOLDINGS),
    "of which: foreign official t-bonds & notes": (FOREIGN_OFFICIAL, LT_HOLDINGS),
    "of which: foreign non-official": (FOREIGN_NON_OFFICIAL, HOLDINGS),
}
# Under an "Of which:" heading these two short labels belong to Foreign Official.
OF_WHICH_ROWS: dict[str, str] = {"treasury bills": ST_HOLDINGS, "t-bonds & notes": LT_HOLDINGS}

_ALIASES: dict[str, str] = {
    "china": "China, Mainland",
    "china, mainland": "China, Mainland",
    "mainland china": "China, Mainland",
    "prc": "China, Mainland",
    "korea": "Korea, South",
    "korea, south": "Korea, South",
    "south korea": "Korea, South",
    "uk": "United Kingdom",
    "u.k.": "United Kingdom",
    "britain": "United Kingdom",
    "great britain": "United Kingdom",
    "united kingdom": "United Kingdom",
    "uae": "United Arab Emirates",
    "usa": "United States",
    "carib bnkng ctrs": "Caribbean Banking Centers",
    "caribbean banking centers": "Caribbean Banking Centers",
    "oil exporters": "Oil Exporters",
    "belgium-luxembourg": "Belgium-Luxembourg",
    "belgium and luxembourg": "Belgium-Luxembourg",
    "grand total": GRAND_TOTAL,
    "cayman": "Cayman Islands",
    "hk": "Hong Kong",
    "swiss": "Switzerland",
    "saudi": "Saudi Arabia",
    "s. korea": "Korea, South",
    "holland": "Netherlands",
    "lux": "Luxembourg",
    "emirates": "United Arab Emirates",
    "official": FOREIGN_OFFICIAL,
    "foreign official": FOREIGN_OFFICIAL,
    "central banks": FOREIGN_OFFICIAL,
    "total": GRAND_TOTAL,
    "all": GRAND_TOTAL,
}


def normalize_label(label: str) -> str:
    """Strip quotes, indentation, footnote suffixes (``2/``) and repeated spaces; lower-case."""
    text = label.strip().strip('"').strip()
    text = _FOOTNOTE.sub("", text)
    text = _SPACES.sub(" ", text).strip()
    return text.lower()


def clean_label(label: str) -> str:
    """The label as printed, without quotes, footnote suffix and extra spaces (case kept)."""
    text = _FOOTNOTE.sub("", label.strip().strip('"').strip())
    return _SPACES.sub(" ", text).strip()


def canonical_row(label: str) -> tuple[str, str]:
    """Map a row label to (entity, series); ordinary rows are an entity's ``holdings``."""
    key = normalize_label(label)
    if key in _SPECIAL_ROWS:
        return _SPECIAL_ROWS[key]
    return canonical_name(label), HOLDINGS


def canonical_name(label: str) -> str:
    """The canonical entity name for a label; unknown labels keep their cleaned spelling."""
    key = normalize_label(label)
    if key in _ALIASES:
        return _ALIASES[key]
    if key in _SPECIAL_ROWS:
        return _SPECIAL_ROWS[key][0]
    return clean_label(label)


@dataclass(frozen=True)
class Group:
    """A user-facing sum of countries, e.g. Japan + China."""

    name: str
    members: tuple[str, ...]


DEFAULT_GROUPS: tuple[Group, ...] = (Group("Japan + China", ("Japan", "China, Mainland")),)


_AGGREGATE_PREFIXES = ("total ", "memo:", "all other", "of which")
_AGGREGATES = {
    GRAND_TOTAL,
    FOREIGN_OFFICIAL,
    FOREIGN_NON_OFFICIAL,
    "All Countries",
    "International",
    "Oil Exporters",
    "Caribbean Banking Centers",
    "Country Unknown",
}


def is_country(entity: str, groups: tuple[Group, ...] = ()) -> bool:
    """True for a single country (or territory), False for totals, residuals and groups."""
    if entity in _AGGREGATES or any(entity == g.name for g in groups):
        return False
    return not entity.lower().startswith(_AGGREGATE_PREFIXES)


@cache
def known_countries() -> frozenset[str]:
    """Every country name the Treasury files print (config/countries.toml)."""
    data = tomllib.loads(config_file("countries.toml").read_text(encoding="utf-8"))
    return frozenset(data["countries"])


_PLUS = re.compile(r"\s*\+\s*")


def name_key(text: str) -> str:
    """How a name a person types is compared: case, spacing and spacing around "+" do not matter."""
    return _PLUS.sub(" + ", _SPACES.sub(" ", text.strip().strip('"').strip())).casefold()


class EntityNames:
    """The names a person may use for the entities we know: forgiving lookup and suggestions.

    ``japan``, ``JAPAN`` and ``Japan`` resolve alike; ``japan+china`` is ``Japan + China``;
    aliases such as ``uk``, ``china``, ``korea``, ``hk``, ``uae`` work; an unknown name gets
    close matches from :meth:`suggest` for a "did you mean …?".
    """

    def __init__(self, names: Iterable[str]):
        self.names = tuple(dict.fromkeys(names))
        self._by_key = {name_key(n): n for n in self.names}
        for alias, canonical in _ALIASES.items():
            key = name_key(alias)
            if canonical in self.names and key not in self._by_key:
                self._by_key[key] = canonical

    def resolve(self, text: str) -> str | None:
        """The canonical name for ``text``, or None when it names nothing we know."""
        key = name_key(text)
        if key in self._by_key:
            return self._by_key[key]
        canonical = canonical_name(text)  # footnote marks, quotes, Treasury spellings
        return canonical if canonical in self.names else None

    def suggest(self, text: str, n: int = 3) -> list[str]:
        """Up to ``n`` known names close to ``text``, best first (difflib ratio ≥ 0.6)."""
        key = name_key(text)
        if not key:
            return []
        keys = list(self._by_key)
        close = difflib.get_close_matches(key, keys, n=n * 2, cutoff=0.6)
        starts = [k for k in keys if k.startswith(key) and len(key) >= 3]
        out: list[str] = []
        for k in [*starts, *close]:
            name = self._by_key[k]
            if name not in out:
                out.append(name)
        return out[:n]


@cache
def known_entities() -> frozenset[str]:
    """Every entity name a file may print: the countries of config/countries.toml and the aggregates."""
    return known_countries() | frozenset(_AGGREGATES) | frozenset(_ALIASES.values())


@cache
def _known_keys() -> dict[str, str]:
    """Countries only: a garbled aggregate label ("Grand Totals") fails the parser's own check
    for that row (a missing total, or a sum that no longer adds up) with a clearer message."""
    return {normalize_label(n): n for n in known_entities() - _AGGREGATES - {GRAND_TOTAL}}


def _squash(text: str) -> str:
    """Letters and digits only: a stray character ("B–elgium", "Japan*") disappears."""
    return "".join(c for c in text.lower() if c.isalnum())


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


NEAR_MISS = 2  # edit distance at which an unknown label is taken for a garbled known one


def check_entity(entity: str, label: str, file: str, line: int | None) -> str | None:
    """An entity a parser made of a row label must be a known name.

    Known (countries.toml, aggregates, ``Total …``/``Memo: …``/``All Other`` rows): None.
    A near miss of a known name (within edit distance 2, or equal once stray characters are
    dropped): a ParseError, never a second copy of a known country. Anything else: a warning
    string for the caller (a country the Treasury has started to print; add it to countries.toml).
    """
    if entity in known_entities() or entity.lower().startswith(_AGGREGATE_PREFIXES):
        return None
    key = normalize_label(entity)
    squashed = _squash(key)
    for known_key, name in _known_keys().items():
        if squashed == _squash(known_key) or _distance(key, known_key, NEAR_MISS) <= NEAR_MISS:
            raise ParseError(file, line, f"a known entity name ({name!r}?)", label.strip())
    return f"{file}: line {line}: unknown entity {entity!r} (a new country? add it to config/countries.toml)"
