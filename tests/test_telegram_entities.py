"""Telegram's checks of a message's text in the fake Bot API: HTML as tdlib parses it, UTF-16 lengths."""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.constants import MessageLimit
from telegram_entities import (
    CAPTION_LIMIT,
    TEXT_LIMIT,
    ApiError,
    check_caption,
    check_text,
    parse_html,
    plain_of,
    utf16_len,
)


def refused(markup: str) -> str:
    with pytest.raises(ApiError) as caught:
        parse_html(markup)
    assert caught.value.code == 400
    prefix = "Bad Request: can't parse entities: "
    assert caught.value.description.startswith(prefix)
    return caught.value.description.removeprefix(prefix)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_escaped_text_always_parses_to_itself(text):
    assert parse_html(html.escape(text, quote=False)) == text


@pytest.mark.parametrize(
    ("markup", "plain"),
    [
        ('<b>bold</b> <a href="https://x.y/?a=1&amp;b=2">link</a>', "bold link"),
        ('<pre><code class="language-python">x &lt; 1</code></pre>', "x < 1"),
        ("<tg-spoiler>s</tg-spoiler><blockquote>q</blockquote>", "sq"),
        ('<span class="tg-spoiler">s</span><blockquote expandable>q</blockquote>', "sq"),
        ("<strong>a</strong><em>b</em><ins>c</ins><strike>d</strike><del>e</del><u>f</u><s>g</s>", "abcdefg"),
        ("<B>upper</B> <i >spaced</i >", "upper spaced"),
        ("<b>closed by</> an empty end tag", "closed by an empty end tag"),
        ("<a href=https>name token</a> <a href=>empty</a>", "name token empty"),
        # entities: the four named ones and numeric ones, with or without ";"
        ("&lt;&gt;&amp;&quot; &#8212; &#x2014; &lt &amp", '<>&" — — < &'),
        # anything else with "&" stays literal, as tdlib leaves it (Telegram does not refuse S&P)
        ("S&P 500 &unknown; AT&T &#0; & &#;", "S&P 500 &unknown; AT&T &#0; & &#;"),
        ("2 > 1", "2 > 1"),
    ],
)
def test_html_that_telegram_accepts(markup, plain):
    assert parse_html(markup) == plain


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</i>", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
        ("<b/>", 'Unsupported start tag "b/" at byte offset 0'),
        ("é<p>", 'Unsupported start tag "p" at byte offset 2'),  # UTF-8 bytes, as tdlib counts
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),  # a bare "<"
        ("é <", "Unclosed start tag at byte offset 3"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>', "Unclosed start tag at byte offset 0"),
        ("<a href=x!>x</a>", "Unexpected end of name token at byte offset 8"),
        ("<a =x>x</a>", 'Empty attribute name in the tag "a" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
    ],
)
def test_html_that_telegram_refuses(markup, error):
    assert refused(markup) == error


def test_lengths_are_utf16_units_after_parsing():
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b") == 4
    check_text("😀" * (TEXT_LIMIT // 2))  # 4,096 units
    with pytest.raises(ApiError, match=r"^Bad Request: message is too long$"):
        check_text("😀" * (TEXT_LIMIT // 2) + "x")  # 2,049 characters, 4,097 units
    check_text(plain_of("<b>" + "&lt;" * TEXT_LIMIT + "</b>", "HTML"))  # tags and entities count once
    check_caption("é" * CAPTION_LIMIT)
    with pytest.raises(ApiError, match=r"^Bad Request: message caption is too long$"):
        check_caption("😀" * (CAPTION_LIMIT // 2) + "x")
    with pytest.raises(ApiError, match=r"^Bad Request: message text is empty$"):
        check_text(plain_of("<b> </b>\n", "HTML"))
    assert plain_of("<b>as is</b>", None) == "<b>as is</b>"  # no parse mode: nothing is parsed


def test_the_limits_are_python_telegram_bots():
    assert TEXT_LIMIT == MessageLimit.MAX_TEXT_LENGTH
    assert CAPTION_LIMIT == MessageLimit.CAPTION_LENGTH
