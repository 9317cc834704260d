"""/rules, /set, /reset, /mute, /unmute and /backtest: a chat's rules, and what they would catch.

:func:`toggle` answers the buttons under /rules.
"""

from __future__ import annotations

import datetime as dt

from bot.errors import ConfigError
from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError
from bot.notify.people.replies import history_text, rules_buttons, rules_text, threshold_words
from bot.notify.release.selection import overrides_for
from bot.rules.catalogue import Rule
from bot.rules.overrides import Override, check_overrides, threshold_for
from bot.store.subscribers import FOREVER, Chat


async def list_rules(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    return [rules_reply(bot, bot.chat(ctx), ctx.now.date())]


def toggle(bot: ChatBot, ctx: Ctx, rule_id: str) -> Reply:
    """An inline button pressed under /rules: switch one rule on or off for this chat."""
    rule = bot.rule(rule_id)
    chat = bot.chat(ctx)
    on = threshold_for(rule, overrides_for(chat, [rule], ctx.now.date()))
    bot.subscribers.set_rule(ctx.chat_id, rule.id, enabled=0 if on is not None else 1, muted_until=None)
    changed = bot.subscribers.get(ctx.chat_id)
    assert changed is not None
    return rules_reply(bot, changed, ctx.now.date())


def rules_reply(bot: ChatBot, chat: Chat, today: dt.date) -> Reply:
    """Every rule with this chat's setting, and a button a rule to switch it."""
    return Reply(rules_text(chat, bot.rules, today), buttons=rules_buttons(chat, bot.rules, today))


async def set_rule(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    if len(ctx.args) == 3 and ctx.args[1].lower() == "floor":
        return await set_floor(bot, ctx, bot.rule(ctx.args[0]), ctx.args[2])
    if len(ctx.args) != 2:
        raise UsageError("Give a rule and a value, e.g. /set holdings-3m-drop 80 (or: floor 20).")
    rule = bot.rule(ctx.args[0])
    word = ctx.args[1].lower()
    bot.chat(ctx)
    if word in ("off", "on"):
        bot.subscribers.set_rule(ctx.chat_id, rule.id, enabled=int(word == "on"))
        return [Reply(f"{rule.id} is {word} for this chat.")]
    value = threshold_value(rule, ctx.args[1])
    bot.subscribers.set_rule(ctx.chat_id, rule.id, threshold=value, enabled=1)
    head = (
        f"{rule.id}: threshold {threshold_words(rule, value)} for this chat "
        f"(default {threshold_words(rule, rule.threshold)})."
    )
    return [Reply(head + "\n\n" + await history(bot, rule, value))]


async def set_floor(bot: ChatBot, ctx: Ctx, rule: Rule, text: str) -> list[Reply]:
    """The smallest $bn move of the rule that is news to this chat."""
    try:
        value = float(text.replace(",", ""))
        check_overrides([rule], {rule.id: Override(floor=value)})
    except (ValueError, ConfigError):
        raise UsageError(f"{text[:20]!r}: a floor is an amount in $bn from 0 to 100,000.") from None
    bot.chat(ctx)
    bot.subscribers.set_rule(ctx.chat_id, rule.id, floor=value)
    head = f"{rule.id}: floor {value:g}bn for this chat (default {rule.floor:g}bn)."
    return [Reply(head + "\n\n" + await history(bot, rule, None, value))]


def threshold_value(rule: Rule, text: str) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise UsageError(f"{text[:20]!r} is not a number ({rule.spec.threshold_means}).") from None
    try:
        check_overrides([rule], {rule.id: Override(threshold=value)})
    except Exception:
        means = rule.spec.threshold_means
        raise UsageError(f"{text[:20]!r} is out of range for {rule.id}: {means}.") from None
    return value


async def backtest(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    if not 1 <= len(ctx.args) <= 2:
        raise UsageError("Give a rule, and a value to try if you like.")
    rule = bot.rule(ctx.args[0])
    value = threshold_value(rule, ctx.args[1]) if len(ctx.args) == 2 else None
    return [Reply(await history(bot, rule, value))]


async def history(bot: ChatBot, rule: Rule, value: float | None, floor: float | None = None) -> str:
    """What the rule would have caught since 2000 at this threshold and floor (a worker thread)."""
    found = await bot.heavy(bot.release().rule_history, rule, value, floor)
    return history_text(found)


async def reset(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    if len(ctx.args) > 1:
        raise UsageError("Give one rule, or none to reset them all.")
    bot.chat(ctx)
    if ctx.args:
        rule = bot.rule(ctx.args[0])
        bot.subscribers.reset_rules(ctx.chat_id, rule.id)
        return [Reply(f"{rule.id}: back to the default (threshold {threshold_words(rule, rule.threshold)}).")]
    n = bot.subscribers.reset_rules(ctx.chat_id)
    return [Reply(f"Every rule is back to its default ({n} changed).")]


async def mute(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    args = ctx.args
    if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "until"):
        raise UsageError("Give a rule (or all), and optionally: until YYYY-MM-DD.")
    until = FOREVER
    if len(args) == 3:
        try:
            until = parse_until(args[2], ctx.now.date()).isoformat()
        except ValueError as err:
            raise UsageError(str(err)) from None
    rules = bot.rules if args[0].lower() == "all" else (bot.rule(args[0]),)
    bot.chat(ctx)
    bot.subscribers.set_rules(ctx.chat_id, [r.id for r in rules], muted_until=until)  # all or none
    names = "every rule" if len(rules) > 1 else rules[0].id
    when = "until /unmute" if until == FOREVER else f"until {until} (inclusive)"
    return [Reply(f"Muted {names} {when}.")]


async def unmute(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    if len(ctx.args) > 1:
        raise UsageError("Give one rule, or all.")
    chat = bot.chat(ctx)
    which = ctx.args[0].lower() if ctx.args else "all"
    rules = [r for r in bot.rules if r.id in chat.rules] if which == "all" else [bot.rule(which)]
    if rules:
        bot.subscribers.set_rules(ctx.chat_id, [r.id for r in rules], muted_until=None)
    return [Reply("Unmuted." if rules else "Nothing was muted.")]


def parse_until(text: str, today: dt.date) -> dt.date:
    """``YYYY-MM-DD`` on or after today (ValueError with what was expected otherwise)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"expected a date as YYYY-MM-DD, found {text[:20]!r}") from err
    if day < today:
        raise ValueError(f"{day.isoformat()} is in the past")
    return day
