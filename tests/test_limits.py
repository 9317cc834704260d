"""Telegram's limits: one home, pinned to python-telegram-bot's, counted in UTF-16 units."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from telegram.constants import MessageLimit

from bot.render.limits import CAPTION_LIMIT, TEXT_LIMIT, cut, pieces, telegram_length

TEXTS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=20)


def test_the_text_limit_is_telegrams():
    assert TEXT_LIMIT == MessageLimit.MAX_TEXT_LENGTH


def test_the_caption_limit_is_telegrams():
    assert CAPTION_LIMIT == MessageLimit.CAPTION_LENGTH


def test_an_emoji_outside_the_bmp_counts_two():
    assert telegram_length("📉 -58.7bn") == 10


def test_a_text_that_fits_is_not_cut():
    assert cut("short", 10) == "short"


def test_a_cut_ends_with_an_ellipsis_within_the_limit():
    assert cut("📉" * 10, 7) == "📉📉📉…"


@given(TEXTS, st.integers(min_value=2, max_value=50))
def test_a_cut_always_fits(text, limit):
    assert telegram_length(cut(text, limit)) <= limit


@given(st.lists(TEXTS, max_size=12), st.integers(min_value=4, max_value=60))
def test_pieces_fit(lines, limit):
    assert all(telegram_length(p) <= limit for p in pieces("\n".join(lines), limit))


@given(st.lists(LINE, max_size=12))
def test_pieces_of_short_lines_give_the_text_back(lines):
    text = "\n".join(lines)
    assert "\n".join(pieces(text, 40)) == text


def test_a_line_longer_than_a_message_is_split_inside_it():
    assert pieces("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
