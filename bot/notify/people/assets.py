"""Asset words a person types (/watch stocks, /chart japan corporates) and what they stand for.

A chat's watched assets are rows of its watch list with a reserved prefix (``asset:equity``,
:data:`bot.store.subscribers.ASSET_PREFIX`): no new table, and /unwatch all clears them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.data.entities import (
    AGENCY,
    AGENCY_NET,
    CORP_NET,
    CORPORATE,
    EQUITY,
    EQUITY_NET,
    FOREIGN_BONDS,
    FOREIGN_BONDS_NET,
    FOREIGN_STOCKS,
    FOREIGN_STOCKS_NET,
    LT_NET,
    TOTAL_LT,
    TOTAL_LT_NET,
    TREASURY,
    EntityNames,
    name_key,
)
from bot.notify.people.chatbot import UsageError, one_script
from bot.store.subscribers import ASSET_PREFIX


@dataclass(frozen=True)
class WatchAsset:
    """One asset choice: ``key`` is what the watch row stores after the prefix; ``words`` what a
    person may type (the first is how the bot names it back); ``assets`` the events'
    :attr:`~bot.rules.events.Event.asset` it covers; ``series`` the net-flow series a chart adds up."""

    key: str
    label: str
    words: tuple[str, ...]
    assets: tuple[str, ...]
    series: tuple[str, ...]
    flow: str  # the chart's title: "net foreign purchases of U.S. stocks"

    @property
    def row(self) -> str:
        return ASSET_PREFIX + self.key


WATCH_ASSETS: tuple[WatchAsset, ...] = (
    WatchAsset(
        TREASURY,
        "Treasuries",
        ("treasuries", "treasury", "notes and bonds", "notes & bonds"),
        (TREASURY,),
        (LT_NET,),
        "net foreign purchases of U.S. Treasury notes & bonds",
    ),
    WatchAsset(
        EQUITY,
        "U.S. stocks",
        ("stocks", "equities", "equity", "shares", "us stocks", "u.s. stocks"),
        (EQUITY,),
        (EQUITY_NET,),
        "net foreign purchases of U.S. stocks",
    ),
    WatchAsset(
        CORPORATE,
        "U.S. corporate bonds",
        ("corporates", "corporate bonds", "corporate", "corps", "corporate debt"),
        (CORPORATE,),
        (CORP_NET,),
        "net foreign purchases of U.S. corporate bonds",
    ),
    WatchAsset(
        AGENCY,
        "U.S. agency bonds",
        ("agencies", "agency bonds", "agency", "agency debt"),
        (AGENCY,),
        (AGENCY_NET,),
        "net foreign purchases of U.S. agency bonds",
    ),
    WatchAsset(
        TOTAL_LT,
        "all long-term U.S. securities",
        ("all securities", "long-term securities", "long term securities", "securities", "total", "all"),
        (TOTAL_LT,),
        (TOTAL_LT_NET,),
        "net foreign purchases of long-term U.S. securities",
    ),
    WatchAsset(
        "foreign",
        "foreign securities (U.S. residents' purchases)",
        ("foreign securities", "foreign bonds and stocks", "foreign stocks and bonds"),
        (FOREIGN_BONDS, FOREIGN_STOCKS),
        (FOREIGN_BONDS_NET, FOREIGN_STOCKS_NET),
        "U.S. residents' net purchases of foreign bonds and stocks",
    ),
)
BY_KEY = {a.key: a for a in WATCH_ASSETS}
_BY_WORD = {name_key(w): a for a in WATCH_ASSETS for w in a.words}
# what replies offer, in the order a person most likely wants them
ASSET_WORDS = ("stocks", "corporates", "agencies", "all securities", "treasuries", "foreign securities")
MAX_ASSET_WORDS = max(len(k.split()) for k in _BY_WORD)


def asset_named(text: str) -> WatchAsset | None:
    """The asset ``text`` names ("stocks", "All Securities", "corporate bonds"), or None."""
    return _BY_WORD.get(name_key(text))


def split_asset(text: str) -> tuple[str, WatchAsset | None]:
    """``"grand total stocks"`` → ``("grand total", <stocks>)``: the longest asset phrase that ends
    the text, and what is before it; ``(text, None)`` when no asset phrase ends it."""
    words = text.split()
    for n in range(min(MAX_ASSET_WORDS, len(words)), 0, -1):
        found = asset_named(" ".join(words[-n:]))
        if found is not None:
            return " ".join(words[:-n]), found
    return text, None


def watched_assets(watches: Sequence[str]) -> tuple[WatchAsset, ...]:
    """The assets among a chat's watch rows (an unknown key, from a newer bot, is left out)."""
    keys = [w[len(ASSET_PREFIX) :] for w in watches if w.startswith(ASSET_PREFIX)]
    return tuple(BY_KEY[k] for k in keys if k in BY_KEY)


def event_assets(watches: Sequence[str]) -> frozenset[str]:
    """The events' assets a chat gets: empty = every asset (it watches none)."""
    return frozenset(a for w in watched_assets(watches) for a in w.assets)


def shown_watch(row: str) -> str:
    """A watch row as /watching lists it: an entity's name, or "stocks (U.S. stocks)"."""
    asset = BY_KEY.get(row[len(ASSET_PREFIX) :]) if row.startswith(ASSET_PREFIX) else None
    return row if asset is None else f"{asset.words[0]} ({asset.label})"


def read_target(names: EntityNames, text: str, asset_first: bool) -> tuple[str | None, WatchAsset | None]:
    """What ``text`` names: an entity, an asset, or both ("japan stocks"); a UsageError with a
    "did you mean" for anything else. ``asset_first``: a bare asset word wins over an entity's
    alias (/watch total = all securities; /chart total = Grand Total's holdings). A holder's name
    that mixes scripts ("jаpan", a Cyrillic "а") is refused: the asset words after it are Latin."""
    if not text:
        raise UsageError(f"Name a country or group, or an asset: {', '.join(ASSET_WORDS)}.")
    holder, _ = split_asset(text)
    one_script(holder or text)
    asset = asset_named(text)
    if asset is not None and asset_first:
        return None, asset
    found = names.resolve(text)
    if found is not None:
        return found, None
    if asset is not None:
        return None, asset
    rest, asset = split_asset(text)
    holder = names.resolve(rest) if asset is not None and rest else None
    if holder is not None:
        return holder, asset
    close = [_canonical(n) for n in EntityNames([*names.names, *_BY_WORD]).suggest(text)]
    words = text.split()
    holder = names.resolve(" ".join(words[:-1])) if len(words) > 1 else None
    if not close and holder is not None:
        close = [f"{holder} {_canonical(w)}" for w in EntityNames(list(_BY_WORD)).suggest(words[-1])]
    close = list(dict.fromkeys(close))
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    assets = ", ".join(ASSET_WORDS)
    raise UsageError(f"No country, group or asset called {text[:40]!r}.{hint} Assets: {assets}.")


def _canonical(name: str) -> str:
    """An asset word as the bot names it back ("us stocks" → "stocks"); any other name as is."""
    asset = asset_named(name)
    return name if asset is None else asset.words[0]


def joined(parts: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
