"""The release's charts as PNG bytes, made with matplotlib's Figure API (no pyplot: no global state).

* :func:`holdings_chart`: one entity's holdings over about five years, the flagged window shaded
  and the move annotated with its rank in history.
* :func:`changes_chart`: 3-month changes by major holder, as horizontal bars.

Both are pure: data in, bytes out; :func:`release_charts` picks the data from a panel, a summary
and the events of a release.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
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
