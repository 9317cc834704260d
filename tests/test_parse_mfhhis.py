"""MFH history (mfhhis01.txt / .csv): figures, series breaks, n.a., editions, bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.data.parse.mfhhis import parse_mfhhis
from bot.errors import ParseError


def cell(df: pd.DataFrame, entity: str, month: str, series: str = "holdings") -> float:
    hit = df[(df.entity == entity) & (df.series == series) & (df.period == pd.Period(month, "M"))]
    assert len(hit) == 1, (entity, month, series, len(hit))
    return float(hit.value.iloc[0])


@pytest.fixture(scope="module")
def history(real_bytes):
    return parse_mfhhis(real_bytes("mfhhis01.txt"), "mfhhis01.txt")


def test_real_figures(history):
    df = history.frame
    assert cell(df, "Japan", "2022-10") == 1064.4
    assert cell(df, "China, Mainland", "2022-10") == 877.9
    assert cell(df, "Japan", "2022-07") == 1230.7
    assert cell(df, "China, Mainland", "2022-07") == 939.2
    assert cell(df, "Korea, South", "2002-12") == 38.0  # printed as "Korea, South " in 2002
    assert cell(df, "United Kingdom", "2011-12") == 114.3  # printed "United Kingdom 2/"
    assert cell(df, "Foreign Official", "2025-12", "lt_holdings") == 3489.1
    assert cell(df, "Japan", "2025-10") == 1200.0  # printed "1200" in the newest block
    assert history.stamp == "2026-05-18"
    assert df.period.min() == pd.Period("2000-03", "M")
    assert df.period.max() == pd.Period("2025-12", "M")


def test_series_breaks_keep_the_continuing_column(history):
    df = history.frame
    # June 2002: Series III (continuing) 96.5, Series II (for comparison) 81.0 for China.
    assert cell(df, "China, Mainland", "2002-06") == 96.5
    assert cell(df, "China, Mainland", "2002-06", "holdings_prior") == 81.0
    assert cell(df, "Grand Total", "2002-06") == 1123.1
    assert cell(df, "Grand Total", "2002-06", "holdings_prior") == 1097.5
    periods = [str(b.period) for b in history.breaks]
    assert periods == [
        "2000-03",
        "2002-06",
        "2003-06",
        "2004-06",
        "2005-06",
        "2006-06",
        "2007-06",
        "2008-06",
        "2009-06",
        "2010-06",
        "2011-06",
        "2011-12",
    ]
    dec2011 = history.breaks[-1]
    assert dec2011.label == "Series XIII"
    assert dec2011.comparable is False
    assert all(b.comparable for b in history.breaks[:-1])
    # every month appears once as the continuing series
    holdings = df[(df.series == "holdings") & (df.entity == "Grand Total")]
    assert holdings.period.is_unique
    assert len(holdings) == 12 * 25 + 10


def test_na_is_missing_not_zero(history):
    df = history.frame
    lux = df[
        (df.entity == "Luxembourg") & (df.period == pd.Period("2002-05", "M")) & (df.series == "holdings")
    ]
    assert lux.value.isna().all()
    assert len(lux) == 1
    assert cell(df, "Netherlands", "2002-05") == 0.0  # a printed 0.0 stays a zero


def test_comparison_column_mismatch_is_reported_not_fatal(history):
    assert len(history.warnings) == 1
    assert "Grand Total 2006-06" in history.warnings[0]
    assert "old-series comparison column" in history.warnings[0]


def test_csv_twin_is_identical(real_bytes, history):
    twin = parse_mfhhis(real_bytes("mfhhis01.csv"), "mfhhis01.csv")
    a = history.frame.drop(columns="source").reset_index(drop=True)
    b = twin.frame.drop(columns="source").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert twin.breaks == history.breaks


def test_march_edition_differs_in_76_cells(history):
    from conftest import MARCH_EDITION

    path = MARCH_EDITION / "mfhhis01.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    march = parse_mfhhis(path.read_bytes(), "mfhhis01.txt")
    assert march.stamp == "2026-03-18"  # printed 3/18/26
    keys = ["entity", "series", "period"]
    m = march.frame.merge(history.frame, on=keys, suffixes=("_mar", "_may"))
    changed = m[(m.value_mar != m.value_may) & ~(m.value_mar.isna() & m.value_may.isna())]
    assert len(changed) == 76
    assert set(changed.period.dt.year) == {2025}
    uk = changed[(changed.entity == "United Kingdom") & (changed.period == pd.Period("2025-12", "M"))]
    assert float(uk.value_mar.iloc[0]) == 866.0
    assert float(uk.value_may.iloc[0]) == 863.1


def mutate(data: bytes, old: bytes, new: bytes, count: int = 1) -> bytes:
    assert old in data
    return data.replace(old, new, count)


def test_bad_inputs(real_bytes):
    data = real_bytes("mfhhis01.txt")
    cases = {
        "non-numeric": (
            mutate(data, b"Japan\t1185.5", b"Japan\t11B5.5"),
            "line 10: expected a number for Japan 2025-12",
        ),
        "total": (
            mutate(data, b"Grand Total\t9267.2", b"Grand Total\t9367.2"),
            "Grand Total 2025-12 equal to the sum of its rows",
        ),
        "no-footer": (data[: data.index(b"Department of the Treasury")], "date stamp (file truncated?)"),
        "no-grand-total": (
            mutate(data, b"Grand Total\t9267.2", b"Grand Totl\t9267.2"),
            "a 'Grand Total' row in the 2025 block (file truncated?)",
        ),
        "short-row": (mutate(data, b"Japan\t1185.5\t1202.7", b"Japan\t1185.5\t\t"), "12 values for 'Japan'"),
        "duplicate-year": (
            mutate(data, b"Country" + b"\t2024" * 12, b"Country" + b"\t2025" * 12),
            "each month in one block only",
        ),
        "missing-header": (
            mutate(data, b"\tDec\tNov\tOct\tSep", b"\tDez\tNov\tOct\tSep"),
            "a line of month names above the 'Country' line",
        ),
        "reordered": (
            mutate(data, b"\tDec\tNov\tOct\tSep", b"\tNov\tDec\tOct\tSep"),
            "months newest first, one month apart",
        ),
        "html": (b"<html><body>404 Not Found</body></html>", "not an HTML page"),
    }
    for name, (bad, message) in cases.items():
        with pytest.raises(ParseError) as err:
            parse_mfhhis(bad, "mfhhis01.txt")
        assert message in str(err.value), (name, str(err.value))


def test_truncated_mid_table(real_bytes):
    data = real_bytes("mfhhis01.txt")
    cut = data[: data.index(b"Country\t2003")] + b"\r\n"
    with pytest.raises(ParseError, match="footer"):
        parse_mfhhis(cut, "mfhhis01.txt")
