"""The catalogue of Treasury TIC files tic-alert reads: what each holds and whether it still moves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A Treasury file by its Treasury name."""

    name: str
    label: str  # how a message names the figures' source ("SLT Table 3")
    description: str
    family: str  # "mfh": the Major Foreign Holders figures the Treasury headlines; "slt": the rest
    unit: str  # "$bn" or "$mn" as printed; the parsers always return $bn
    frozen: bool  # a frozen file still answers 200 but never changes: never a release signal
    # one of the files a release's panel is built from (RELEASE_FILES): what `check` reads, the
    # poller keeps and hands over, and the bot answers from
    in_release: bool
    # how a companion shows a new release after the headline file does: "month" (its newest month
    # reaches the release's), "stamp" (its footer stamp changes); "" = not a companion
    companion: str = ""


HEADLINE = "slt_table5.txt"  # the release signal: its newest month is the release's identity
MFH_HISTORY = "mfhhis01.txt"
MFH_HISTORY_CSV = "mfhhis01.csv"
SLT_TABLE3 = "slt_table3.txt"
SLT_TABLE1 = "slt_table1.txt"
FORM_S = "s1_globl.txt"

# In the order that breaks a tie between two files of the same family and publication.
SOURCES: tuple[Source, ...] = (
    Source(
        HEADLINE, "SLT Table 5", "SLT Table 5, Major Foreign Holders, 13 months", "mfh", "$bn", False, True
    ),
    Source(
        MFH_HISTORY, "MFH history", "MFH history 2000 → last full year", "mfh", "$bn", False, True, "stamp"
    ),
    Source(
        MFH_HISTORY_CSV,
        "mfhhis01.csv",
        "MFH history, comma-delimited twin of mfhhis01.txt (the cross-check of its cells)",
        "mfh",
        "$bn",
        False,
        True,
        "stamp",
    ),
    Source(
        SLT_TABLE3,
        "SLT Table 3",
        "Treasuries by country: holdings, net transactions, valuation",
        "slt",
        "$mn",
        False,
        True,
        "month",
    ),
    Source(
        SLT_TABLE1,
        "SLT Table 1",
        "all long-term U.S. securities by country and type: holdings, net transactions, valuation",
        "slt",
        "$mn",
        False,
        True,
        "month",
    ),
    Source("mfh.txt", "MFH", "legacy fixed-width MFH, 13 months to 2023-01", "mfh", "$bn", True, False),
    Source(
        "slt3d_globl.csv",
        "SLT 3D",
        "country Treasury holdings total/long/short 2011-2023",
        "slt",
        "$mn",
        True,
        True,
    ),
    Source(FORM_S, "Form S", "Form S gross purchases/sales by country 1977-2023", "slt", "$mn", True, True),
)
_BY_NAME = {s.name: s for s in SOURCES}

MFH_FAMILY = frozenset(s.name for s in SOURCES if s.family == "mfh")
MN_FILES = tuple(s.name for s in SOURCES if s.unit == "$mn")  # printed in $mn
# The files a release's panel is built from, the one definition: `check` (live and --data-dir)
# reads them, the poller keeps them (the headline, its companions, the reference files) and hands
# them over, and the bot answers from them. Left out: mfh.txt, the legacy 13 months to 2023-01
# that mfhhis01 holds too (`check --all-files` still reads it).
RELEASE_FILES = tuple(s.name for s in SOURCES if s.in_release)
# Files that show a release after the headline file does.
COMPANIONS = tuple(s.name for s in SOURCES if s.companion)
# Frozen files the panel needs: fetched once when the store lacks them, never a release signal.
REFERENCE = tuple(s.name for s in SOURCES if s.frozen and s.in_release)


def source_label(name: str) -> str:
    """How a message names a file (its own name if it is not in the catalogue)."""
    s = _BY_NAME.get(name)
    return s.label if s else name


def companion_shows(name: str) -> str:
    """How a companion file shows a new release ("month" or "stamp"), "" if it is not one."""
    s = _BY_NAME.get(name)
    return s.companion if s else ""


def family_rank(name: str) -> int:
    """0 for the MFH family, 1 for the other catalogued files, 2 for a file not in the catalogue."""
    s = _BY_NAME.get(name)
    return 2 if s is None else (0 if s.family == "mfh" else 1)


def tie_rank(name: str) -> int:
    """A file's place in the catalogue (unknown files last): breaks a tie in precedence."""
    return [s.name for s in SOURCES].index(name) if name in _BY_NAME else len(SOURCES)


def file_url(base_url: str, name: str) -> str:
    """The URL of a Treasury file in the folder ``base_url`` (with or without its trailing slash)."""
    return (base_url if base_url.endswith("/") else base_url + "/") + name
