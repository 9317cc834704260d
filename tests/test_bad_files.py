"""Issue 9: never a wrong alert from a bad file. Each case of the issue, built from the real files
by a small generator at test time (the files are read by path, never copied), and a small fuzz run."""

from __future__ import annotations

import contextlib
import importlib.util
import re
import time
from pathlib import Path

import pytest
from conftest import ROOT

from bot.config import load_settings
from bot.data.load import check_release_months, panel_from_bytes
from bot.data.panel import build_panel
from bot.data.parse import PARSERS, parse_file
from bot.errors import ParseError
from bot.rules.catalogue import load_rules
from bot.rules.release import evaluate

GROUPS = load_settings(env={}).groups
# A panel and its rules per case, ~1-3 s each: the first case of each table stays in the everyday
# run (`pytest -m "not slow"`), the others are `slow`.
SLOW = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tic_dir: Path) -> dict[str, bytes]:
    return {n: (tic_dir / n).read_bytes() for n in PARSERS}


@pytest.fixture(scope="module")
def base_events(files):
    return {(e.rule, e.entity) for e in evaluate(panel_from_bytes(files, GROUPS), load_rules(GROUPS))}


def _line_index(data: bytes, startswith: bytes) -> int:
    lines = data.split(b"\n")
    return next(i for i, line in enumerate(lines) if line.startswith(startswith))


def _edit_line(data: bytes, startswith: bytes, edit) -> bytes:
    lines = data.split(b"\n")
    i = _line_index(data, startswith)
    lines[i] = edit(lines[i])
    return b"\n".join(lines)


def _swap_cells(line: bytes, a: int, b: int, sep: bytes = b"\t") -> bytes:
    end = b"\r" if line.endswith(b"\r") else b""
    cells = line.removesuffix(end).split(sep)
    cells[a], cells[b] = cells[b], cells[a]
    return sep.join(cells) + end


def _swap_month_columns(data: bytes, a: int, b: int) -> bytes:
    """Table 5 with the values of month columns a and b swapped in every row (header kept)."""
    lines = data.split(b"\n")
    header = _line_index(data, b"Country\t")
    for i in range(header + 1, len(lines)):
        if not lines[i].split(b"\t")[0].strip():
            break
        lines[i] = _swap_cells(lines[i], a, b)
    return b"\n".join(lines)


# --- A hang: no parser is super-linear in its input -------------------------------------------

PATHOLOGICAL_TOKENS = ["-", "2/", "1209.9x", "1,2,3", "n.a", "....", "-1-1-1-1"]


@pytest.mark.parametrize("token", PATHOLOGICAL_TOKENS)
def test_mfh_legacy_odd_token_fails_fast(files, token):
    japan = _edit_line(
        files["mfh.txt"], b"Japan", lambda line: line.rstrip(b"\r") + b" " + token.encode() + b"\r"
    )
    t = time.perf_counter()
    with pytest.raises(ParseError, match="a label and 13 values"):
        parse_file("mfh.txt", japan)
    assert time.perf_counter() - t < 0.5


def test_mfh_legacy_every_row_odd_is_still_linear(files):
    def odd(line: bytes) -> bytes:
        return re.sub(rb"(\d) ", rb"\1- ", line)

    lines = files["mfh.txt"].split(b"\n")
    data = b"\n".join(odd(line) if re.search(rb"\d+\.\d", line) else line for line in lines)
    t = time.perf_counter()
    with pytest.raises(ParseError):
        parse_file("mfh.txt", data)
    assert time.perf_counter() - t < 0.5


@pytest.mark.parametrize("name", list(PARSERS))
def test_every_parser_is_linear_on_a_pathological_row(files, name):
    data = files[name]
    row = data.split(b"\n")[_first_data_line(data)]
    sep = b"," if name.endswith(".csv") else (b" " if name == "mfh.txt" else b"\t")
    long_row = row.rstrip(b"\r") + (sep + b"1.1") * 3000 + b" -2/x\r"
    for bad in (long_row, b"9" * 200_000 + b"\r", b"1 " * 50_000 + b"-\r"):
        lines = data.split(b"\n")
        i = _first_data_line(data)
        mutated = b"\n".join([*lines[:i], bad, *lines[i + 1 :]])
        t = time.perf_counter()
        with contextlib.suppress(ParseError):
            parse_file(name, mutated)
        assert time.perf_counter() - t < 2.0, (name, bad[:40])


def _first_data_line(data: bytes) -> int:
    return next(
        i
        for i, line in enumerate(data.split(b"\n"))
        if len(re.findall(rb"\d+\.?\d*", line)) >= 3 and re.match(rb'\s*"?[A-Z]', line)
    )


# --- Table 5: swapped month columns, swapped labels, a label typo -----------------------------


