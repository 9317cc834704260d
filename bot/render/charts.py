"""The release's charts as PNG bytes, made with matplotlib's Figure API (no pyplot: no global state).

* :func:`holdings_chart`: one entity's holdings over about five years, the flagged window shaded
  and the move annotated with its rank in history.
* :func:`changes_chart`: 3-month changes by major holder, as horizontal bars.
* :func:`flow_chart`: one holder's monthly net flows of an asset as bars, its record marked, the
  12-month sum as a line, the Form S → SLT Table 1 switch dashed.

Both are pure: data in, bytes out; :func:`release_charts` picks the data from a panel, a summary
and the events of a release.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.data.entities import HOLDINGS
from bot.data.panel import Panel
from bot.render.stories import headline, rank_phrase
from bot.render.summary import ReleaseSummary
from bot.rules.events import Event
from bot.rules.kinds import KINDS, Claim

WIDTH, HEIGHT, DPI = 800, 450, 100
DOWN_COLOUR, UP_COLOUR, LINE_COLOUR, SHADE_COLOUR = "#c0392b", "#2e86c1", "#1b2631", "#f5b041"
BUY_COLOUR = "#27ae60"  # a flow chart's buying bars (selling: DOWN_COLOUR)
DEFAULT_ENTITY = "Japan + China"


def _plain(text: str) -> str:
    """Text shown literally: matplotlib would read $…$ as math."""
    return text.replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, pil_kwargs={"compress_level": 3})
    return buf.getvalue()


def holdings_chart(
    levels: pd.Series,
    title: str,
    shade: tuple[pd.Period, pd.Period] | None = None,
    note: str | None = None,
) -> bytes:
    """Holdings ($bn) by month-end, the window ``shade`` (from end-start to end-end) highlighted."""
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    ax = fig.subplots()
    levels = levels.dropna()
    x = levels.index.to_timestamp(how="end") if len(levels) else []
    ax.plot(x, levels.to_numpy(), color=LINE_COLOUR, linewidth=1.8)
    if shade is not None and len(levels):
        lo, hi = (p.to_timestamp(how="end") for p in shade)
        ax.axvspan(lo, hi, color=SHADE_COLOUR, alpha=0.35, linewidth=0)
        if shade[1] in levels.index:
            ax.plot([hi], [levels[shade[1]]], "o", color=DOWN_COLOUR, markersize=6)
    if shade is not None and shade[1] in levels.index and shade[0] in levels.index:
        change = levels[shade[1]] - levels[shade[0]]
        ax.annotate(
            f"{change:+,.1f}",
            (shade[1].to_timestamp(how="end"), levels[shade[1]]),
            xytext=(-8, 10),
            textcoords="offset points",
            ha="right",
            fontsize=9,
            color=DOWN_COLOUR if change < 0 else UP_COLOUR,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
    ax.set_title(_plain(title), fontsize=11, loc="left")
    ax.set_ylabel(r"\$bn")
    ax.grid(True, alpha=0.3)
    # a fixed layout: tight_layout measures every label and costs more than drawing the chart
    lines = note.count("\n") + 1 if note else 0
    fig.subplots_adjust(left=0.09, right=0.97, top=0.92, bottom=0.1 + 0.04 * lines)
    if note:
        fig.text(0.01, 0.015, _plain(note), fontsize=8.5, va="bottom", ha="left")
    return _png(fig)


def changes_chart(changes: Sequence[tuple[str, float]], title: str) -> bytes:
    """Horizontal bars of changes ($bn), largest holder first (top of the chart)."""
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    ax = fig.subplots()
    names = [_plain(n) for n, _ in changes][::-1]
    values = [v for _, v in changes][::-1]
    colours = [DOWN_COLOUR if v < 0 else UP_COLOUR for v in values]
    ax.barh(range(len(values)), values, color=colours)
    ax.set_yticks(range(len(values)), names, fontsize=8.5)
    ax.axvline(0, color=LINE_COLOUR, linewidth=0.8)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:+,.1f} ", va="center", ha="left" if v >= 0 else "right", fontsize=7.5)
    ax.set_title(_plain(title), fontsize=11, loc="left")
    ax.set_xlabel(r"\$bn")
    ax.grid(True, axis="x", alpha=0.3)
    ax.margins(x=0.15)
    fig.subplots_adjust(left=0.2, right=0.97, top=0.92, bottom=0.12)
    return _png(fig)


@dataclass(frozen=True)
class FlowChart:
    """A flow chart and what it marked: the holder's record month (the largest monthly net flow
    either way, in all its history to ``last``), whether that bar is on the chart, the month the
    source switched from Form S to SLT Table 1 (None: not on the chart), and the months of the
    chart with no figure (a gap, never filled in)."""

    png: bytes
    record: pd.Period
    record_value: float
    record_shown: bool
    switch: pd.Period | None
    missing: tuple[pd.Period, ...]
    first: pd.Period
    last: pd.Period


def flow_chart(
    flows: pd.Series, title: str, last: pd.Period, years: int, sources: pd.Series | None = None
) -> FlowChart | None:
    """Monthly net flows ($bn, > 0 = bought) over the ``years`` to ``last`` as green (buying) and
    red (selling) bars, the record month marked and annotated, the 12-month rolling sum as a line
    (right axis; a month missing breaks it), and the Form S → SLT Table 1 switch as a dashed line
    (``sources``: each month's file). ``flows`` is the whole history (the record and the first
    rolling sums look before the chart). None when the chart would have no bar."""
    flows = flows.dropna().sort_index()
    if flows.empty:
        return None
    flows = flows[flows.index <= last]
    first = last - 12 * years + 1
    months = pd.period_range(first, last, freq="M")
    shown = flows[flows.index >= first]
    if shown.empty:  # (no month before ``last`` either: nothing to rank)
        return None
    full = flows.reindex(pd.period_range(min(flows.index[0], first), last, freq="M"))  # gaps stay NaN
    rolling = full.rolling(12, min_periods=12).sum().reindex(months)
    record = flows.abs().idxmax()
    switch = _switch(sources, first, last)
    fig = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    ax = fig.subplots()
    x = shown.index.to_timestamp(how="start") + pd.Timedelta(days=15)
    colours = [BUY_COLOUR if v >= 0 else DOWN_COLOUR for v in shown.to_numpy()]
    bars = ax.bar(x, shown.to_numpy(), width=25 if years <= 10 else 28, color=colours, linewidth=0)
    ax.axhline(0, color=LINE_COLOUR, linewidth=0.8)
    record_shown = record in shown.index
    if record_shown:
        bar = bars[shown.index.get_loc(record)]
        bar.set_edgecolor(LINE_COLOUR)
        bar.set_linewidth(1.2)
        value = flows[record]
        ax.annotate(
            f"record: {_bn(value)} ({record.strftime('%b %Y')})",
            (x[shown.index.get_loc(record)], value),
            xytext=(0, 8 if value >= 0 else -8),
            textcoords="offset points",
            ha="center",
            va="bottom" if value >= 0 else "top",
            fontsize=9,
            fontweight="bold",
            color=BUY_COLOUR if value >= 0 else DOWN_COLOUR,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
        )
        ax.margins(y=0.15)
    line = ax.twinx()
    line.plot(months.to_timestamp(how="start") + pd.Timedelta(days=15), rolling.to_numpy(), color=LINE_COLOUR)
    line.set_ylabel(r"12-month sum, \$bn", fontsize=8.5)
    ax.set_xlim(first.to_timestamp(how="start"), (last + 1).to_timestamp(how="start"))
    _align_zero(ax, line)
    if switch is not None:
        ax.axvline(switch.to_timestamp(how="start"), color=LINE_COLOUR, linestyle="--", linewidth=1)
    ax.set_title(_plain(title), fontsize=11, loc="left")
    ax.set_ylabel(r"monthly, \$bn")
    ax.grid(True, axis="y", alpha=0.3)
    note = _flow_note(flows, last, record, record_shown, shown, sources, switch)
    fig.subplots_adjust(left=0.09, right=0.91, top=0.92, bottom=0.1 + 0.04 * (note.count("\n") + 1))
    fig.text(0.01, 0.015, _plain(note), fontsize=8.5, va="bottom", ha="left")
    missing = tuple(m for m in months if m not in flows.index and m >= shown.index[0])
    return FlowChart(_png(fig), record, float(flows[record]), record_shown, switch, missing, first, last)


def _bn(value: float) -> str:
    """A $bn figure with a sign: one decimal, three below 1bn (a small holder's record)."""
    return f"{value:+,.1f}" if abs(value) >= 1 else f"{value:+.3f}"


def _align_zero(a: Axes, b: Axes) -> None:
    """Both y axes' zero at one height (a bar and the line meet at 0), the ranges only widened."""
    limits = [a.get_ylim(), b.get_ylim()]
    heights = [min(max(-lo / (hi - lo), 0.0), 1.0) if hi > lo else 0.5 for lo, hi in limits]
    zero = min(max(heights), 0.9)
    for axis, (lo, hi) in zip((a, b), limits):
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        now = -lo / (hi - lo) if hi > lo else zero
        if now < zero:
            lo = -zero * hi / (1 - zero)
        elif now > zero:  # only when ``zero`` was capped: zero > 0
            hi = -lo * (1 - zero) / zero
        axis.set_ylim(lo, hi)


def _family(source: str) -> str:
    return "Form S" if source.startswith("s1_") else "SLT Table 1" if "table1" in source else source


def _switch(sources: pd.Series | None, first: pd.Period, last: pd.Period) -> pd.Period | None:
    """The first month from SLT Table 1 after one from Form S, when it is on the chart."""
    if sources is None or sources.empty:
        return None
    families = sources.sort_index().map(_family)
    for (_, before), (month, now) in zip(families.items(), list(families.items())[1:]):
        if before == "Form S" and now == "SLT Table 1" and first < month <= last:
            return month
    return None


def _flow_note(
    flows: pd.Series,
    last: pd.Period,
    record: pd.Period,
    record_shown: bool,
    shown: pd.Series,
    sources: pd.Series | None,
    switch: pd.Period | None,
) -> str:
    """The chart's foot: what the bars and line are, the source(s), the record when off the chart."""
    lines = ["Bars: net purchases (green) or sales (red) each month; line: 12-month sum (right axis)."]
    extra = []
    if shown.index[-1] < last:
        extra.append(f"No figure after {shown.index[-1].strftime('%b %Y')}.")
    if not record_shown:
        extra.append(f"Record: {_bn(flows[record])}bn in {record.strftime('%b %Y')}, before this chart.")
    if extra:
        lines.append(" ".join(extra))
    if sources is not None and not sources.empty:
        on = sources[(sources.index >= shown.index[0]) & (sources.index <= shown.index[-1])].map(_family)
        if switch is not None:
            before = switch - 1
            lines.append(
                f"Source: U.S. Treasury TIC, Form S to {before.strftime('%b %Y')}, SLT Table 1 from"
                f" {switch.strftime('%b %Y')} (dashed line)."
            )
        elif len(on):
            lines.append(f"Source: U.S. Treasury TIC, {' and '.join(dict.fromkeys(on))}.")
    return "\n".join(lines)


def flagged(events: Sequence[Event]) -> Event | None:
    """The event the main chart shows: the first (most severe) holdings move of the release."""
    return next((e for e in events if e.basis == HOLDINGS and KINDS[e.kind].claim != Claim.RANK), None)


def main_chart(panel: Panel, summary: ReleaseSummary, events: Sequence[Event], years: int = 5) -> bytes:
    """The flagged entity's holdings over ``years``, its window shaded and the move annotated."""
    month = pd.Period(summary.data_month, "M")
    event = flagged(events)
    entity = event.entity if event else DEFAULT_ENTITY
    levels = panel.series(entity, HOLDINGS)
    levels = levels[(levels.index > month - 12 * years) & (levels.index <= month)]
    if event is not None:
        shade = (pd.Period(event.start, "M") - 1, pd.Period(event.end, "M"))
        if KINDS[event.kind].claim == Claim.LEVEL:
            shade = (pd.Period(event.end, "M") - 1, pd.Period(event.end, "M"))
        rank = rank_phrase(event)
        note = headline(event) + (f"\n{rank}" if rank else "")
    else:
        shade = (month - 3, month)
        note = "No alert fires on this release; the last three months are shaded."
    title = f"{entity}: holdings of U.S. Treasuries, $bn (data to {month.strftime('%b %Y')})"
    return holdings_chart(levels, title, shade, note)


def release_charts(
    panel: Panel, summary: ReleaseSummary, events: Sequence[Event], years: int = 5
) -> tuple[bytes, bytes]:
    """The release's two charts: the flagged entity's holdings, and 3-month changes by holder."""
    month = pd.Period(summary.data_month, "M")
    main = main_chart(panel, summary, events, years)
    rows = [*summary.top_holders, *summary.groups]
    changes = [(r.entity, r.change_3m) for r in rows if r.change_3m is not None]
    bars = changes_chart(changes, f"3-month change in holdings to end-{month.strftime('%b %Y')}, $bn")
    return main, bars
