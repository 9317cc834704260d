"""The bot's answers: a command and its arguments in, replies out; settings kept in the store.

Telegram is not here (bot.notify.app receives updates and sends replies); the database calls
run on the event loop's thread, the CPU work (charts, history) in worker threads through
:meth:`ChatBot.heavy`, at most ``heavy_workers`` at once across all chats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence

from bot.data.entities import Group
from bot.errors import ConfigError
from bot.notify.commands import BY_NAME, Reply, help_text
from bot.notify.compose import chat_events, overrides_for
from bot.notify.entity_commands import Ctx, EntityCommands, UsageError
from bot.notify.replies import history_text, rules_buttons, rules_text, status_text
from bot.notify.service import MAX_CHART_YEARS, ReleaseView, parse_until
from bot.rules.catalogue import FLOOR, Rule, check_overrides
from bot.store.subscribers import FOREVER, MODES, Subscribers
from bot.watch.calendar import Calendar, next_slots, release_moment


class ChatBot(EntityCommands):
    """Answers commands for every chat; holds the release view the answers are computed from."""

    def __init__(
        self,
        subscribers: Subscribers,
        rules: Sequence[Rule],
        groups: Sequence[Group],
        calendar: Calendar,
        heavy_workers: int = 2,
        stats: Callable[[], str] | None = None,
    ):
        self.subscribers = subscribers
        self.rules = tuple(rules)
        self.by_id = {r.id: r for r in self.rules}
        self.groups = tuple(groups)
        self.calendar = calendar
        self.view: ReleaseView | None = None
        self._stats = stats
        self._heavy = asyncio.Semaphore(heavy_workers)

    async def heavy(self, fn: Callable, *args: object) -> object:
        """CPU work in a worker thread, a bounded number at once."""
        async with self._heavy:
            return await asyncio.to_thread(fn, *args)

    async def answer(self, name: str, ctx: Ctx) -> list[Reply]:
        """The replies to ``/name args``; a UsageError becomes its one-line message."""
        command = BY_NAME[name]
        try:
            return await getattr(self, f"cmd_{name}")(ctx)
        except UsageError as err:
            return [Reply(f"{err}\nUsage: {command.usage}")]

    # --- subscription ----------------------------------------------------------------------------

    async def cmd_start(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        self.subscribers.set_subscribed(ctx.chat_id, True, ctx.now)
        again = "Welcome back: your settings are as you left them.\n\n" if chat.rules or chat.watches else ""
        nxt = self._next_text(ctx.now, 1)
        on = sum(1 for r in self.rules if r.enabled)
        return [
            Reply(
                f"{again}Subscribed. Minutes after each TIC release you get one message when one of "
                f"{on} rules fires (record 3-month declines, foreign official net selling, "
                "multi-year lows, changes of rank …), ranked in history, with a chart.\n"
                f"{nxt}\n\n"
                "/rules — see and change thresholds\n"
                "/watch japan — only what you follow\n"
                "/mode summary — every release, not only alerts\n"
                "/latest — the newest release now\n"
                "/stop — unsubscribe · /help — all commands"
            )
        ]

    async def cmd_stop(self, ctx: Ctx) -> list[Reply]:
        self.chat(ctx)
        self.subscribers.set_subscribed(ctx.chat_id, False, ctx.now)
        return [Reply("Unsubscribed: no more alerts. Your settings are kept; /start brings them back.")]

    async def cmd_help(self, ctx: Ctx) -> list[Reply]:
        return [Reply(help_text())]

    async def cmd_status(self, ctx: Ctx) -> list[Reply]:
        return [Reply(status_text(self.chat(ctx), self.rules, ctx.now.date()))]

    async def cmd_mode(self, ctx: Ctx) -> list[Reply]:
        if len(ctx.args) != 1 or ctx.args[0].lower() not in MODES:
            raise UsageError("Say which mode: alerts or summary.")
        self.chat(ctx)
        mode = ctx.args[0].lower()
        self.subscribers.set_mode(ctx.chat_id, mode, ctx.now)
        what = "every release's summary" if mode == "summary" else "a message only when a rule fires"
        return [Reply(f"Mode: {mode} — you get {what}.")]

    # --- rules -----------------------------------------------------------------------------------

    def rule(self, name: str) -> Rule:
        rule = self.by_id.get(name.lower())
        if rule is None:
            close = [r.id for r in self.rules if name.lower()[:4] in r.id][:3]
            hint = f" Did you mean {', '.join(close)}?" if close else " /rules lists them."
            raise UsageError(f"No rule called {name[:40]!r}.{hint}")
        return rule

    async def cmd_rules(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        today = ctx.now.date()
        return [Reply(rules_text(chat, self.rules, today), buttons=rules_buttons(chat, self.rules, today))]

    def toggle(self, ctx: Ctx, rule_id: str) -> Reply:
        """An inline button pressed under /rules: switch one rule on or off for this chat."""
        rule = self.rule(rule_id)
        chat = self.chat(ctx)
        default = rule.threshold if rule.enabled else None
        on = overrides_for(chat, self.rules, ctx.now.date()).get(rule.id, default)
        self.subscribers.set_rule(ctx.chat_id, rule.id, enabled=0 if on is not None else 1, muted_until=None)
        chat = self.subscribers.get(ctx.chat_id)
        assert chat is not None
        today = ctx.now.date()
        return Reply(rules_text(chat, self.rules, today), buttons=rules_buttons(chat, self.rules, today))

    def _value(self, rule: Rule, text: str) -> float:
        try:
            value = float(text.replace(",", ""))
        except ValueError:
            raise UsageError(f"{text[:20]!r} is not a number ({rule.spec.threshold_means}).") from None
        try:
            check_overrides([rule], {rule.id: value})
        except Exception:
            means = rule.spec.threshold_means
            raise UsageError(f"{text[:20]!r} is out of range for {rule.id}: {means}.") from None
        return value

    async def cmd_set(self, ctx: Ctx) -> list[Reply]:
        if len(ctx.args) == 3 and ctx.args[1].lower() == "floor":
            return await self._set_floor(ctx, self.rule(ctx.args[0]), ctx.args[2])
        if len(ctx.args) != 2:
            raise UsageError("Give a rule and a value, e.g. /set holdings-3m-drop 80 (or: floor 20).")
        rule = self.rule(ctx.args[0])
        word = ctx.args[1].lower()
        self.chat(ctx)
        if word in ("off", "on"):
            self.subscribers.set_rule(ctx.chat_id, rule.id, enabled=int(word == "on"))
            return [Reply(f"{rule.id} is {word} for this chat.")]
        value = self._value(rule, ctx.args[1])
        self.subscribers.set_rule(ctx.chat_id, rule.id, threshold=value, enabled=1)
        head = f"{rule.id}: threshold {value:g} for this chat (default {rule.threshold:g})."
        return [Reply(head + "\n\n" + await self._history(rule, value))]

    async def _set_floor(self, ctx: Ctx, rule: Rule, text: str) -> list[Reply]:
        """The smallest $bn move of the rule that is news to this chat."""
        try:
            value = float(text.replace(",", ""))
            check_overrides([rule], {rule.id + FLOOR: value})
        except (ValueError, ConfigError):
            raise UsageError(f"{text[:20]!r}: a floor is an amount in $bn from 0 to 100,000.") from None
        self.chat(ctx)
        self.subscribers.set_rule(ctx.chat_id, rule.id, floor=value)
        head = f"{rule.id}: floor {value:g}bn for this chat (default {rule.floor:g}bn)."
        return [Reply(head + "\n\n" + await self._history(rule, None, value))]

    async def cmd_backtest(self, ctx: Ctx) -> list[Reply]:
        if not 1 <= len(ctx.args) <= 2:
            raise UsageError("Give a rule, and a value to try if you like.")
        rule = self.rule(ctx.args[0])
        value = self._value(rule, ctx.args[1]) if len(ctx.args) == 2 else None
        return [Reply(await self._history(rule, value))]

    async def _history(self, rule: Rule, value: float | None, floor: float | None = None) -> str:
        view = self._view()
        history = await self.heavy(view.rule_history, rule, value, floor)
        return history_text(history)  # type: ignore[arg-type]

    async def cmd_reset(self, ctx: Ctx) -> list[Reply]:
        if len(ctx.args) > 1:
            raise UsageError("Give one rule, or none to reset them all.")
        self.chat(ctx)
        if ctx.args:
            rule = self.rule(ctx.args[0])
            self.subscribers.reset_rules(ctx.chat_id, rule.id)
            return [Reply(f"{rule.id}: back to the default (threshold {rule.threshold:g}).")]
        n = self.subscribers.reset_rules(ctx.chat_id)
        return [Reply(f"Every rule is back to its default ({n} changed).")]

    async def cmd_mute(self, ctx: Ctx) -> list[Reply]:
        args = ctx.args
        if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "until"):
            raise UsageError("Give a rule (or all), and optionally: until YYYY-MM-DD.")
        until = FOREVER
        if len(args) == 3:
            try:
                until = parse_until(args[2], ctx.now.date()).isoformat()
            except ValueError as err:
                raise UsageError(str(err)) from None
        rules = self.rules if args[0].lower() == "all" else (self.rule(args[0]),)
        self.chat(ctx)
        for rule in rules:
            self.subscribers.set_rule(ctx.chat_id, rule.id, muted_until=until)
        names = "every rule" if len(rules) > 1 else rules[0].id
        when = "until /unmute" if until == FOREVER else f"until {until} (inclusive)"
        return [Reply(f"Muted {names} {when}.")]

    async def cmd_unmute(self, ctx: Ctx) -> list[Reply]:
        if len(ctx.args) > 1:
            raise UsageError("Give one rule, or all.")
        chat = self.chat(ctx)
        which = ctx.args[0].lower() if ctx.args else "all"
        rules = [r for r in self.rules if r.id in chat.rules] if which == "all" else [self.rule(which)]
        for rule in rules:
            self.subscribers.set_rule(ctx.chat_id, rule.id, muted_until=None)
        return [Reply("Unmuted." if rules else "Nothing was muted.")]

    # --- the release -----------------------------------------------------------------------------

    def _view(self) -> ReleaseView:
        if self.view is None:
            raise UsageError("No release is loaded yet; try again in a minute.")
        return self.view

    async def cmd_latest(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        view = self._view()
        events = chat_events(view.release, chat, self.rules, ctx.now.date(), self.groups)
        html, png = await self.heavy(view.release_message, events)  # type: ignore[misc]
        month = view.summary.data_month
        caption = f"TIC release, data for {month}: {len(events)} event(s) for this chat."
        return [Reply(caption, photo=png), Reply(html, html=True)]

    async def cmd_testalert(self, ctx: Ctx) -> list[Reply]:
        return await self.cmd_latest(ctx)

    async def cmd_chart(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        args = list(ctx.args)
        years = 5
        if args and args[-1].isdigit():
            years = int(args.pop())
            if not 1 <= years <= MAX_CHART_YEARS:
                raise UsageError(f"Years must be 1 to {MAX_CHART_YEARS}.")
        entity = self.entity(chat, " ".join(args))
        view = self._view()
        members = chat.groups.get(entity, ())
        png = await self.heavy(view.entity_chart, entity, years, tuple(members))
        if png is None:
            return [Reply(f"No holdings data for {entity} in the last {years} years.")]
        return [Reply(f"{entity}: holdings of U.S. Treasuries, last {years} years", photo=png)]  # type: ignore[arg-type]

    async def cmd_next(self, ctx: Ctx) -> list[Reply]:
        return [Reply(self._next_text(ctx.now, 3))]

    def _next_text(self, now: dt.datetime, count: int) -> str:
        lines = []
        for slot in next_slots(self.calendar, now, count):
            first = release_moment(self.calendar, slot.days[0])
            utc = first.astimezone(dt.UTC)
            kind = "" if slot.official else " (estimated)"
            data = dt.date.fromisoformat(slot.data_month + "-01").strftime("%B %Y")
            lines.append(f"{first:%a %d %b %Y}, {first:%-I:%M %p} ET = {utc:%H:%M} UTC{kind}: {data} data")
        return "Next release: " + lines[0] if count == 1 else "Next releases:\n" + "\n".join(lines)

    async def cmd_stats(self, ctx: Ctx) -> list[Reply]:
        counts = self.subscribers.counts()
        active, stopped, blocked = counts["active"], counts["stopped"], counts["blocked"]
        lines = [f"Chats: {active} active, {stopped} stopped, {blocked} blocked"]
        lines.append(f"Release loaded: {self.view.month if self.view else 'none'}")
        if self._stats:
            lines.append(self._stats())
        return [Reply("\n".join(lines))]
