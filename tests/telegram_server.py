"""A fake Telegram Bot API server on 127.0.0.1 for tests and the bench (real HTTP, no internet).

A real python-telegram-bot ``Bot`` or ``Application`` reaches it through ``base_url``::

    with TelegramServer() as server:
        app = (
            ApplicationBuilder().token(TOKEN)
            .base_url(f"{server.url}/bot").base_file_url(f"{server.url}/file/bot")
            .build()
        )

It speaks what the library sends: ``POST /bot<token>/<method>`` with a form-urlencoded body, or
multipart/form-data when a file is uploaded (nested values such as ``reply_markup`` arrive as
JSON text), and answers ``{"ok": true, "result": …}`` with Telegram objects PTB can de-json, or
Telegram-style errors (``error_code``, ``description``, ``parameters.retry_after`` /
``migrate_to_chat_id``). ``getUpdates`` is a long poll that holds while nothing is pending.

A test injects what users do (``user_message``, ``callback``, ``my_chat_member``,
``channel_post``), reads what each chat received (``sent``, ``message``, ``transcript``), waits
on a condition (``wait_for``) and breaks things on purpose:

``fail_next``      the next N calls of a method (optionally to one chat) get a given error
``blocked_chats``  sends to these chats get 403 "Forbidden: bot was blocked by the user"
``migrated``       old chat id → new: calls get 400 with ``migrate_to_chat_id``
``fault_rate``     random 5xx / held ("timeout") / 429 answers from a seeded random
``limits``         enforce 30 msg/s overall, 1/s per chat, 20/min per group with 429s

Telegram's own checks are enforced: text ≤ 4,096 and caption ≤ 1,024 characters (after entity
parsing), balanced and supported tags with ``parse_mode=HTML``, edits of unknown messages, edits
that change nothing ("message is not modified").
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "123456789:TEST-token-for-the-fake-server"
BOT_ID = 123456789

CAPTION_LIMIT = 1024
TEXT_LIMIT = 4096

# Methods that put a new message into a chat: these count towards the rate limits.
SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAnimation",
        "sendVideo",
        "sendAudio",
        "sendVoice",
        "sendSticker",
        "sendMediaGroup",
        "sendLocation",
        "sendPoll",
        "copyMessage",
        "forwardMessage",
    }
)
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "deleteMessage"})
# Methods that a blocked / migrated chat refuses.
CHAT_METHODS = SEND_METHODS | EDIT_METHODS | {"sendChatAction", "getChat", "getChatMember", "pinChatMessage"}

ERROR_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


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


@dataclass
class Request:
    """One API call as the server saw it."""

    method: str
    params: dict[str, Any]  # JSON-looking values (reply_markup, commands, …) decoded
    files: dict[str, dict[str, Any]]  # field → {"filename", "content_type", "size", "content"}
    chat_id: int | str | None
    at: float  # time.monotonic() when it arrived
    token: str = ""
    http_method: str = "POST"
    content_type: str = ""
    peer_port: int = 0  # the client's port: equal ports mean a kept-alive connection
    status: int = 0  # 0 until answered
    description: str = ""  # the error description when status != 200
    result: Any = None


@dataclass
class Sent:
    """One message the bot put into a chat (or one edit of it, with ``edits=True``)."""

    chat_id: int
    method: str
    message_id: int
    text: str | None  # the text or caption exactly as sent (with its HTML)
    photo: str | None  # the file_id reused, or "upload" for a fresh upload
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    at: float  # time.monotonic()
    plain: str | None = None  # text or caption after entity parsing (what the user reads)
    file_id: str | None = None  # the photo's file_id after the call (also for an upload)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    method: str
    code: int | str
    description: str
    parameters: dict[str, Any] | None
    count: int
    chat_id: int | None


def parse_html(text: str) -> str:
    """Telegram's HTML check, simplified: supported tags, balanced; returns the plain text.

    Raises ``ApiError`` 400 "can't parse entities: …" like the Bot API. ``&`` that is not a known
    entity stays literal (as Telegram does); a bare ``<`` is an error.
    """
    out: list[str] = []
    stack: list[tuple[str, int]] = []
    i, n = 0, len(text)

    def offset(pos: int) -> int:
        return len(text[:pos].encode("utf-8"))

    def fail(detail: str) -> ApiError:
        return bad_request(f"can't parse entities: {detail}")

    while i < n:
        ch = text[i]
        if ch == "&":
            m = re.match(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);", text[i:])
            if m:
                name = m.group(1)
                if name.startswith("#x"):
                    out.append(chr(int(name[2:], 16)))
                elif name.startswith("#"):
                    out.append(chr(int(name[1:])))
                elif name in HTML_ENTITIES:
                    out.append(HTML_ENTITIES[name])
                else:
                    out.append(m.group(0))
                i += len(m.group(0))
                continue
            out.append(ch)
            i += 1
            continue
        if ch != "<":
            out.append(ch)
            i += 1
            continue
        start = i
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise fail(f"Unclosed end tag at byte offset {offset(start)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {offset(start)}")
            if name != stack[-1][0]:
                raise fail(
                    f'Unmatched end tag at byte offset {offset(start)}, expected "</{stack[-1][0]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
            i = end + 1
            continue
        m = re.match(r"<([a-zA-Z0-9-]*)", text[i:])
        name = m.group(1).lower() if m else ""
        if name not in HTML_TAGS:
            raise fail(f'Unsupported start tag "{name}" at byte offset {offset(start)}')
        j = i + 1 + len(name)
        quote = ""
        while j < n:
            c = text[j]
            if quote:
                if c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == ">":
                break
            j += 1
        if j >= n:
            raise fail(f"Unclosed start tag at byte offset {offset(start)}")
        stack.append((name, start))
        i = j + 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out)


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """Split a multipart/form-data body into text fields and files (with their bytes)."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise bad_request("multipart body without a boundary")
    delimiter = b"--" + m.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    files: dict[str, dict[str, Any]] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        part = part.removeprefix(b"\r\n")
        head, _, content = part.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name_m = re.search(r'\bname="([^"]*)"', disposition)
        if not name_m:
            continue
        file_m = re.search(r'\bfilename="([^"]*)"', disposition) or re.search(
            r"\bfilename\*=utf-8''([^;]*)", disposition, re.I
        )
        if file_m or ("content-type" in headers and not headers["content-type"].startswith("text/plain")):
            files[name_m.group(1)] = {
                "filename": file_m.group(1) if file_m else None,
                "content_type": headers.get("content-type", "application/octet-stream"),
                "size": len(content),
                "content": content,
            }
        else:
            fields[name_m.group(1)] = content.decode("utf-8", "replace")
    return fields, files