@pytest.mark.parametrize(
    ("a", "b"), [(1, 2), *(pytest.param(*ab, marks=SLOW) for ab in [(1, 13), (5, 6), (2, 9)])]
)
def test_table5_month_columns_swapped_are_suspect_and_fire_nothing_new(files, base_events, a, b):
    mutated = {**files, "slt_table5.txt": _swap_month_columns(files["slt_table5.txt"], a, b)}
    panel = panel_from_bytes(mutated, GROUPS)
    assert not panel.suspect.empty
    assert set(panel.suspect["source_other"]) | set(panel.suspect["source_kept"]) >= {"slt_table5.txt"}
    events = {(e.rule, e.entity) for e in evaluate(panel, load_rules(GROUPS))}
    assert events <= base_events, events - base_events


def test_table5_japan_and_china_labels_swapped_are_suspect(files, base_events):
    data = (
        files["slt_table5.txt"]
        .replace(b"\nJapan\t", b"\nCHINA\t")
        .replace(b"\nChina, Mainland\t", b"\nJapan\t")
    )
    data = data.replace(b"\nCHINA\t", b"\nChina, Mainland\t")
    panel = panel_from_bytes({**files, "slt_table5.txt": data}, GROUPS)
    assert {"Japan", "China, Mainland"} <= set(panel.suspect["entity"])
    assert {"Japan", "China, Mainland", "Japan + China"} <= panel.suspect_entities()
    events = {(e.rule, e.entity) for e in evaluate(panel, load_rules(GROUPS))}
    assert events <= base_events, events - base_events
    assert not any(e[1] in ("Japan", "China, Mainland", "Japan + China") for e in events)


@pytest.mark.parametrize("typo", ["B–elgium", "Belgiun", "Belgim", "Belgium*", "Luxemburg"])
def test_table5_label_typo_is_a_parse_error(files, typo):
    label = b"Luxembourg" if typo.startswith("Lux") else b"Belgium"
    data = files["slt_table5.txt"].replace(b"\n" + label + b"\t", b"\n" + typo.encode() + b"\t")
    with pytest.raises(ParseError, match="a known entity name"):
        parse_file("slt_table5.txt", data)


def test_an_unknown_new_label_is_a_warning_not_a_second_country(files):
    data = files["slt_table5.txt"].replace(b"\nLuxembourg\t", b"\nNew Atlantis\t")
    parsed = parse_file("slt_table5.txt", data)
    assert any("unknown entity 'New Atlantis'" in w for w in parsed.warnings)
    assert not parse_file("slt_table5.txt", files["slt_table5.txt"]).warnings


# --- Table 3 and mfhhis01 identities ----------------------------------------------------------


@pytest.mark.parametrize("column", [3, 4, 5, 6, 8, 9])  # every column but the valuation change
@pytest.mark.parametrize("factor", [10, 11])
def test_table3_one_figure_scaled_is_a_parse_error(files, column, factor):
    def scale(line: bytes) -> bytes:
        cells = line.split(b"\t")
        cells[column] = str(int(cells[column].replace(b",", b"")) * factor).encode()
        return b"\t".join(cells)

    data = _edit_line(files["slt_table3.txt"], b"Of Which: Foreign Official\t99990\t2026-03", scale)
    with pytest.raises(ParseError, match="within"):
        parse_file("slt_table3.txt", data)


@pytest.mark.parametrize(  # all but Table 3's columns
    "column", [3, *(pytest.param(c, marks=SLOW) for c in [4, 5, 9, 10, 12, 13, 15, 16, 17])]
)
@pytest.mark.parametrize("row", [b"Of Which: Foreign Official\t99990\t2026-03", b"Japan\t42609\t2025-11"])
def test_table1_one_figure_scaled_is_withheld_with_a_warning(files, base_events, column, row):
    """slt_table1.txt: a slipped digit breaks a sum (types = total, Official + Non-Official =
    Grand Total): the cells are suspect, the entity fires nothing, the panel says why."""

    def scale(line: bytes) -> bytes:
        cells = line.split(b"\t")
        value = int(cells[column])
        cells[column] = str(value * 10 if value else 1000).encode()
        return b"\t".join(cells)

    data = _edit_line(files["slt_table1.txt"], row, scale)
    panel = panel_from_bytes({**files, "slt_table1.txt": data}, GROUPS)
    assert not panel.suspect.empty
    assert any(w.startswith("slt_table1.txt:") and "withheld" in w for w in panel.warnings)
    events = {(e.rule, e.entity) for e in evaluate(panel, load_rules(GROUPS))}
    assert events <= base_events, events - base_events


