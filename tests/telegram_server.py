"""A fake Telegram Bot API server on 127.0.0.1 for tests and the bench (real HTTP, no internet).

A real python-telegram-bot ``Bot`` or ``Application`` reaches it through ``base_url``::

    with TelegramServer() as server:
        app = (
            ApplicationBuilder().token(TOKEN)
            .base_url(server.base_url).base_file_url(server.base_file_url)
            .build()
        )

It speaks what the library sends (tests/telegram_http.py) and answers ``{"ok": true, "result":
…}`` with Telegram objects PTB can de-json, or Telegram's errors (``error_code``,
``description``, ``parameters.retry_after`` / ``migrate_to_chat_id``), in the shapes PTB turns
into RetryAfter, ChatMigrated, BadRequest, Forbidden, NetworkError and TimedOut.
``getUpdates`` is a long poll that holds while nothing is pending.

It is as strict as Telegram by default:

* text and captions with ``parse_mode=HTML`` are parsed as Telegram parses them, and their
  lengths counted in UTF-16 units after parsing (tests/telegram_entities.py): 400 "can't parse
  entities: …", "message is too long" (> 4,096), "message caption is too long" (> 1,024);
* flood limits (tests/telegram_faults.py): 30 messages/s overall (1,000/s for those sent with
  ``allow_paid_broadcast=true``), 1/s per chat, 20/min per group, supergroup or channel; 429 with
  ``retry_after`` beyond them (``limits(on=False)`` lifts them, ``TelegramServer(limits=False)``
  starts without them);
* edits of unknown messages, edits that change nothing ("message is not modified").

A test injects what users do (``user_message``, ``callback``, ``my_chat_member``,
``channel_post``), reads what each chat received (``sent``, ``message``, ``transcript``), waits
on a condition (``wait_for``) and breaks things on purpose:

``fail_next``      the next N calls of a method (optionally to one chat) get a given error
``outage``         the whole API down on a schedule: 502 for N s, then no answer for M s
``migrate``        a group becomes a supergroup with a new id (calls to the old id get 400 with
                   ``migrate_to_chat_id``; the old chat's messages are not in the new one)
``delete``         a user deletes a message (an edit of it: "message to edit not found")
``blocked_chats``  sends to these chats get 403 "Forbidden: bot was blocked by the user"
``fault_rate``     random 5xx / held ("timeout") / 429 answers from a seeded random
``limits``         the flood limits, changed or lifted
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from telegram_entities import ApiError, bad_request, parse_html, utf16_len
from telegram_faults import NGINX_502, Faults, FloodLimits, Outage
from telegram_http import Answer, HttpServer, Request, decode_value, handler_for, parse_multipart
from telegram_methods import EDIT_METHODS, SEND_METHODS, BotApiMethods, Sent

__all__ = [
    "ApiError",
    "Outage",
    "Request",
    "Sent",
    "TelegramServer",
    "decode_value",
    "parse_html",
    "parse_multipart",
]

DEFAULT_TOKEN = "123456789:TEST-token-for-the-fake-server"
BOT_ID = 123456789

# Methods that a blocked / migrated chat refuses.
CHAT_METHODS = SEND_METHODS | EDIT_METHODS | {"sendChatAction", "getChat", "getChatMember", "pinChatMessage"}


class TelegramServer(BotApiMethods):
    """A Bot API server on 127.0.0.1; use as a context manager. All methods are thread-safe."""

    def __init__(
        self,
        token: str | None = None,
        bot_username: str = "tic_alert_test_bot",
        seed: int = 0,
        hang_seconds: float = 2.0,
        limits: bool = True,
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
        self.slow: dict[str, float] = {}  # method → seconds each call waits before it is handled
        self.faults = Faults(seed)
        self.flood: FloodLimits | None = FloodLimits() if limits else None
        self.fault_methods: set[str] = set(SEND_METHODS | EDIT_METHODS)  # where random faults strike
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
        self.outage_answers = {"502": 0, "held": 0, "dropped": 0}  # what outages answered
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
        self._poll_generation = 0

        self._httpd = HttpServer(("127.0.0.1", 0), handler_for(self))
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
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
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
        with self._lock:
            self.faults.fail_next(method, error_code, description, parameters, count, chat_id)

    @property
    def fault_rate(self) -> dict[str, float]:
        """Random faults on ``fault_methods``: {"5xx": p, "timeout": p, "429": p}."""
        return self.faults.rate

    @fault_rate.setter
    def fault_rate(self, rates: dict[str, float]) -> None:
        self.faults.rate = dict(rates)

    def outage(
        self,
        start_in: float,
        seconds_502: float,
        seconds_timeout: float,
        html: bool = False,
        deliver_held: float = 0.0,
    ) -> Outage:
        """The whole Bot API down ``start_in`` seconds from now: every call answers 502 Bad Gateway
        for ``seconds_502`` (Telegram's JSON envelope, or nginx's HTML page with ``html``), then
        gets no answer for ``seconds_timeout`` (held until the outage ends, past the client's
        timeout; then the connection closes, or, for a ``deliver_held`` share drawn from the
        seeded random, the call is carried out: the message arrives, the client never knew).
        Returns the schedule (``start``, ``timeouts``, ``end`` in time.monotonic())."""
        with self._lock:
            return self.faults.outage(start_in, seconds_502, seconds_timeout, html, deliver_held)

    def limits(
        self,
        overall_per_s: float | None = 30,
        per_chat_per_s: float | None = 1,
        per_group_per_min: float | None = 20,
        on: bool = True,
        paid_per_s: float | None = 1000,
    ) -> None:
        """Telegram's flood limits on send methods (sliding windows), anew; ``on=False`` lifts them.
        ``overall_per_s`` is for free messages, ``paid_per_s`` for those with ``allow_paid_broadcast``."""
        with self._lock:
            self.flood = (
                FloodLimits(overall_per_s, per_chat_per_s, per_group_per_min, paid_per_s) if on else None
            )

    def migrate(self, chat_id: int, new_id: int | None = None, announce: bool = True) -> int:
        """Group ``chat_id`` becomes a supergroup with a new id (returned; by default -100 followed
        by ten digits, as Telegram numbers supergroups). Every call to the old id then gets 400
        "group chat was upgraded to a supergroup chat" with ``parameters.migrate_to_chat_id``; the
        old chat's messages stay there (their ids mean nothing in the new chat, whose first
        message is the service message "migrated from"). ``announce`` also sends the bot the two
        service messages Telegram sends (``migrate_to_chat_id`` in the old chat,
        ``migrate_from_chat_id`` in the new one); without it the bot learns only from a 400."""
        new_id = new_id if new_id is not None else -(10**12 + abs(chat_id))
        with self._cond:
            old = self._chat(chat_id)
            self.migrated[chat_id] = new_id
            chat = self._learn_chat(new_id, "supergroup", old.get("title"))
            if chat_id in self.chat_admins:
                self.chat_admins[new_id] = set(self.chat_admins[chat_id])
            if chat_id in self.chat_creators:
                self.chat_creators[new_id] = self.chat_creators[chat_id]
            user = self._user(self.chat_creators.get(chat_id, 1001))
            moved_to = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": old,
                "date": int(time.time()),
                "migrate_to_chat_id": new_id,
            }
            moved_from = {
                "message_id": self._next_message_id(new_id),
                "from": user,
                "chat": chat,
                "date": int(time.time()),
                "migrate_from_chat_id": chat_id,
            }
            self._messages[(chat_id, moved_to["message_id"])] = moved_to
            self._messages[(new_id, moved_from["message_id"])] = moved_from
            how = "" if announce else " (silently: the bot learns from a 400)"
            self._note(f"⇢ chat {chat_id} migrated to supergroup {new_id}{how}")
            if announce:
                self._push({"message": moved_to})
                self._push({"message": moved_from})
        return new_id

    def delete(self, chat_id: int, message_id: int) -> None:
        """A user (an administrator) deletes a message: it is gone, edits of it are "not found"."""
        with self._cond:
            self._messages.pop((chat_id, message_id), None)
            self._note(f"⇢ chat {chat_id} message #{message_id} deleted by a user")

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
        """As Telegram numbers messages: a supergroup or channel counts its own from 1; private
        chats and basic groups share one sequence (the bot's message box), so a group's message ids
        mean nothing in the supergroup it becomes."""
        own = self._chat(chat_id)["type"] in ("supergroup", "channel")
        return next(self._message_ids.setdefault(chat_id if own else 0, itertools.count(1)))

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

    # --- internals: handling one call -------------------------------------------------------

    def record_request(self, req: Request) -> None:
        with self._lock:
            self.requests.append(req)

    def file_content(self, file_id: str) -> bytes | None:
        with self._lock:
            info = self._files.get(file_id)
        return None if info is None else info["content"]

    def chat_by_username(self, name: str) -> int | str:
        with self._lock:
            for chat_id, chat in self.chats.items():
                if chat.get("username") == name.lstrip("@"):
                    return chat_id
        return name  # unknown: "chat not found"

    def answer(self, req: Request) -> Answer:
        """What one call gets back (runs in the request's thread): an outage's answer, or the call's."""
        with self._lock:
            current = self.faults.current_outage(req.at)
        if current is not None:
            outage, phase = current
            if phase == "502":
                with self._cond:
                    self.outage_answers["502"] += 1
                    req.status, req.description = 502, "Bad Gateway (outage)"
                    self._note(f"✗ {req.method}{self._where(req)}: 502 Bad Gateway (outage)")
                if outage.html:
                    return Answer(502, NGINX_502, "text/html")
                return Answer.envelope(502, ApiError(502, "Bad Gateway").envelope())
            self._hold(outage.end - time.monotonic())
            with self._cond:
                self.outage_answers["held"] += 1
                carried_out = self.faults.random.random() < outage.deliver_held
                if not carried_out:
                    self.outage_answers["dropped"] += 1
                    self._note(f"✗ {req.method}{self._where(req)}: no answer (outage)")
                    return Answer(0)
        status, envelope = self._handle(req)
        req.status = status
        if status == 200:
            req.result = envelope["result"]
        return Answer.envelope(status, envelope)

    @staticmethod
    def _where(req: Request) -> str:
        return f" chat {req.chat_id}" if req.chat_id is not None else ""

    def _handle(self, req: Request) -> tuple[int, dict[str, Any]]:
        """Answer one call: (HTTP status, JSON envelope)."""
        try:
            if self.token is not None and req.token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{req.method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            with self._lock:
                hold = self.faults.pick(req.method, req.chat_id, self.fault_methods) == "hold"
            if hold:
                self._hold(self.hang_seconds)
            self._hold(self.slow.get(req.method, 0.0))
            with self._cond:
                self._check_chat(req)
                slot = self._take_slot(req)
            try:
                result = handler(req)  # getUpdates waits outside the lock; the rest lock themselves
            except (ValueError, TypeError, KeyError, AttributeError) as exc:  # malformed parameters
                self._give_back(req, slot)
                raise bad_request(f"invalid parameters ({exc!r})") from exc
            except ApiError:
                self._give_back(req, slot)  # a refused message does not count towards the limits
                raise
            return 200, {"ok": True, "result": result}
        except Exception as exc:  # a bug in the fake: answer (and show it in the transcript), don't hang
            err = exc if isinstance(exc, ApiError) else ApiError(500, f"Internal Server Error: fake: {exc!r}")
            with self._cond:
                req.description = err.description
                if err.code == 429:
                    self.count_429 += 1
                if req.method != "getUpdates" or err.code != 409:
                    self._note(f"✗ {req.method}{self._where(req)}: {err.code} {err.description}")
                self._cond.notify_all()
            return err.code, err.envelope()

    def _hold(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        with self._cond:
            while not self._closing and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)

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

    def _take_slot(self, req: Request) -> float | None:
        """A send takes a slot in the flood windows, or gets 429."""
        if self.flood is None or req.method not in SEND_METHODS or not isinstance(req.chat_id, int):
            return None
        return self.flood.take(req.chat_id, time.monotonic(), req.params.get("allow_paid_broadcast") is True)

    def _give_back(self, req: Request, slot: float | None) -> None:
        if slot is not None and isinstance(req.chat_id, int):
            with self._lock:
                if self.flood is not None:
                    self.flood.give_back(req.chat_id, slot)
