"""The Bot API methods of the fake server (``_api_<method>``), and how a message is made.

Mixed into ``TelegramServer`` (tests/telegram_server.py), whose state they read and write under
its lock: chats, messages, files, commands, pending updates. Every text goes through Telegram's
checks (tests/telegram_entities.py): HTML parsed as Telegram parses it, lengths in UTF-16 units.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from telegram_entities import ApiError, bad_request, check_caption, check_text, plain_of
from telegram_http import Request

# Methods that put a new message into a chat: these count towards the flood limits.
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


def png_size(content: bytes) -> tuple[int, int] | None:
    if content[:8] == b"\x89PNG\r\n\x1a\n" and len(content) >= 24:
        return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")
    return None


class BotApiMethods:
    """The ``_api_*`` methods; ``TelegramServer`` provides the state (see its ``__init__``)."""

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
            width, height = png_size(upload["content"]) or (800, 600)
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
        plain = plain_of(caption, req.params.get("parse_mode"))
        check_caption(plain)
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
        plain = plain_of(text, req.params.get("parse_mode"))
        check_text(plain)
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
        plain = plain_of(text, req.params.get("parse_mode"))
        check_text(plain)
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
