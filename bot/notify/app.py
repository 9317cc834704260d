"""python-telegram-bot wiring: receive updates, ask the ChatBot, send the replies.

Every row of the command table becomes a ``CommandHandler`` whose callback is the row's handler
behind the checks the row asks for (:meth:`TelegramFrontend.callback`); a command no row takes
gets the closest one suggested in a private chat, silence in a group. The token is in every Bot
API URL, so httpx's request log is silenced and no log line of ours names it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
from collections.abc import Awaitable, Callable, Collection

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.constants import ChatMemberStatus
from telegram.error import BadRequest, Conflict, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.errors import StoreError
from bot.notify.outbound.limiter import CountingRateLimiter
from bot.notify.outbound.pieces import markup
from bot.notify.outbound.reply_queue import ReplyQueue, Urgency
from bot.notify.outbound.transport import AiohttpRequest
from bot.notify.outbound.verdicts import message_of
from bot.notify.patience import Attempts, kind_of
from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError, shown
from bot.notify.people.checks import (
    SETTINGS_REFUSED,
    Callback,
    Context,
    group_admins_only,
    may_change,
    not_crowded,
    operators_only,
    short_enough,
    throttled,
)
from bot.notify.people.commands import BY_NAME, COMMANDS, MAX_COMMAND_CHARS, Command, answer, split_command
from bot.notify.people.commands.thresholds import toggle
from bot.notify.people.db_health import not_saved
from bot.notify.people.throttle import Throttle
from bot.notify.people.timing import answered, reply_done, timed
from bot.notify.redact import redact_in_logs, silence_http_logs
from bot.notify.settings import TelegramSettings
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.bot")
GONE_STATUSES = {ChatMemberStatus.BANNED, ChatMemberStatus.LEFT}
FAILED = "Sorry, that failed on our side; the operators can see why. Please try later."
COMMANDS_ONLY = "I answer commands: /help lists them."
CONFLICT = (
    "another process polls Telegram with this bot's token (a tic-alert on another database or host?):"
    " Telegram gives updates to one of them; stop the other (python-telegram-bot keeps polling)"
)
# commands come as messages, edited messages and channel posts
COMMAND_UPDATES = filters.UpdateType.MESSAGES | filters.UpdateType.CHANNEL_POSTS
Hook = Callable[[Application], Awaitable[None]]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TelegramFrontend:
    """The callbacks, sharing one ChatBot, the throttles, the operators' ids and the reply queue."""

    def __init__(
        self,
        chatbot: ChatBot,
        settings: TelegramSettings,
        replies: ReplyQueue,
        clock: Callable[[], dt.datetime] = utc_now,
        telemetry: Telemetry | None = None,
    ):
        self.telemetry = telemetry  # command latency (and the per-command log line: people.timing)
        self.chatbot = chatbot
        self.settings = settings
        self.admins = set(settings.admins)
        self.throttle = Throttle(settings.commands_per_minute)  # per person and chat
        self.refusals = Throttle(settings.commands_per_minute)  # refused settings changes told
        self.clock = clock
        self.replies = replies
        self.polling = Attempts("getUpdates failed", then="python-telegram-bot polls again with backoff")
        # 409: another process polls with this token (a second tic-alert on another database, or any
        # other bot): one line an hour while it lasts, never a traceback per poll
        self.conflict = Attempts("getUpdates: 409 Conflict", quiet=3600.0, then=CONFLICT)
        self.migrated: Callable[[int, int], None] = lambda old, new: None  # the sender's: chat and rows move

    def submit(
        self, chat_id: int, replies: list[Reply], urgency: Urgency, user_id: int | None = None
    ) -> None:
        """Queue replies; a command's latency runs until the reply queue has sent them (timing)."""
        self.replies.submit(chat_id, replies, urgency, user_id, done=reply_done())

    def say(self, chat_id: int, reply: Reply) -> None:
        """A refusal or a notice: queued ahead of the answers."""
        self.submit(chat_id, [reply], Urgency.NOW)

    def callback(self, command: Command) -> Callback:
        """The command's handler behind the checks its row asks for (the first listed runs first)."""
        run = self.answerer(command)
        if command.settings:
            run = group_admins_only(self.say)(run)
        if command.admin:
            run = operators_only(self.admins, self.say)(run)
        run = short_enough(MAX_COMMAND_CHARS, command.usage, self.say)(run)
        if not command.settings:  # a settings change is always taken (and answered first)
            run = not_crowded(self.replies.crowded, self.throttle, self.say)(run)
        run = throttled(self.throttle, self.say, self.refusals if command.settings else None)(run)
        return timed(command.name, self.telemetry)(run)

    def answerer(self, command: Command) -> Callback:
        """Ask the command's handler and queue its replies; a failure is logged and apologised for."""
        urgency = Urgency.NOW if command.settings else Urgency.HEAVY if command.heavy else Urgency.READ

        async def run(update: Update, context: Context) -> None:
            chat, user = update.effective_chat, update.effective_user
            if chat is None:
                return
            title = chat.title or chat.username or ""
            user_id = user.id if user else None
            ctx = Ctx(chat.id, chat.type, title, user_id, context.args or [], self.clock())
            try:
                replies = await answer(self.chatbot, command, ctx)
                answered()
            except Exception:
                log.exception("command /%s failed in chat %s", command.name, chat.id)
                answered("failed")
                replies = [Reply(FAILED)]
            self.submit(chat.id, replies, urgency, user_id)

        return run

    async def on_unknown(self, update: Update, context: Context) -> None:
        """A command no row takes, in a private chat: the closest one (a command for another bot:
        nothing)."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text:
            return
        addressed = message.text.split(maxsplit=1)[0].partition("@")[2]
        if addressed and addressed.lower() != (context.bot.username or "").lower():
            return  # "/stop@OtherBot" is not for us
        name, _ = split_command(message.text)
        close = difflib.get_close_matches(name, list(BY_NAME), n=1)
        hint = f" Did you mean /{close[0]}?" if close else ""
        text = f"Unknown command /{shown(name, 32)}.{hint} /help lists the commands."
        self.submit(chat.id, [Reply(text)], Urgency.READ, chat.id)  # a private chat: its user

    async def on_text(self, update: Update, context: Context) -> None:
        chat = update.effective_chat
        if chat is not None:
            self.submit(chat.id, [Reply(COMMANDS_ONLY)], Urgency.READ, chat.id)

    async def on_button(self, update: Update, context: Context) -> None:
        query, chat, user = update.callback_query, update.effective_chat, update.effective_user
        if query is None or chat is None:
            return
        kind, _, rule_id = (query.data or "").partition(":")
        if kind != "toggle" or not await may_change(chat, user.id if user else None, None, context):
            await query.answer(SETTINGS_REFUSED)
            return
        ctx = Ctx(chat.id, chat.type, chat.title or "", user.id if user else None, [], self.clock())
        try:
            reply = toggle(self.chatbot, self.chatbot.record(ctx), rule_id)
        except UsageError as err:
            await query.answer(str(err)[:200])
            return
        except StoreError as err:
            await query.answer(not_saved(err)[:200], show_alert=True)
            return
        await query.answer("Done.")
        try:
            await query.edit_message_text(reply.text, reply_markup=markup(reply.buttons))
        except BadRequest as err:  # "message is not modified" and the like
            log.info("edit after a toggle in chat %s: %s", chat.id, err.message)

    async def on_membership(self, update: Update, context: Context) -> None:
        """The bot was blocked, kicked, or let back in: keep the chat's state in step."""
        change, chat = update.my_chat_member, update.effective_chat
        if change is None or chat is None:
            return
        now = self.clock()
        subs = self.chatbot.subscribers
        log.info("chat %s: the bot is now %s", chat.id, change.new_chat_member.status)
        try:
            subs.touch(chat.id, chat.type, chat.title or chat.username or "", now)
            subs.set_blocked(chat.id, change.new_chat_member.status in GONE_STATUSES, now)
        except StoreError as err:
            self.chatbot.db.failed(err, f"membership of chat {chat.id}")

    async def on_migration(self, update: Update, context: Context) -> None:
        """A group became a supergroup (Telegram's service messages: "migrated to" in the old chat,
        "migrated from" in the new one; either moves the chat, the second changes nothing)."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        log.info("chat %s became supergroup %s: its settings and deliveries move", old, new)
        try:
            self.migrated(old, new)
        except StoreError as err:  # the next send to the old id gets a 400 that moves it
            self.chatbot.db.failed(err, f"migration of chat {old}")

    async def on_error(self, update: object, context: Context) -> None:
        err = context.error
        if update is None and isinstance(err, Conflict):
            self.conflict.failed(message_of(err).removeprefix("Conflict: "))
        elif update is None and isinstance(err, TelegramError):  # getUpdates: Telegram unreachable
            self.polling.failed(kind_of(err))
        else:
            log.warning("update failed: %s: %s", type(err).__name__, err)

    def handlers(self, app: Application) -> None:
        """One CommandHandler a row of the table, then the fallbacks, buttons, membership and
        migrations."""
        slow_down = throttled(self.throttle, self.say)
        for command in COMMANDS:
            # heavy work does not hold one of the Application's update slots: cheap commands go on
            handler = CommandHandler(
                command.name, self.callback(command), filters=COMMAND_UPDATES, block=not command.heavy
            )
            app.add_handler(handler)
        private = filters.ChatType.PRIVATE
        app.add_handler(MessageHandler(filters.COMMAND & private, slow_down(self.on_unknown)))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migration))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & private, slow_down(self.on_text)))
        app.add_error_handler(self.on_error)


async def register_commands(bot: Bot, admins: Collection[int] = ()) -> None:
    """setMyCommands from the table: everyone's menu without the operators' commands; each
    operator's own chat (BotCommandScopeChat) with them."""
    await bot.set_my_commands([BotCommand(c.name, c.about[:256]) for c in COMMANDS if not c.admin])
    every = [BotCommand(c.name, c.about[:256]) for c in COMMANDS]
    for admin in admins:
        try:
            await bot.set_my_commands(every, scope=BotCommandScopeChat(admin))
        except TelegramError as err:  # an operator who never talked to the bot, a mistyped id
            log.warning("the operators' command menu for chat %s was not set: %s", admin, err)