def decode_value(value: str) -> Any:
    """PTB JSON-encodes everything that is not a string (ints, bools, lists, dicts): undo that."""
    if value[:1] in ("{", "[") or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d*", value):
        return float(value)
    return value


def _png_size(content: bytes) -> tuple[int, int] | None:
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramServer:
    """A Bot API server on 127.0.0.1; use as a context manager. All methods are thread-safe."""

    def __init__(
        self,
        token: str | None = None,
        bot_username: str = "tic_alert_test_bot",
        seed: int = 0,
        hang_seconds: float = 2.0,
    ):
        self.token = token  # when set, any other token gets 401 Unauthorized
        bot_id = int(token.split(":")[0]) if token and token.split(":")[0].isdigit() else BOT_ID
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "TIC Alert (test)",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.hang_seconds = hang_seconds  # how long a "timeout" fault holds its answer
        self.random = random.Random(seed)
        self.fault_rate: dict[str, float] = {"5xx": 0.0, "timeout": 0.0, "429": 0.0}
        self.fault_methods: set[str] = set(SEND_METHODS | EDIT_METHODS)  # where random faults strike
        self.random_retry_after = 1
        self.blocked_chats: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.missing_chats: set[int] = set()  # 400 "chat not found"
        self.chat_admins: dict[int, set[int]] = {}
        self.chat_creators: dict[int, int] = {}
        self.chats: dict[int, dict[str, Any]] = {}  # chat objects learnt from injections
        self.users: dict[int, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.uploads = 0  # fresh file uploads (multipart), not reuses of a file_id
        self.count_429 = 0
        self.webhook_url = ""
        self.conflict_on_concurrent_polls = True  # a new getUpdates ends a held one with 409
        self.callback_answers: dict[str, dict[str, Any]] = {}

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._closing = False
        self._t0 = time.monotonic()
        self._updates: list[dict[str, Any]] = []  # pending, not yet acknowledged
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent: list[Sent] = []
        self._transcript: list[tuple[float, str]] = []
        self._files: dict[str, dict[str, Any]] = {}  # file_id → {"content", "width", "height", …}
        self._photo_ids = itertools.count(1)
        self._doc_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._failures: list[_Failure] = []
        self._limits: dict[str, float] | None = None
        self._window_all: deque[float] = deque()
        self._window_chat: dict[int, deque[float]] = {}
        self._poll_generation = 0

        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # --- life cycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """What to pass as PTB's ``base_url`` (the library appends the token)."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def start(self) -> TelegramServer:
        self._thread.start()
        return self

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()  # held long polls and "timeout" faults answer at once
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> TelegramServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what users do -----------------------------------------------------------------------

    def user_message(
        self,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str | None = None,
        username: str | None = None,
        title: str | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A user writes ``text`` in a chat; a leading "/word" becomes a bot_command entity."""
        with self._cond:
            chat = self._learn_chat(chat_id, chat_type, title)
            if user_id is None:
                user_id = chat_id if chat["type"] == "private" else 1001
            user = self._learn_user(user_id, username)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            if text.startswith("/"):
                command = text.split()[0] if text.split() else text
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
            if reply_to is not None and (chat_id, reply_to) in self._messages:
                message["reply_to_message"] = self._messages[(chat_id, reply_to)]
            self._messages[(chat_id, message["message_id"])] = message
            who = f"@{user['username']}" if user.get("username") else f"user {user_id}"
            self._note(f"→ chat {chat_id} ({chat['type']}) {who}: {text}")
            return self._push({"message": message})

    def callback(
        self,
        chat_id: int,
        data: str,
        message_id: int,
        user_id: int | None = None,
        username: str | None = None,
    ) -> int:
        """A user presses an inline button whose callback_data is ``data`` under a message."""
        with self._cond:
            chat = self._learn_chat(chat_id, None, None)
            if user_id is None:
                user_id = chat_id if chat["type"] == "private" else 1001
            user = self._learn_user(user_id, username)
            message = self._messages.get((chat_id, message_id)) or {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
                "text": "…",
            }
            query_id = str(next(self._query_ids))
            query = {
                "id": query_id,
                "from": user,
                "chat_instance": f"ci{chat_id}",
                "data": data,
                "message": message,
            }
            self.callback_answers.setdefault(query_id, {})
            self._note(f"→ chat {chat_id} user {user_id} pressed [{data}] under #{message_id}")
            return self._push({"callback_query": query})

    def my_chat_member(
        self,
        chat_id: int,
        new_status: str,
        old_status: str = "member",
        chat_type: str | None = None,
        user_id: int | None = None,
        title: str | None = None,
    ) -> int:
        """The bot's own membership changes: "kicked" (blocked / removed), "member", "left", …"""
        with self._cond:
            chat = self._learn_chat(chat_id, chat_type, title)
            if user_id is None:
                user_id = chat_id if chat["type"] == "private" else 1001
            user = self._learn_user(user_id, None)
            update = {
                "chat": chat,
                "from": user,
                "date": int(time.time()),
                "old_chat_member": self._member(old_status, self.bot_user),
                "new_chat_member": self._member(new_status, self.bot_user),
            }
            self._note(f"→ chat {chat_id} ({chat['type']}) bot status {old_status} → {new_status}")
            return self._push({"my_chat_member": update})

    def channel_post(self, chat_id: int, text: str, title: str | None = None) -> int:
        with self._cond:
            chat = self._learn_chat(chat_id, "channel", title)
            message = {
                "message_id": self._next_message_id(chat_id),
                "sender_chat": chat,
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
            self._messages[(chat_id, message["message_id"])] = message
            self._note(f"→ channel {chat_id}: {text}")
            return self._push({"channel_post": message})

    def inject(self, update: dict[str, Any]) -> int:
        """Any raw update (without update_id); returns the update_id given to it."""
        with self._cond:
            self._note(f"→ raw update {sorted(update)}")
            return self._push(dict(update))

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    # --- what the bot did --------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, edits: bool = False) -> list[Sent]:
        """Messages the bot put into ``chat_id`` (every chat when None), in order; edits too if asked."""
        with self._lock:
            return [
                s
                for s in self._sent
                if (chat_id is None or s.chat_id == chat_id) and (edits or s.method in SEND_METHODS)
            ]

    def texts(self, chat_id: int) -> list[str | None]:
        """The text or caption of each message sent to a chat, as sent."""
        return [s.text for s in self.sent(chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message as it stands now (after edits), as the Bot API object; None when unknown/deleted."""
        with self._lock:
            found = self._messages.get((chat_id, message_id))
            return json.loads(json.dumps(found)) if found else None

    def calls(self, method: str | None = None, chat_id: int | None = None) -> list[Request]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (chat_id is None or r.chat_id == chat_id)
            ]

    @property
    def commands(self) -> list[dict[str, str]]:
        """The command list set for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, str]]:
        with self._lock:
            return list(self._commands.get((self._scope_key(scope), language_code), []))

    def file_bytes(self, file_id: str) -> bytes:
        """The bytes uploaded under ``file_id`` (any of its sizes)."""
        with self._lock:
            return self._files[file_id]["content"]

    def transcript(self) -> str:
        """The whole conversation, one line per event: users (→), bot calls (←), errors (✗)."""
        with self._lock:
            return "\n".join(f"{t:8.3f}s {line}" for t, line in self._transcript)

    def wait_for(
        self,
        what: int | Callable[[TelegramServer], Any],
        timeout: float = 5.0,
        chat_id: int | None = None,
    ) -> Any:
        """Wait until ``chat_id`` (or all chats) received ``what`` messages, or ``what(server)`` is truthy.

        Returns the predicate's value (or the chat's sent list); raises TimeoutError with the end
        of the transcript when it does not happen in time.
        """
        if isinstance(what, int):
            count = what

            def predicate(server: TelegramServer) -> Any:
                got = server.sent(chat_id)
                return got if len(got) >= count else None
        else:
            predicate = what
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    tail = "\n".join(self.transcript().splitlines()[-15:])
                    raise TimeoutError(f"condition not met within {timeout} s; transcript ends:\n{tail}")
                self._cond.wait(remaining)

    # --- breaking things on purpose ----------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int | str = 400,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` (to ``chat_id`` if given) get this error.

        ``error_code`` "timeout" holds the answer ``hang_seconds`` (then handles the call: the
        message is delivered, the client has given up). ``description`` defaults to the phrase,
        e.g. "Too Many Requests: retry after 1" for 429 with ``parameters={"retry_after": 1}``.
        """
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {(parameters or {}).get('retry_after', 1)}"
                parameters = parameters or {"retry_after": 1}
            else:
                description = ERROR_PHRASES.get(error_code, "Error")  # type: ignore[call-overload]
        with self._lock:
            self._failures.append(_Failure(method, error_code, description, parameters, count, chat_id))

    def limits(
        self,
        overall_per_s: float | None = 30,
        per_chat_per_s: float | None = 1,
        per_group_per_min: float | None = 20,
        on: bool = True,
    ) -> None:
        """Enforce Telegram's flood limits on send methods (sliding windows); ``on=False`` lifts them."""
        with self._lock:
            self._limits = (
                {"overall": overall_per_s, "chat": per_chat_per_s, "group": per_group_per_min}  # type: ignore[dict-item]
                if on
                else None
            )
            self._window_all.clear()
            self._window_chat.clear()

    def set_chat(
        self, chat_id: int, chat_type: str, title: str | None = None, username: str | None = None
    ) -> None:
        """Declare a chat (e.g. a channel the bot posts to) so answers carry its type and title."""
        with self._lock:
            self._learn_chat(chat_id, chat_type, title, username)

    # --- internals: state --------------------------------------------------------------------

    def _note(self, line: str) -> None:
        self._transcript.append((time.monotonic() - self._t0, line))

    def _push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._cond.notify_all()
        return update_id

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _learn_chat(
        self, chat_id: int, chat_type: str | None, title: str | None, username: str | None = None
    ) -> dict[str, Any]:
        chat = self.chats.get(chat_id)
        if chat is None or (chat_type and chat["type"] != chat_type):
            chat = self._default_chat(chat_id, chat_type)
            self.chats[chat_id] = chat
        if title and chat["type"] != "private":
            chat["title"] = title
        if username:
            chat["username"] = username
        return chat

    @staticmethod
    def _default_chat(chat_id: int, chat_type: str | None) -> dict[str, Any]:
        if chat_type is None:
            # Telegram's supergroup and channel ids are -100 followed by ten digits
            chat_type = "private" if chat_id > 0 else "supergroup" if chat_id <= -(10**12) else "group"
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = f"{chat_type.capitalize()} {chat_id}"
        return chat

    def _chat_by_username(self, name: str) -> int | str:
        with self._lock:
            for chat_id, chat in self.chats.items():
                if chat.get("username") == name.lstrip("@"):
                    return chat_id
        return name  # unknown: "chat not found"

    def _chat(self, chat_id: int) -> dict[str, Any]:
        return self.chats.get(chat_id) or self._default_chat(chat_id, None)

    def _learn_user(self, user_id: int, username: str | None) -> dict[str, Any]:
        user = self.users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        )
        if username:
            user["username"] = username.lstrip("@")
        return user

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_user["id"]:
            return self.bot_user
        return self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    @staticmethod
    def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_pin_messages",
                    ),
                    True,
                )
            )
            member.update(can_be_edited=False, is_anonymous=False, can_promote_members=False)
        elif status == "restricted":
            member.update(
                dict.fromkeys(
                    (
                        "is_member",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_manage_topics",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_edit_tag",
                    ),
                    False,
                )
            )
            member.update(is_member=True, can_send_messages=True, until_date=0)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if not scope:
            return "default"
        if isinstance(scope, str):
            scope = json.loads(scope)
        return json.dumps(scope, sort_keys=True) if scope.get("type") != "default" else "default"

    # --- internals: handling one call -------------------------------------------------------

    def _handle(self, req: Request) -> tuple[int, dict[str, Any]]:
        """Answer one call: (HTTP status, JSON envelope). Runs in the request's thread."""
        try:
            if self.token is not None and req.token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{req.method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            hold = self._faults(req)
            if hold:
                self._hold(self.hang_seconds)
            with self._cond:
                self._check_chat(req)
                slot = self._check_rate(req)
            try:
                result = handler(req)  # getUpdates waits outside the lock; the rest lock themselves
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # malformed parameters
                if slot is not None:
                    with self._lock:
                        self._release_slot(req, slot)
                raise bad_request(f"invalid parameters ({exc!r})") from exc
            except ApiError:
                if slot is not None:  # a refused message does not count towards the limits
                    with self._lock:
                        self._release_slot(req, slot)
                raise
            return 200, {"ok": True, "result": result}
        except Exception as exc:  # a bug in the fake: answer (and show it in the transcript), don't hang
            err = exc if isinstance(exc, ApiError) else ApiError(500, f"Internal Server Error: fake: {exc!r}")
            with self._cond:
                req.description = err.description
                if err.code == 429:
                    self.count_429 += 1
                if req.method != "getUpdates" or err.code != 409:
                    where = f" chat {req.chat_id}" if req.chat_id is not None else ""
                    self._note(f"✗ {req.method}{where}: {err.code} {err.description}")
                self._cond.notify_all()
            return err.code, err.envelope()

    def _hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._closing and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)

    def _faults(self, req: Request) -> bool:
        """Raise a queued or random error for this call; True when the answer should be held."""
        with self._lock:
            for failure in self._failures:
                if failure.method == req.method and (
                    failure.chat_id is None or failure.chat_id == req.chat_id
                ):
                    failure.count -= 1
                    if failure.count <= 0:
                        self._failures.remove(failure)
                    if failure.code == "timeout":
                        return True
                    raise ApiError(int(failure.code), failure.description, failure.parameters)
            if req.method in self.fault_methods:
                for kind in ("5xx", "timeout", "429"):
                    rate = self.fault_rate.get(kind, 0.0)
                    if rate and self.random.random() < rate:
                        if kind == "5xx":
                            raise ApiError(502, "Bad Gateway")
                        if kind == "429":
                            after = self.random_retry_after
                            raise ApiError(
                                429, f"Too Many Requests: retry after {after}", {"retry_after": after}
                            )
                        return True
        return False

    def _check_chat(self, req: Request) -> None:
        if req.method not in CHAT_METHODS or req.chat_id is None:
            return
        chat_id = req.chat_id
        if isinstance(chat_id, str):
            raise bad_request("chat not found")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.missing_chats:
            raise bad_request("chat not found")
        if chat_id in self.blocked_chats and req.method not in ("getChat", "getChatMember"):
            if self._chat(chat_id)["type"] == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {self._chat(chat_id)['type']} chat")

    def _release_slot(self, req: Request, slot: float) -> None:
        for window in (self._window_all, self._window_chat.get(req.chat_id, deque())):  # type: ignore[arg-type]
            if slot in window:
                window.remove(slot)

    def _check_rate(self, req: Request) -> float | None:
        """Raise 429 when a send would break a limit; else take a slot (its time) in the windows."""
        if self._limits is None or req.method not in SEND_METHODS or not isinstance(req.chat_id, int):
            return None
        now = time.monotonic()
        while self._window_all and now - self._window_all[0] >= 1.0:
            self._window_all.popleft()
        window = self._window_chat.setdefault(req.chat_id, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        waits: list[float] = []
        overall, per_chat, per_group = self._limits["overall"], self._limits["chat"], self._limits["group"]
        if overall and len(self._window_all) >= overall:
            waits.append(1.0 - (now - self._window_all[-int(overall)]))
        last_second = [t for t in window if now - t < 1.0]
        if per_chat and len(last_second) >= per_chat:
            waits.append(1.0 - (now - last_second[-int(per_chat)]))
        if (
            per_group
            and req.chat_id < 0
            and self._chat(req.chat_id)["type"] != "channel"
            and len(window) >= per_group
        ):
            waits.append(60.0 - (now - window[-int(per_group)]))
        if waits:
            after = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {after}", {"retry_after": after})
        self._window_all.append(now)
        window.append(now)
        return now

    # --- internals: sending ------------------------------------------------------------------

    def _chat_id(self, req: Request) -> int:
        if not isinstance(req.chat_id, int):
            raise bad_request("chat not found" if req.chat_id else "chat_id is empty")
        return req.chat_id

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError as exc:
                raise bad_request("can't parse reply keyboard markup JSON object") from exc
        return markup

    @staticmethod
    def _plain(text: str, parse_mode: str | None) -> str:
        if parse_mode and parse_mode.lower() == "html":
            return parse_html(text)
        return text

    def _new_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self._next_message_id(chat_id),
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **{k: v for k, v in content.items() if v is not None},
        }
        if message["chat"]["type"] == "channel":
            message.pop("from")
            message["sender_chat"] = message["chat"]
        self._messages[(chat_id, message["message_id"])] = message
        return message

    def _record(self, req: Request, message: dict[str, Any], text: str | None, photo: str | None) -> None:
        params = req.params
        plain = message.get("text", message.get("caption"))
        file_id = message["photo"][-1]["file_id"] if "photo" in message else None
        self._sent.append(
            Sent(
                chat_id=message["chat"]["id"],
                method=req.method,
                message_id=message["message_id"],
                text=text,
                photo=photo,
                parse_mode=params.get("parse_mode"),
                reply_markup=self._markup(params),
                at=req.at,
                plain=plain,
                file_id=file_id,
                params=params,
            )
        )
        shown = (text or "").replace("\n", "⏎ ")
        if len(shown) > 300:
            shown = shown[:300] + f"… ({len(text or '')} chars)"
        extra = f" [photo {photo}]" if photo else ""
        buttons = self._buttons(params)
        self._note(
            f"← chat {message['chat']['id']} {req.method} #{message['message_id']}{extra}: {shown}{buttons}"
        )
        self._cond.notify_all()

    def _buttons(self, params: dict[str, Any]) -> str:
        markup = self._markup(params) or {}
        rows = markup.get("inline_keyboard") or []
        labels = [
            f"[{b.get('text')}|{b.get('callback_data', b.get('url', ''))}]" for row in rows for b in row
        ]
        return "  " + " ".join(labels) if labels else ""

    def _photo_sizes(self, file_id: str) -> list[dict[str, Any]]:
        info = self._files[file_id]
        base = info["base"]
        width, height = info["width"], info["height"]
        scale = min(1.0, 320 / max(width, 1))
        return [
            {
                "file_id": f"{base}-thumb",
                "file_unique_id": f"u{base}-thumb",
                "width": max(1, int(width * scale)),
                "height": max(1, int(height * scale)),
                "file_size": max(1, info["size"] // 8),
            },
            {
                "file_id": base,
                "file_unique_id": f"u{base}",
                "width": width,
                "height": height,
                "file_size": info["size"],
            },
        ]

    def _take_file(self, req: Request, field_name: str, kind: str) -> tuple[str, str]:
        """(file_id, how: "upload" or the reused id) for a photo/document parameter."""
        upload = req.files.get(field_name)
        value = req.params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = req.files.get(value[len("attach://") :])
        if upload is not None:
            number = next(self._photo_ids if kind == "photo" else self._doc_ids)
            base = f"{kind}-{number}"
            width, height = _png_size(upload["content"]) or (800, 600)
            info = {**upload, "base": base, "width": width, "height": height, "kind": kind}
            self._files[base] = info
            self._files[f"{base}-thumb"] = info
            self.uploads += 1
            return base, "upload"
        if isinstance(value, str) and value:
            if value in self._files:
                return self._files[value]["base"], value
            if value.startswith(("http://", "https://")):
                base = f"{kind}-url-{next(self._photo_ids if kind == 'photo' else self._doc_ids)}"
                info = {"content": b"", "size": 0, "base": base, "width": 800, "height": 600, "kind": kind}
                self._files[base] = info
                self._files[f"{base}-thumb"] = info
                return base, value
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {kind} in the request")

    def _caption(self, req: Request) -> tuple[str | None, str | None]:
        caption = req.params.get("caption")
        if caption is None:
            return None, None
        caption = str(caption)
        plain = self._plain(caption, req.params.get("parse_mode"))
        if len(plain) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        return caption, plain

    # --- the Bot API methods -----------------------------------------------------------------

    def _api_getMe(self, req: Request) -> dict[str, Any]:
        return self.bot_user

    def _api_logOut(self, req: Request) -> bool:
        return True

    def _api_close(self, req: Request) -> bool:
        return True

    def _api_deleteWebhook(self, req: Request) -> bool:
        with self._cond:
            self.webhook_url = ""
            if req.params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _api_setWebhook(self, req: Request) -> bool:
        with self._cond:
            self.webhook_url = str(req.params.get("url", ""))
            self._cond.notify_all()
        return True

    def _api_getWebhookInfo(self, req: Request) -> dict[str, Any]:
        with self._lock:
            return {
                "url": self.webhook_url,
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    def _api_setMyCommands(self, req: Request) -> bool:
        commands = req.params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request(
                "BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "commands must be a list"
            )
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(req.params.get("scope")), str(req.params.get("language_code", "")))
        with self._cond:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
            self._note(f"← setMyCommands {key[0]}: " + " ".join("/" + c["command"] for c in commands))
            self._cond.notify_all()
        return True

    def _api_getMyCommands(self, req: Request) -> list[dict[str, str]]:
        key = (self._scope_key(req.params.get("scope")), str(req.params.get("language_code", "")))
        with self._lock:
            return list(self._commands.get(key, []))

    def _api_deleteMyCommands(self, req: Request) -> bool:
        key = (self._scope_key(req.params.get("scope")), str(req.params.get("language_code", "")))
        with self._lock:
            self._commands.pop(key, None)
        return True

    def _api_sendMessage(self, req: Request) -> dict[str, Any]:
        chat_id = self._chat_id(req)
        text = req.params.get("text")
        if text is None or str(text) == "":
            raise bad_request("message text is empty")
        text = str(text)
        plain = self._plain(text, req.params.get("parse_mode"))
        if not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > TEXT_LIMIT:
            raise bad_request("message is too long")
        markup = self._markup(req.params)
        with self._cond:
            message = self._new_message(chat_id, text=plain, reply_markup=markup)
            self._record(req, message, text, None)
            return message

    def _api_sendPhoto(self, req: Request) -> dict[str, Any]:
        chat_id = self._chat_id(req)
        caption, plain = self._caption(req)
        markup = self._markup(req.params)
        with self._cond:
            file_id, how = self._take_file(req, "photo", "photo")
            message = self._new_message(
                chat_id, photo=self._photo_sizes(file_id), caption=plain, reply_markup=markup
            )
            self._record(req, message, caption, how)
            return message

    def _api_sendDocument(self, req: Request) -> dict[str, Any]:
        chat_id = self._chat_id(req)
        caption, plain = self._caption(req)
        markup = self._markup(req.params)
        with self._cond:
            file_id, how = self._take_file(req, "document", "document")
            info = self._files[file_id]
            document = {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": info.get("filename") or "file",
                "mime_type": info.get("content_type"),
                "file_size": info["size"],
            }
            message = self._new_message(chat_id, document=document, caption=plain, reply_markup=markup)
            self._record(req, message, caption, how)
            return message

    def _edit_target(self, req: Request) -> dict[str, Any]:
        if req.params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat_id = self._chat_id(req)
        message = self._messages.get((chat_id, int(req.params.get("message_id", 0) or 0)))
        if message is None:
            raise bad_request("message to edit not found")
        if message.get("from", self.bot_user)["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    def _finish_edit(self, req: Request, message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        if all(message.get(k) == v for k, v in changes.items()):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are exactly the "
                "same as a current content and reply markup of the message"
            )
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        text = req.params.get("text", req.params.get("caption"))
        self._record(req, message, None if text is None else str(text), None)
        return message

    def _api_editMessageText(self, req: Request) -> dict[str, Any]:
        text = str(req.params.get("text", ""))
        plain = self._plain(text, req.params.get("parse_mode"))
        if not plain.strip():
            raise bad_request("message text is empty")
        if len(plain) > TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        with self._cond:
            message = self._edit_target(req)
            if "text" not in message:
                raise bad_request("there is no text in the message to edit")
            return self._finish_edit(req, message, {"text": plain, "reply_markup": self._markup(req.params)})

    def _api_editMessageCaption(self, req: Request) -> dict[str, Any]:
        _caption, plain = self._caption(req)
        with self._cond:
            message = self._edit_target(req)
            if "text" in message:
                raise bad_request("there is no caption in the message to edit")
            return self._finish_edit(
                req, message, {"caption": plain, "reply_markup": self._markup(req.params)}
            )

    def _api_editMessageReplyMarkup(self, req: Request) -> dict[str, Any]:
        with self._cond:
            message = self._edit_target(req)
            return self._finish_edit(req, message, {"reply_markup": self._markup(req.params)})

    def _api_deleteMessage(self, req: Request) -> bool:
        chat_id = self._chat_id(req)
        with self._cond:
            key = (chat_id, int(req.params.get("message_id", 0) or 0))
            if key not in self._messages:
                raise bad_request("message to delete not found")
            del self._messages[key]
            self._note(f"← chat {chat_id} deleteMessage #{key[1]}")
            self._cond.notify_all()
        return True

    def _api_answerCallbackQuery(self, req: Request) -> bool:
        query_id = str(req.params.get("callback_query_id", ""))
        with self._cond:
            if query_id not in self.callback_answers or self.callback_answers[query_id]:
                raise bad_request("query is too old and response timeout expired or query ID is invalid")
            self.callback_answers[query_id] = dict(req.params)
            text = req.params.get("text")
            self._note(f"← answerCallbackQuery {query_id}" + (f": {text}" if text else ""))
            self._cond.notify_all()
        return True

    def _api_getChatMember(self, req: Request) -> dict[str, Any]:
        chat_id = self._chat_id(req)
        user_id = int(req.params.get("user_id", 0))
        with self._lock:
            chat = self._chat(chat_id)
            if chat["type"] == "private":
                status = "member"
            elif self.chat_creators.get(chat_id) == user_id:
                status = "creator"
            elif user_id in self.chat_admins.get(chat_id, set()):
                status = "administrator"
            else:
                status = "member"
            return self._member(status, self._user(user_id))

    def _api_getChat(self, req: Request) -> dict[str, Any]:
        chat_id = self._chat_id(req)
        with self._lock:
            chat = dict(self._chat(chat_id))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return chat

    def _api_getFile(self, req: Request) -> dict[str, Any]:
        file_id = str(req.params.get("file_id", ""))
        with self._lock:
            info = self._files.get(file_id)
        if info is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": info["size"],
            "file_path": f"{info['kind']}s/{file_id}",
        }

    def _api_sendChatAction(self, req: Request) -> bool:
        self._chat_id(req)
        return True

    def _api_getUpdates(self, req: Request) -> list[dict[str, Any]]:
        offset = int(req.params.get("offset", 0) or 0)
        timeout = float(req.params.get("timeout", 0) or 0)
        limit = max(1, min(100, int(req.params.get("limit", 100) or 100)))
        allowed = req.params.get("allowed_updates")
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        with self._cond:
            if self.webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
                    "to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
            self._cond.notify_all()  # a held poll of an earlier generation ends with a 409
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._updates = [u for u in self._updates if self._wanted(u, allowed)]
            deadline = time.monotonic() + timeout
            while not self._updates and not self._closing:
                if self.conflict_on_concurrent_polls and generation != self._poll_generation:
                    raise ApiError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only one bot "
                        "instance is running",
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
                self._updates = [u for u in self._updates if self._wanted(u, allowed)]
            return [json.loads(json.dumps(u)) for u in self._updates[:limit]]

    @staticmethod
    def _wanted(update: dict[str, Any], allowed: Iterable[str] | None) -> bool:
        kind = next(k for k in update if k != "update_id")
        if not allowed:
            return kind not in ("chat_member", "message_reaction", "message_reaction_count")
        return kind in allowed


