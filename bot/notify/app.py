"""python-telegram-bot wiring: receive updates, ask the ChatBot, send the replies.

Handlers are thin: read the update, check who may do what (operators; in groups, the group's
administrators for settings), throttle a flooding chat, call :class:`ChatBot`, send. The token is
in every Bot API URL, so httpx's request log is silenced and no log line of ours names it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import hashlib
import logging
import time
from collections.abc import Callable

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.notify.chatbot import ChatBot
from bot.notify.commands import BY_NAME, COMMANDS, MAX_COMMAND_CHARS, Reply, split_command
from bot.notify.entity_commands import Ctx, UsageError
from bot.notify.redact import redact_in_logs, silence_http_logs
from bot.notify.settings import TelegramSettings
from bot.notify.throttle import ChatThrottle
from bot.render.alert import plain_text

log = logging.getLogger("tic_alert.bot")
TEXT_LIMIT = 4096
ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
GONE_STATUSES = {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TelegramFrontend:
    """The handlers, sharing one ChatBot, one throttle and the operators' ids."""

    def __init__(
        self, chatbot: ChatBot, settings: TelegramSettings, clock: Callable[[], dt.datetime] = utc_now
    ):
        self.chatbot = chatbot
        self.settings = settings
        self.admins = set(settings.admins)
        self.throttle = ChatThrottle(settings.commands_per_minute)
        self.clock = clock
        self.file_ids: dict[str, str] = {}  # sha256 of a PNG → Telegram's file_id: upload once

    # --- handlers --------------------------------------------------------------------------------

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, chat, user = update.effective_message, update.effective_chat, update.effective_user
        if message is None or chat is None or not message.text:
            return
        name, args = split_command(message.text)
        addressed = message.text.split(maxsplit=1)[0].partition("@")[2]
        if addressed and addressed.lower() != (context.bot.username or "").lower():
            return  # "/stop@OtherBot" in a group is not for us
        if not await self._allowed(chat.id, context):
            return
        command = BY_NAME.get(name)
        refusal = None
        user_id = user.id if user else None
        if command is None and chat.type != ChatType.PRIVATE:
            return  # a group's members talk to other bots too: only our own commands get an answer
        if command is None:
            close = difflib.get_close_matches(name, list(BY_NAME), n=1)
            hint = f" Did you mean /{close[0]}?" if close else ""
            refusal = f"Unknown command /{name[:32]}.{hint} /help lists the commands."
        elif len(message.text) > MAX_COMMAND_CHARS:
            refusal = f"That is longer than any command takes.\nUsage: {command.usage}"
        elif command.admin and user_id not in self.admins and chat.id not in self.admins:
            refusal = "That command is for the bot's operators."
        elif command.settings and not await self._may_change(chat, user_id, message, context):
            refusal = "Only this group's administrators can change its settings."
        if refusal is not None:
            await self.send(context, chat.id, Reply(refusal))
            return
        ctx = Ctx(chat.id, chat.type, chat.title or chat.username or "", user_id, args, self.clock())
        try:
            replies = await self.chatbot.answer(name, ctx)
        except Exception:
            log.exception("command /%s failed in chat %s", name, chat.id)
            replies = [Reply("Sorry, that failed on our side; the operators can see why. Please try later.")]
        for reply in replies:
            await self.send(context, chat.id, reply)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or not await self._allowed(chat.id, context):
            return
        await self.send(context, chat.id, Reply("I answer commands: /help lists them."))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None:
            return
        kind, _, rule_id = (query.data or "").partition(":")
        if kind != "toggle" or not await self._may_change(chat, user.id if user else None, None, context):
            await query.answer("Only this group's administrators can change its settings.")
            return
        ctx = Ctx(chat.id, chat.type, chat.title or "", user.id if user else None, [], self.clock())
        try:
            reply = self.chatbot.toggle(ctx, rule_id)
        except UsageError as err:
            await query.answer(str(err)[:200])
            return
        await query.answer("Done.")
        try:
            await query.edit_message_text(reply.text, reply_markup=markup(reply))
        except BadRequest as err:  # "message is not modified" and the like
            log.info("edit after a toggle in chat %s: %s", chat.id, err.message)

    async def on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The bot was blocked, kicked, or let back in: keep the chat's state in step."""
        change, chat = update.my_chat_member, update.effective_chat
        if change is None or chat is None:
            return
        now = self.clock()
        subs = self.chatbot.subscribers
        subs.touch(chat.id, chat.type, chat.title or chat.username or "", now)
        gone = change.new_chat_member.status in GONE_STATUSES
        subs.set_blocked(chat.id, gone, now)
        log.info("chat %s: the bot is now %s", chat.id, change.new_chat_member.status)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        err = context.error
        log.warning("update failed: %s: %s", type(err).__name__, err)

    # --- checks ----------------------------------------------------------------------------------

    async def _allowed(self, chat_id: int, context: ContextTypes.DEFAULT_TYPE) -> bool:
        now = time.monotonic()
        ok, wait = self.throttle.check(chat_id, now)
        if not ok and self.throttle.tell(chat_id, now):
            await self.send(context, chat_id, Reply(f"Too many commands; please wait {wait:.0f} s."))
        return ok

    async def _may_change(self, chat, user_id, message, context) -> bool:  # type: ignore[no-untyped-def]
        """Anyone in a private chat; in a group, supergroup or channel, its administrators only."""
        if chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP, ChatType.CHANNEL):
            return True
        if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
            return True  # an anonymous administrator speaks as the group
        if user_id is None:
            return False
        try:
            member = await context.bot.get_chat_member(chat.id, user_id)
        except TelegramError as err:
            log.info("getChatMember in chat %s failed: %s", chat.id, err)
            return False
        return member.status in ADMIN_STATUSES

    # --- sending ---------------------------------------------------------------------------------

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> None:
        """Send one reply; a network error is retried once, a blocked chat is marked, bad HTML
        falls back to plain text."""
        try:
            await self._send(context, chat_id, reply)
        except (NetworkError, TimedOut) as err:
            if isinstance(err, BadRequest | Forbidden):
                raise
            log.info("reply to chat %s: %s; trying once more", chat_id, err)
            await asyncio.sleep(0.5)
            try:
                await self._send(context, chat_id, reply)
            except TelegramError as again:
                log.warning("reply to chat %s failed: %s: %s", chat_id, type(again).__name__, again)

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply) -> None:
        bot = context.bot
        try:
            if reply.photo is not None:
                digest = hashlib.sha256(reply.photo).hexdigest()
                photo = self.file_ids.get(digest, reply.photo)
                sent = await bot.send_photo(chat_id, photo, caption=reply.text[:1024] or None)
                if sent.photo and digest not in self.file_ids:
                    self.file_ids[digest] = sent.photo[-1].file_id
                return
            for i, chunk in enumerate(chunks(reply.text)):
                last = i == len(chunks(reply.text)) - 1
                await bot.send_message(
                    chat_id,
                    chunk,
                    parse_mode=ParseMode.HTML if reply.html else None,
                    reply_markup=markup(reply) if last else None,
                )
        except Forbidden:
            self.chatbot.subscribers.set_blocked(chat_id, True, self.clock())
            log.info("chat %s blocked the bot", chat_id)
        except BadRequest as err:
            if reply.html:
                log.warning("HTML refused in chat %s (%s); sending plain text", chat_id, err.message)
                await self._send(context, chat_id, Reply(plain_text(reply.text)))
            else:
                log.warning("reply refused in chat %s: %s", chat_id, err.message)
        except (NetworkError, TimedOut):
            raise  # send() tries once more
        except TelegramError as err:
            log.warning("reply to chat %s failed: %s: %s", chat_id, type(err).__name__, err)


def markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [[InlineKeyboardButton(label, callback_data=data)] for label, data in reply.buttons]
    return InlineKeyboardMarkup(rows)


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line ends so that every piece fits a Telegram message; nothing is dropped."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out


def build_application(token: str, settings: TelegramSettings, frontend: TelegramFrontend) -> Application:
    """The Application: our handlers, Telegram's limits as a backstop, commands registered at start."""
    silence_http_logs()
    redact_in_logs(token)

    async def post_init(app: Application) -> None:
        commands = [BotCommand(c.name, c.about[:256]) for c in COMMANDS if not c.admin]
        await app.bot.set_my_commands(commands)

    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_url)
        .base_file_url(settings.api_url.replace("/bot", "/file/bot", 1))
        .rate_limiter(
            AIORateLimiter(
                overall_max_rate=max(30, round(settings.messages_per_second)),
                group_max_rate=max(1, round(settings.group_per_minute)),
                group_time_period=60,
                max_retries=2,
            )
        )
        .concurrent_updates(64)
        # a small pool: httpcore scans every connection on every request, and 256 cost more CPU
        # than they save; a request waits up to pool_timeout for a free connection
        .connection_pool_size(16)
        .pool_timeout(settings.request_timeout_seconds)
        .read_timeout(settings.request_timeout_seconds)
        .write_timeout(settings.request_timeout_seconds)
        .connect_timeout(settings.request_timeout_seconds)
        .get_updates_read_timeout(settings.poll_timeout_seconds + 10)
        .post_init(post_init)
        .build()
    )
    app.add_handler(MessageHandler(filters.COMMAND, frontend.on_command))
    app.add_handler(CallbackQueryHandler(frontend.on_button))
    app.add_handler(ChatMemberHandler(frontend.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, frontend.on_text))
    app.add_error_handler(frontend.on_error)
    return app