def build_application(
    token: str, settings: TelegramSettings, frontend: TelegramFrontend, post_init: Hook, post_stop: Hook
) -> Application:
    """The Application: our handlers, Telegram's limits as a backstop, the caller's start and stop."""
    silence_http_logs()
    redact_in_logs(token)
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.api_url)
        .base_file_url(settings.api_url.replace("/bot", "/file/bot", 1))
        .rate_limiter(
            CountingRateLimiter(
                overall_max_rate=max(30, round(settings.messages_per_second)),
                group_max_rate=max(1, round(settings.group_per_minute)),
                group_time_period=60,
                max_retries=0,  # a 429 comes back to us: the Pacer pauses every send (classify)
                on_429=frontend.telemetry.throttled.inc if frontend.telemetry else lambda: None,
            )
        )
        .concurrent_updates(64)
        # every call on aiohttp's kept-alive connections (bot/notify/outbound/transport.py): a
        # paid broadcast's 1,000 a second, without httpx's per-call cost; a call waits up to the
        # timeout for one of them
        .request(AiohttpRequest(timeout=settings.request_timeout_seconds))
        .get_updates_request(  # the long poll: one call at a time, held for up to poll_timeout
            AiohttpRequest(
                connections=1,
                timeout=settings.request_timeout_seconds,
                read_timeout=settings.poll_timeout_seconds + 10,
            )
        )
        .post_init(post_init)
        .post_stop(post_stop)
        .build()
    )
    frontend.handlers(app)
    return app
