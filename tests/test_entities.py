"""Label variants map to one canonical entity; rows are matched by meaning, not position."""

from __future__ import annotations

import pytest

from bot.data.entities import EntityNames, canonical_name, canonical_row, is_country, known_countries


@pytest.mark.parametrize(
    ("label", "entity"),
    [
        ('"China, Mainland"', "China, Mainland"),
        ("China, Mainland", "China, Mainland"),
        ("china", "China, Mainland"),
        ("Korea", "Korea, South"),
        ('"Korea, South "', "Korea, South"),
        ("Korea, South", "Korea, South"),
        ("United Kingdom 2/", "United Kingdom"),
        ("uk", "United Kingdom"),
        ("Belgium  5/", "Belgium"),
        ("Spain ", "Spain"),
        ("Carib Bnkng Ctrs 4/", "Caribbean Banking Centers"),
        ("Oil Exporters 3/", "Oil Exporters"),
        ("Belgium-Luxembourg ", "Belgium-Luxembourg"),
        ("Holy See (Vatican City)", "Holy See (Vatican City)"),
    ],
)
def test_canonical_names(label: str, entity: str):
    assert canonical_name(label) == entity


@pytest.mark.parametrize(
    ("label", "row"),
    [
        ("Of Which: Foreign Official", ("Foreign Official", "holdings")),
        ("For. Official", ("Foreign Official", "holdings")),
        ("  For. Official", ("Foreign Official", "holdings")),
        ("Of which Foreign Official", ("Foreign Official", "holdings")),
        ("Of Which: Foreign Official Treasury Bills", ("Foreign Official", "st_holdings")),
        ("Of Which: Foreign Official T-Bonds & Notes", ("Foreign Official", "lt_holdings")),
        ("Japan", ("Japan", "holdings")),
    ],
)
def test_official_rows(label: str, row: tuple[str, str]):
    assert canonical_row(label) == row


def test_is_country():
    assert is_country("Japan")
    assert is_country("Cayman Islands")
    for aggregate in [
        "Grand Total",
        "Foreign Official",
        "Total Europe",
        "Memo: Euro Area",
        "All Other (Table 5 roster)",
        "All Countries",
        "Oil Exporters",
    ]:
        assert not is_country(aggregate)


NAMES = EntityNames(
    ["Japan + China", "Custody centres", "Grand Total", "Foreign Official", *sorted(known_countries())]
)


@pytest.mark.parametrize(
    ("typed", "entity"),
    [
        ("japan", "Japan"),
        ("JAPAN", "Japan"),
        ("Japan", "Japan"),
        ("  japan ", "Japan"),
        ("japan+china", "Japan + China"),
        ("Japan  +China", "Japan + China"),
        ("china", "China, Mainland"),
        ("uk", "United Kingdom"),
        ("UK", "United Kingdom"),
        ("korea", "Korea, South"),
        ("hk", "Hong Kong"),
        ("uae", "United Arab Emirates"),
        ("custody CENTRES", "Custody centres"),
        ("grand total", "Grand Total"),
        ("foreign official", "Foreign Official"),
        ("United Kingdom 2/", "United Kingdom"),
    ],
)
def test_names_people_type_resolve(typed: str, entity: str):
    assert NAMES.resolve(typed) == entity


@pytest.mark.parametrize("typed", ["Atlantis", "", "japan china", "@major", "x" * 500])
def test_unknown_names_resolve_to_none(typed: str):
    assert NAMES.resolve(typed) is None


def test_suggestions_for_near_misses():
    assert NAMES.suggest("japn")[0] == "Japan"
    assert NAMES.suggest("swizerland")[0] == "Switzerland"
    assert "Belgium" in NAMES.suggest("belgum")
    assert NAMES.suggest("zzzzqqq") == []
    assert NAMES.suggest("") == []
