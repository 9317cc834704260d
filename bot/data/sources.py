"""The catalogue of Treasury TIC files tic-alert reads: what each holds and whether it still moves."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """A Treasury file by its Treasury name."""

    name: str
    description: str
    unit: str  # "$bn" or "$mn" as printed; the parsers always return $bn
    frozen: bool  # a frozen file still answers 200 but never changes: never a release signal
    needed_for_check: bool  # fetched by `tic-alert check` when no data dir is given


HEADLINE = "slt_table5.txt"  # the release signal: its newest month is the release's identity

SOURCES: tuple[Source, ...] = (
    Source(HEADLINE, "SLT Table 5, Major Foreign Holders, 13 months", "$bn", False, True),
    Source("mfhhis01.txt", "MFH history 2000 → last full year", "$bn", False, True),
    Source(
        "slt_table3.txt", "Treasuries by country: holdings, net transactions, valuation", "$mn", False, True
    ),
    Source("s1_globl.txt", "Form S gross purchases/sales by country 1977-2023", "$mn", True, True),
    Source("mfhhis01.csv", "MFH history, comma-delimited twin of mfhhis01.txt", "$bn", False, False),
    Source("mfh.txt", "legacy fixed-width MFH, 13 months to 2023-01", "$bn", True, False),
    Source("slt3d_globl.csv", "country Treasury holdings total/long/short 2011-2023", "$mn", True, False),
)
BY_NAME = {s.name: s for s in SOURCES}


def file_url(base_url: str, name: str) -> str:
    """The URL of a Treasury file in the folder ``base_url`` (with or without its trailing slash)."""
    return (base_url if base_url.endswith("/") else base_url + "/") + name