class _Server(ThreadingHTTPServer):
    """A listen backlog for hundreds of clients at once (the default 5 resets connections under load)."""

    request_queue_size = 1024


def _handler(fake: TelegramServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls
        server_version = "FakeTelegram/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            body = self._read_body()
            parts = urlsplit(self.path)
            m = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", parts.path)
            if m is None:
                file_m = re.fullmatch(r"/file/bot([^/]*)/(.+)", parts.path)
                if file_m and self.command == "GET":
                    self._serve_file(file_m.group(2))
                    return
                self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            token, method = m.group(1), m.group(2)
            ctype = self.headers.get("Content-Type", "")
            raw: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
            files: dict[str, dict[str, Any]] = {}
            try:
                if ctype.startswith("multipart/form-data"):
                    fields, files = parse_multipart(body, ctype)
                    raw.update(fields)
                elif ctype.startswith("application/json"):
                    decoded = json.loads(body or b"{}")
                    raw.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in decoded.items()})
                elif body:
                    raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            except (ApiError, ValueError):
                self._send(
                    400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse body"}
                )
                return
            params = {k: decode_value(v) for k, v in raw.items()}
            # text-like fields stay strings even when they look like numbers or JSON
            for key in ("text", "caption", "data", "callback_query_id", "photo", "document", "parse_mode"):
                if key in raw:
                    params[key] = raw[key]
            chat_id = params.get("chat_id")
            if isinstance(chat_id, str) and chat_id.startswith("@"):
                chat_id = fake._chat_by_username(chat_id)
            req = Request(
                method=method,
                params=params,
                files=files,
                chat_id=chat_id if isinstance(chat_id, int | str) else None,
                at=time.monotonic(),
                token=token,
                http_method=self.command,
                content_type=ctype.split(";")[0],
                peer_port=self.client_address[1],
            )
            with fake._lock:
                fake.requests.append(req)
            status, envelope = fake._handle(req)
            req.status = status
            if status == 200:
                req.result = envelope["result"]
            self._send(status, envelope)

        def _serve_file(self, path: str) -> None:
            with fake._lock:
                info = fake._files.get(path.rsplit("/", 1)[-1])
            if info is None:
                self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                return
            self._send_bytes(200, info["content"], "application/octet-stream")

        def _send(self, status: int, envelope: dict[str, Any]) -> None:
            self._send_bytes(status, json.dumps(envelope).encode("utf-8"), "application/json")

        def _send_bytes(self, status: int, body: bytes, ctype: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler
