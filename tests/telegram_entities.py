"""Telegram's checks of a message's text, for the fake Bot API: HTML as Telegram parses it, lengths.

``parse_html`` follows tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp), which the Bot API
server runs for ``parse_mode=HTML``, error for error:

* tags: b/strong, i/em, u/ins, s/strike/del, a (href), code (class="language-…"), pre,
  tg-spoiler, span (only with class="tg-spoiler"), blockquote (expandable), tg-emoji, tg-time;
  any other start tag, a bare ``<`` among them (``1 < 2`` is the start tag ""), is refused;
* an end tag must close the innermost open tag (``</>`` closes whatever is open); every tag must
  be closed by the end of the text;
* entities: ``&lt; &gt; &amp; &quot;`` and numeric ones (``&#8212;`` ``&#x2014;``), with or
  without the ``;``. Any other ``&`` stays a literal ``&``, as in tdlib: Telegram's own parser
  does not refuse ``S&P`` (the Bot API documentation asks for ``&amp;``, the server does not).

Errors are 400 "Bad Request: can't parse entities: <tdlib's sentence>", byte offsets counted in
UTF-8 as tdlib counts them. Lengths are counted after parsing, in UTF-16 code units, the unit of
Telegram's message entities (tdlib's own pre-check counts code points; Telegram's servers answer
MESSAGE_TOO_LONG by UTF-16; the stricter of the two is kept): text ≤ 4,096, caption ≤ 1,024.
"""

from __future__ import annotations

from typing import Any

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
SPACES = " \t\r\n\v\0"  # tdlib's is_space (NUL: the end of its C string)


class ApiError(Exception):
    """A Telegram error answer: raised inside a method, turned into an error envelope."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


def utf16_len(text: str) -> int:
    """Telegram's length: UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def check_text(plain: str) -> None:
    """A message's text after parsing: not empty, at most 4,096 UTF-16 units."""
    if not plain.strip():
        raise bad_request("message text is empty")
    if utf16_len(plain) > TEXT_LIMIT:
        raise bad_request("message is too long")


def check_caption(plain: str) -> None:
    if utf16_len(plain) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")


def plain_of(text: str, parse_mode: str | None) -> str:
    """What the user reads: ``text`` parsed in ``parse_mode`` (HTML is checked; others as is)."""
    if parse_mode and parse_mode.lower() == "html":
        return parse_html(text)
    return text


def _entity(text: str, pos: int) -> tuple[str, int] | None:
    """tdlib's decode_html_entity at ``text[pos] == "&"``: (character, position after it) or None."""
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        hexadecimal = end < n and text[end] == "x"
        digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
        end += hexadecimal
        start = end
        while end < n and text[end] in digits:
            end += 1
        code = int(text[start:end], 16 if hexadecimal else 10) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        found = NAMED_ENTITIES.get(text[pos + 1 : end])
        if found is None:
            return None
        char = found
    return char, end + 1 if end < n and text[end] == ";" else end


def parse_html(text: str) -> str:
    """The plain text Telegram shows for ``text`` sent with parse_mode=HTML; ``ApiError`` 400 with
    Telegram's sentence when Telegram refuses it."""
    out: list[str] = []
    open_tags: list[str] = []
    n = len(text)
    i = 0

    def at(pos: int) -> str:
        return text[pos] if pos < n else "\0"

    def byte(pos: int) -> int:
        return len(text[:pos].encode("utf-8", "surrogatepass"))

    def fail(detail: str) -> ApiError:
        return bad_request(f"can't parse entities: {detail}")

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte(begin)}")
            name = text[begin + 1 : i].lower()
            if name not in HTML_TAGS:
                raise fail(f'Unsupported start tag "{name}" at byte offset {byte(begin)}')
            i, argument = _attributes(text, i, name, begin, fail, byte)
            if name == "span" and argument != "spoiler":
                raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset {byte(begin)}')
            open_tags.append(name)
            i += 1  # the ">"
            continue
        if not open_tags:
            raise fail(f"Unexpected end tag at byte offset {byte(begin)}")
        while at(i) not in SPACES and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while i < n and at(i) in SPACES:
            i += 1
        if at(i) != ">":
            raise fail(f"Unclosed end tag at byte offset {byte(begin)}")
        if end_name and end_name != open_tags[-1]:
            raise fail(
                f'Unmatched end tag at byte offset {byte(begin)}, expected "</{open_tags[-1]}>", '
                f'found "</{end_name}>"'
            )
        open_tags.pop()
        i += 1
    if open_tags:
        raise fail(f'Can\'t find end tag corresponding to start tag "{open_tags[-1]}"')
    return "".join(out)


def _attributes(text: str, i: int, tag: str, begin: int, fail, byte) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Read a start tag's attributes up to its ">"; (position of the ">", the tag's argument)."""
    n = len(text)

    def at(pos: int) -> str:
        return text[pos] if pos < n else "\0"

    argument = ""
    while at(i) != ">":
        while i < n and at(i) in SPACES:
            i += 1
        if at(i) == ">":
            break
        name_start = i
        while at(i) not in SPACES and at(i) not in "=>/\"'":
            i += 1
        attribute = text[name_start:i]
        if not attribute:
            raise fail(f'Empty attribute name in the tag "{tag}" at byte offset {byte(begin)}')
        while i < n and at(i) in SPACES:
            i += 1
        if at(i) != "=":
            if i >= n:
                raise fail(f'Unclosed start tag "{tag}" at byte offset {byte(begin)}')
            if tag == "blockquote" and attribute == "expandable":
                argument = "1"
            continue
        i += 1
        while i < n and at(i) in SPACES:
            i += 1
        if i >= n:
            raise fail(f'Unclosed start tag "{tag}" at byte offset {byte(begin)}')
        if at(i) not in "'\"":
            token_start = i
            while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                i += 1
            value = text[token_start:i].lower()
            if at(i) not in SPACES and at(i) != ">":
                raise fail(f"Unexpected end of name token at byte offset {byte(token_start)}")
        else:
            quote = text[i]
            i += 1
            chars: list[str] = []
            while i < n and text[i] != quote:
                decoded = _entity(text, i) if text[i] == "&" else None
                if decoded is not None:
                    chars.append(decoded[0])
                    i = decoded[1]
                else:
                    chars.append(text[i])
                    i += 1
            if i < n:
                i += 1
            value = "".join(chars)
        if i >= n:
            raise fail(f"Unclosed start tag at byte offset {byte(begin)}")
        if (tag, attribute) in (("a", "href"), ("tg-emoji", "emoji-id"), ("tg-time", "format")):
            argument = value
        elif tag == "code" and attribute == "class" and value.startswith("language-"):
            argument = value[len("language-") :]
        elif tag == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value[len("tg-") :]
        elif tag == "blockquote" and attribute == "expandable":
            argument = "1"
    return i, argument
