"""The release message (text + Telegram HTML) and the charts."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from rule_panels import TEST_RULES, panel

from bot.cli import main
from bot.data.entities import Group
from bot.render.alert import alert_messages
from bot.render.charts import HEIGHT, WIDTH, changes_chart, holdings_chart, release_charts
from bot.render.limits import CAPTION_LIMIT, TEXT_LIMIT, telegram_length
from bot.render.summary import build_summary
from bot.render.text import render_text, summary_html
from bot.rules.catalogue import load_rules
from bot.rules.release import evaluate

EVIL = '<b>Evil & "Co"</b> $\\frac{1}{2}$'
EVIL_GROUP = Group("<i>Evil</i> + Japan", (EVIL, "Japan"))


@pytest.fixture(scope="module")
def hostile():
    p = panel(
        {
            EVIL: [500, 490, 450, 300],
            "Japan": [300, 310, 320, 330],
            "Grand Total": [1000, 1000, 990, 900],
            "Foreign Official": [400, 390, 380, 300],
        },
        {(EVIL, "lt_net"): [-1, -2, -3, -50], ("Foreign Official", "lt_net"): [-1, -2, -3, -50]},
        groups=(EVIL_GROUP,),
    )
    rules = load_rules((EVIL_GROUP,), TEST_RULES)
    events = evaluate(p, rules)
    return p, build_summary(p), events


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        self.seen.add(tag)

    def handle_endtag(self, tag):
        assert self.stack
        assert self.stack.pop() == tag


def test_hostile_names_are_escaped(hostile):
    """The alert as delivered (caption, text, the summary of a summary-mode chat) escapes every
    data string and uses only <b>, <i> and <pre>."""
    _, summary, events = hostile
    assert any(e.entity in (EVIL, EVIL_GROUP.name) for e in events)
    text = "\n".join(alert_messages([summary.data_month], events, summary_html(summary), capped=False))
    assert "<b>Evil" not in text
    assert "&lt;b&gt;Evil &amp; &quot;Co&quot;&lt;/b&gt;" in text
    assert "<i>Evil</i>" not in text
    parser = Tags()
    parser.feed(text)
    assert parser.stack == []
    assert parser.seen <= {"b", "i", "pre"}
    plain = render_text(summary, events)
    assert EVIL in plain
    assert "Events (" in plain


def test_messages_stay_within_telegram_limits(hostile):
    """Sixty stories: the alert tells the five rarest and counts the rest; /latest's rendering
    tells all sixty across messages; every message within Telegram's limit (the first is a
    photo's caption)."""
    _, summary, events = hostile
    many = [replace(e, entity=f"{EVIL} #{i}") for i in range(60) for e in events[:1]]
    months = [summary.data_month]
    alert = alert_messages(months, many, summary_html(summary))
    assert "\n\n… and 55 more: /latest\n\n" in "\n\n".join(alert)  # counted, not dropped
    latest = alert_messages(months, many, summary_html(summary), capped=False)
    assert sum(m.count("#") for m in latest) == 60
    for messages in (alert, latest):
        assert telegram_length(messages[0]) <= CAPTION_LIMIT
        assert max(telegram_length(m) for m in messages) <= TEXT_LIMIT


def png(data: bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    assert img.size == (WIDTH, HEIGHT)
    return np.asarray(img.convert("RGB"))


def not_blank(pixels: np.ndarray) -> None:
    assert pixels.std() > 10
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20


def test_release_charts_decode_as_png(hostile):
    p, summary, events = hostile
    main_png, bars_png = release_charts(p, summary, events)
    not_blank(png(main_png))
    not_blank(png(bars_png))


def test_charts_without_events_or_data():
    not_blank(png(changes_chart([("$x$", -3.0), ("b", 2.0)], "t $")))
    blank_series = holdings_chart(pd.Series(dtype="float64"), "empty")
    assert png(blank_series).shape == (HEIGHT, WIDTH, 3)


@pytest.mark.slow  # `tic-alert check` on the real files
def test_check_prints_events_json_and_writes_charts(tic_dir, tmp_path, capsys):
    out = tmp_path / "release.png"
    assert main(["check", "--data-dir", str(tic_dir), "--json", "--chart", str(out)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["data_month"] == "2026-04"
    assert any(e["rule"] == "holdings-3m-drop" and e["entity"] == "Japan + China" for e in data["events"])
    not_blank(png(out.read_bytes()))
    not_blank(png((tmp_path / "release-changes.png").read_bytes()))


@pytest.mark.slow  # `tic-alert check` on the real files
def test_check_text_is_the_message(tic_dir, capsys):
    assert main(["check", "--data-dir", str(tic_dir)]) == 0
    out = capsys.readouterr().out
    assert "Events (" in out
    assert "Japan + China holdings fell 58.7bn (3.1% of holdings) in three months" in out


@pytest.mark.slow  # backtests of the real files
def test_backtest_command(tic_dir, capsys):
    args = [
        "backtest",
        "--data-dir",
        str(tic_dir),
        "--rule",
        "record-3m-decline",
        "--from",
        "2022-10",
        "--to",
        "2022-10",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Japan + China holdings fell a record 227.6bn (10.5% of holdings) in three months" in out
    assert "(end-Jul → end-Oct 2022)" in out
    assert (
        "net transactions in bonds & notes -29.6 "
        "(Form S, net notes & bonds; Japan -46.5, China, Mainland +16.9)" in out
    )
    assert main([*args, "--csv"]) == 0
    assert capsys.readouterr().out.startswith("key,release,rule")
    assert main(["backtest", "--data-dir", str(tic_dir), "--rule", "nope"]) == 2
    assert main(["backtest", "--data-dir", str(tic_dir), "--set", "record-3m-decline=-1"]) == 2
