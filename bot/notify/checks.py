"""The checks in front of a command's handler, each a decorator of a python-telegram-bot callback.

The front end stacks them as the command's row in the table asks (:mod:`bot.notify.commands`)::

    throttled(...)(short_enough(...)(operators_only(...)(group_admins_only(...)(answer))))

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

from bot.notify.chatbot import Reply
from bot.notify.throttle import Throttle

log = logging.getLogger("tic_alert.bot")
Context = ContextTypes.DEFAULT_TYPE
Callback = Callable[[Update, Context], Awaitable[None]]
Say = Callable[[Context, int, Reply], Awaitable[None]]
ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
SETTINGS_REFUSED = "Only this group's administrators can change its settings."


def throttled(throttle: Throttle, say: Say) -> Callable[[Callback], Callback]:
    """A chat over its command budget is told once to slow down; its commands are not run."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat = update.effective_chat
            if chat is None:
                return
            now = time.monotonic()
            ok, wait = throttle.check(chat.id, now)
            if ok:
                await callback(update, context)
            elif throttle.tell(chat.id, now):
                await say(context, chat.id, Reply(f"Too many commands; please wait {wait:.0f} s."))

        return check

    return decorate


def short_enough(limit: int, usage: str, say: Say) -> Callable[[Callback], Callback]:
    """A command longer than ``limit`` characters is refused with the command's usage."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            message, chat = update.effective_message, update.effective_chat
            if message is None or chat is None:
                return
            if len(message.text or "") > limit:
                await say(context, chat.id, Reply(f"That is longer than any command takes.\nUsage: {usage}"))
                return
            await callback(update, context)

        return check

    return decorate


def operators_only(admins: Collection[int], say: Say) -> Callable[[Callback], Callback]:
    """Only the bot's operators (by user id, or an operator's chat id) may run the command."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat, user = update.effective_chat, update.effective_user
            if chat is None:
                return
            if (user.id if user else None) not in admins and chat.id not in admins:
                await say(context, chat.id, Reply("That command is for the bot's operators."))
                return
            await callback(update, context)

        return check

    return decorate


def group_admins_only(say: Say) -> Callable[[Callback], Callback]:
    """In a group, supergroup or channel only its administrators may run the command."""

    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def check(update: Update, context: Context) -> None:
            chat, user = update.effective_chat, update.effective_user
            if chat is None:
                return
            if not await may_change(chat, user.id if user else None, update.effective_message, context):
                await say(context, chat.id, Reply(SETTINGS_REFUSED))
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
