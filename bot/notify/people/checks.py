"""The checks in front of a command's handler, each a decorator of a python-telegram-bot callback.

The front end stacks them as the command's row in the table asks (:mod:`bot.notify.people.commands`)::

    throttled(...)(not_crowded(...)(short_enough(...)(operators_only(...)(group_admins_only(...)(answer)))))

A check that refuses sends its one-line reason (through ``say``) and the handler does not run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from functools import wraps

from telegram import Chat, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.notify.people.chatbot import Reply, shown
from bot.notify.people.throttle import Throttle

log = logging.getLogger("tic_alert.bot")
Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Awaitable[None]]
Say = Callable[[int, Reply], None]  # queue a reply to a chat
Decorator = Callable[[Callback], Callback]
ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
SETTINGS_REFUSED = "Only this group's administrators can change its settings."
CROWDED = "This chat asked more than Telegram lets me answer in time; ask again in a minute."


def throttled(throttle: Throttle, say: Say, refusals: Throttle | None = None) -> Decorator:
    """A person over the command budget (per person and chat: one member's flood never locks out
    the others) is told once a burst that nothing is carried out for a while; the command does not
    run. Given ``refusals`` (settings commands), every refused change is also told "Not changed",
    within that budget of refusals a minute, so a settings change is never dropped silently."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat, user = update.effective_chat, update.effective_user
            if chat is None:
                return
            now = time.monotonic()
            key = (chat.id, user.id if user else None)
            ok, wait = throttle.check(key, now)
            if ok:
                await callback(update, context)
                return
            who = "" if chat.type == ChatType.PRIVATE or user is None else f" from {shown(user.first_name)}"
            if throttle.tell(key, now):
                text = f"Too many commands{who}; please wait {wait:.0f} s (until then none is carried out)."
                say(chat.id, Reply(text))
            elif refusals is not None and refusals.check(key, now)[0]:
                text = f"Not changed: too many commands{who}; please wait {wait:.0f} s and send it again."
                say(chat.id, Reply(text))

        return check

    return decorate


def not_crowded(crowded: Callable[[int], bool], throttle: Throttle, say: Say) -> Decorator:
    """A chat whose replies already wait longer than Telegram's pace allows in time takes no more
    reads (settings changes still go: they are answered first); it is told once a burst."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat = update.effective_chat
            if chat is None:
                return
            if not crowded(chat.id):
                await callback(update, context)
            elif throttle.tell(("crowded", chat.id), time.monotonic()):
                say(chat.id, Reply(CROWDED))

        return check

    return decorate


def short_enough(limit: int, usage: str, say: Say) -> Decorator:
    """A command longer than ``limit`` characters is refused with the command's usage."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            message, chat = update.effective_message, update.effective_chat
            if message is None or chat is None:
                return
            if len(message.text or "") > limit:
                say(chat.id, Reply(f"That is longer than any command takes.\nUsage: {usage}"))
                return
            await callback(update, context)

        return check

    return decorate


def operators_only(admins: Collection[int], say: Say) -> Decorator:
    """Only the bot's operators may run the command, and only in a private chat with the bot (the
    answer holds numbers about every chat: not for a group's members to read)."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat, user = update.effective_chat, update.effective_user
            if chat is None:
                return
            if user is None or user.id not in admins:
                say(chat.id, Reply("That command is for the bot's operators."))
            elif chat.type != ChatType.PRIVATE:
                say(chat.id, Reply("Operator commands answer in a private chat with the bot."))
            else:
                await callback(update, context)

        return check

    return decorate


def group_admins_only(say: Say) -> Decorator:
    """In a group, supergroup or channel only its administrators may run the command."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat, user = update.effective_chat, update.effective_user
            if chat is None:
                return
            if not await may_change(chat, user.id if user else None, update.effective_message, context):
                say(chat.id, Reply(SETTINGS_REFUSED))
                return
            await callback(update, context)

        return check

    return decorate


async def may_change(chat: Chat, user_id: int | None, message: Message | None, context: Context) -> bool:
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
