"""Every flow event's figure recomputed straight from the raw lines of the Treasury's files,
independently of the parsers and the panel: 20 events sampled from the replay (Form S months and
SLT Table 1 months, net buying and net selling, several assets), each summed from the printed $mn
cells of its holder (a group: of its members) over its months. Exact: the printed cells are whole
$mn and the panel's windows are rounded to 1e-6 $bn, so the tolerance is 1e-6 $bn."""

from __future__ import annotations

import pandas as pd
import pytest

TOLERANCE_BN = 1e-6
# Form S (s1_globl.txt): foreigners' gross purchases [1]..[6] and gross sales [7]..[12]; U.S.
# residents' net purchases of foreign securities are foreigners' sales less their purchases
FORM_S = {
    "agency": ((2,), (8,)),
    "corporate": ((3,), (9,)),
    "equity": ((4,), (10,)),
    "total_lt": ((1, 2, 3, 4), (7, 8, 9, 10)),
    "foreign_bonds": ((11,), (5,)),
    "foreign_stocks": ((12,), (6,)),
}
TABLE_1 = {"total_lt": 4, "agency": 10, "corporate": 13, "equity": 16}  # the Net U.S. Sales columns
CODES = {"99996": "Grand Total", "99990": "Foreign Official", "99991": "Foreign Non-Official"}


def _mn(cell: str) -> float | None:
    text = cell.strip().strip('"').replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None  # n.a., blank


def _raw(tic_dir) -> dict[tuple[str, str, str], float]:
    """(holder, asset, YYYY-MM) → $mn of net purchases, from both files' lines split on tabs."""
    out: dict[tuple[str, str, str], float] = {}
    for line in (tic_dir / "s1_globl.txt").read_text(encoding="latin-1").splitlines():
        cells = line.split("\t")
        if len(cells) < 15 or not cells[2].strip()[:4].isdigit() or not cells[1].strip().isdigit():
            continue
        name = CODES.get(cells[1].strip(), cells[0].strip().strip('"'))
        values = [_mn(c) for c in cells[3:15]]
        for asset, (bought, sold) in FORM_S.items():
            parts = [values[i - 1] for i in bought] + [values[i - 1] for i in sold]
            if None not in parts:
                total = sum(values[i - 1] for i in bought) - sum(values[i - 1] for i in sold)  # type: ignore[misc]
                out[(name, asset, cells[2].strip())] = total
    for line in (tic_dir / "slt_table1.txt").read_text(encoding="latin-1").splitlines():
        cells = line.split("\t")
        if len(cells) < 18 or not cells[2].strip()[:4].isdigit() or not cells[1].strip().isdigit():
            continue
        name = CODES.get(cells[1].strip(), cells[0].strip().strip('"'))
        for asset, column in TABLE_1.items():
            v = _mn(cells[column])
            if v is not None and cells[2].strip() >= "2023-02":  # Form S until it froze
                out[(name, asset, cells[2].strip())] = v
    return out


def _sum(raw, names, asset, start, end) -> float | None:
    total = 0.0
    for month in pd.period_range(start, end, freq="M"):
        for name in names:
            v = raw.get((name, asset, str(month)))
            if v is None:
                return None
            total += v
    return total / 1000.0


@pytest.fixture(scope="module")
def raw(tic_dir):
    return _raw(tic_dir)


def _sample(history, real_panel, raw) -> list:
    groups = {g.name: g.members for g in real_panel.groups}
    flows = [x for e in history for x in (e, *e.members) if x.asset != "treasury"]
    found = [
        e for e in flows if _sum(raw, groups.get(e.entity, (e.entity,)), e.asset, e.start, e.end) is not None
    ]
    picked = []
    for source in ("Form S", "SLT Table 1"):
        for sign in (-1, 1):
            pool = sorted(
                (
                    e
                    for e in found
                    if (e.end <= "2023-01") == (source == "Form S")
                    and (e.start >= "2023-02" or source == "Form S")
                    and sign * e.value > 0
                ),
                key=lambda e: (e.asset, e.end, e.entity, e.rule),
            )
            step = max(1, len(pool) // 5)
            picked += pool[::step][:5]
    return picked


def test_runs_across_the_switch_from_form_s_to_table_1_equal_the_raw_lines(history, real_panel, raw):
    """A run of buying that starts in Form S months and goes on in SLT Table 1 months (the Grand
    Total's all long-term securities, Aug 2022 → Mar 2023): its figure is the two files' lines."""
    groups = {g.name: g.members for g in real_panel.groups}
    crossing = [
        x for e in history for x in (e, *e.members) if x.asset != "treasury" and x.start <= "2023-01" < x.end
    ]
    assert crossing
    for e in crossing:
        names = groups.get(e.entity, (e.entity,))
        assert e.value == pytest.approx(_sum(raw, names, e.asset, e.start, e.end), abs=TOLERANCE_BN), e.key


def test_twenty_flow_events_equal_the_raw_lines(history, real_panel, raw):
    picked = _sample(history, real_panel, raw)
    assert len(picked) == 20
    assert {e.asset for e in picked} >= {"total_lt", "equity"}
    assert {e.end <= "2023-01" for e in picked} == {True, False}  # both sources
    assert {e.value > 0 for e in picked} == {True, False}  # both signs
    groups = {g.name: g.members for g in real_panel.groups}
    for e in picked:
        names = groups.get(e.entity, (e.entity,))
        assert e.value == pytest.approx(_sum(raw, names, e.asset, e.start, e.end), abs=TOLERANCE_BN), e.key