def test_table1_treasuries_unlike_table3_are_suspect(files):
    def scale(line: bytes) -> bytes:
        cells = line.split(b"\t")
        cells[7] = str(int(cells[7]) * 2).encode()  # for_lt_treas_net
        cells[4] = str(int(cells[4]) + int(cells[7]) // 2).encode()  # the total follows: sums still hold
        return b"\t".join(cells)

    data = _edit_line(files["slt_table1.txt"], b"China, Mainland\t41408\t2026-03", scale)
    panel = panel_from_bytes({**files, "slt_table1.txt": data}, GROUPS)
    assert set(panel.suspect["source_kept"]) == {"slt_table3.txt"}
    assert set(panel.suspect["entity"]) >= {"China, Mainland"}
    assert "Japan + China" in panel.suspect_entities()


@pytest.mark.parametrize("name", ["mfhhis01.txt", "mfhhis01.csv"])
@pytest.mark.parametrize("how", ["negative", "changed"])
def test_mfhhis_foreign_official_rows_are_checked(files, name, how):
    sep = b"," if name.endswith(".csv") else b"\t"
    data = files[name]
    lines = data.split(b"\n")
    i = next(
        i for i, line in enumerate(lines) if line.strip().strip(b'"').lower().startswith(b"treasury bills")
    )
    cells = lines[i].split(sep)
    value = cells[1].strip().strip(b'"')
    cells[1] = b"-" + value if how == "negative" else str(round(float(value) * 11, 1)).encode()
    lines[i] = sep.join(cells)
    with pytest.raises(ParseError, match="Foreign Official"):
        parse_file(name, b"\n".join(lines))


# --- slt3d_globl.csv: doubled CRs, a far-future month -----------------------------------------


def test_slt3d_doubled_carriage_returns_keep_every_row(files):
    data = files["slt3d_globl.csv"]
    assert b"\r\n" in data
    doubled = parse_file("slt3d_globl.csv", data.replace(b"\r\n", b"\r\r\n"))
    assert len(doubled.frame) == len(parse_file("slt3d_globl.csv", data).frame) == 51_702


def test_slt3d_a_blank_line_inside_the_data_is_an_error(files):
    data = files["slt3d_globl.csv"]
    i = data.index(b'"Luxembourg",11703,"2023-01"')
    with pytest.raises(ParseError, match="no blank line inside the data"):
        parse_file("slt3d_globl.csv", data[:i] + b"\r\n" + data[i:])


def test_slt3d_a_far_future_month_is_an_error(files):
    data = files["slt3d_globl.csv"].replace(b'"Luxembourg",11703,"2014-08"', b'"Luxembourg",11703,"2114-08"')
    with pytest.raises(ParseError, match="2114-08"):
        parse_file("slt3d_globl.csv", data)


def test_a_month_after_the_release_is_an_error(files):
    parsed = [parse_file(n, d) for n, d in files.items()]
    check_release_months(parsed)  # the real files are consistent
    t3 = next(p for p in parsed if p.name == "slt_table3.txt")
    t3.frame.loc[t3.frame.index[0], "period"] = parsed[0].frame["period"].max() + 1
    with pytest.raises(ParseError, match="data months up to the release's 2026-04"):
        check_release_months(parsed)


def test_the_real_files_have_no_suspect_cell_and_no_entity_warning(files):
    panel = build_panel([parse_file(n, d) for n, d in files.items()], GROUPS)
    assert panel.suspect.empty
    assert not [w for w in panel.warnings if "unknown entity" in w]


# --- a small fuzz run: never a changed release without an error or a flag ---------------------


@pytest.mark.slow  # bench/fuzz.py: panels of mutated files
def test_small_fuzz_run_has_no_wrong_alert_no_hang_no_crash(tic_dir):
    spec = importlib.util.spec_from_file_location("bench_fuzz", ROOT / "bench" / "fuzz.py")
    assert spec
    assert spec.loader
    fuzz = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fuzz)
    results = fuzz.fuzz(tic_dir, count=6, seed=1)
    for name, counts in results.items():
        assert sum(counts.values()) == 6, name
        assert counts["WRONG"] == counts["hang"] == counts["crash"] == 0, (name, dict(counts))


def test_backtest_skips_suspect_entities_too(files):
    from bot.rules.backtest import backtest

    data = (
        files["slt_table5.txt"]
        .replace(b"\nJapan\t", b"\nCHINA\t")
        .replace(b"\nChina, Mainland\t", b"\nJapan\t")
    )
    data = data.replace(b"\nCHINA\t", b"\nChina, Mainland\t")
    panel = panel_from_bytes({**files, "slt_table5.txt": data}, GROUPS)
    events = backtest(panel, load_rules(GROUPS), "2025-01")
    assert not [e for e in events if e.entity in ("Japan", "China, Mainland", "Japan + China")]


def test_the_poller_raises_an_operator_event_for_suspect_cells_or_an_unknown_entity(files):
    import datetime as dt

    from poll_helpers import make_poller

    from bot.store.state import Store

    data = (
        files["slt_table5.txt"]
        .replace(b"\nJapan\t", b"\nCHINA\t")
        .replace(b"\nChina, Mainland\t", b"\nJapan\t")
    )
    data = data.replace(b"\nCHINA\t", b"\nChina, Mainland\t").replace(b"\nLuxembourg\t", b"\nNew Atlantis\t")
    panel = panel_from_bytes({"slt_table5.txt": data, "slt_table3.txt": files["slt_table3.txt"]}, GROUPS)
    poller, rec = make_poller(
        Store(":memory:"), "http://127.0.0.1:9/", lambda: dt.datetime(2026, 6, 18, 20, tzinfo=dt.UTC)
    )
    poller._data_doubts("2026-04", panel)
    poller._data_doubts("2026-04", panel)  # once per release and set of doubts
    assert [e.kind for e in rec.events] == ["data"]
    assert "unknown entity 'New Atlantis'" in rec.events[0].message
    assert "suspect" in rec.events[0].message
