"""The words of the bot's settings replies: status, the rules list and its buttons, a rule's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.notify.people.assets import shown_watch
from bot.notify.release.selection import overrides_for
from bot.render.limits import TEXT_LIMIT, telegram_length
from bot.render.text import headline, month_name
from bot.rules.catalogue import Rule
from bot.rules.history import RuleHistory
from bot.rules.kinds import KindName
from bot.rules.overrides import threshold_for
from bot.store.subscribers import FOREVER, Chat

# what a kind's threshold counts, as /rules and /set show it ("threshold 3 years")
THRESHOLD_UNITS = {
    KindName.RECORD: "",
    KindName.LARGEST_SINCE: " years",
    KindName.OFFICIAL_SELLING: "bn",
    KindName.STREAK: " months",
    KindName.MULTI_YEAR: " years",
    KindName.RANK_CHANGE: " place(s)",
}


def threshold_words(rule: Rule, value: float) -> str:
    """A threshold with what it counts: "50bn", "25%", "3 years", "12 months", "top 1"."""
    if rule.spec.name == KindName.RECORD:
        return f"top {value:g}"
    unit = THRESHOLD_UNITS.get(rule.spec.name, "%" if rule.unit == "pct" else "bn")
    if value == 1 and unit.endswith("s"):
        unit = unit[:-1]  # "1 year", "1 month"
    return f"{value:g}{unit}"


def rule_state(chat: Chat, rule: Rule, today: dt.date) -> str:
    """``threshold 80 (default 50)``, ``off``, ``muted until 2026-12-31`` …"""
    setting = chat.rules.get(rule.id)
    if setting and chat.muted(rule.id, today):
        until = setting.muted_until
        return "muted" + ("" if until == FOREVER else f" until {until}")
    value = threshold_for(rule, overrides_for(chat, [rule], today))
    if value is None:
        return "off" + ("" if rule.enabled else " (off by default)")
    default = f"default {threshold_words(rule, rule.threshold)}" + (
        "" if rule.enabled else ", off by default"
    )
    shown = f" ({default})" if value != rule.threshold or not rule.enabled else ""
    text = f"threshold {threshold_words(rule, value)}{shown}"
    floor = setting.floor if setting and setting.floor is not None else rule.floor
    if floor or (setting and setting.floor is not None):
        text += f"; floor {floor:g}bn" + (f" (default {rule.floor:g}bn)" if floor != rule.floor else "")
    return text


def rules_text(chat: Chat, rules: Sequence[Rule], today: dt.date) -> str:
    lines = [
        "Rules for this chat (/set <rule> <value> to change, /set <rule> floor <$bn> for the smallest"
        " move that is news, /backtest <rule> to see history):",
        "",
    ]
    described = list(lines)
    for rule in rules:
        lines.append(f"• {rule.id} [{rule.severity}] — {rule_state(chat, rule, today)}")
        described += [lines[-1], f"  {rule.description}"]
    end = ["", "Buttons switch a rule on or off for this chat."]
    text = "\n".join([*described, *end])
    if telegram_length(text) <= TEXT_LIMIT:
        return text
    # one message, so its buttons can edit it: without the descriptions (/backtest <rule> shows
    # what a rule has told)
    return "\n".join([*lines, *end[:1], "What a rule tells: /backtest <rule>.", *end[1:]])


def rules_buttons(chat: Chat, rules: Sequence[Rule], today: dt.date) -> tuple[tuple[str, str], ...]:
    out = []
    for rule in rules:
        on = not rule_state(chat, rule, today).startswith(("off", "muted"))
        out.append((f"{'✅' if on else '⬜'} {rule.id}", f"toggle:{rule.id}"))
    return tuple(out)


def history_text(h: RuleHistory) -> str:
    """How often the rule fires at this threshold since 2000, and its latest hits."""
    since = month_name(h.since) if h.since else "2000"
    head = (
        f"{h.rule.id} at {h.threshold:g}: would have fired on {h.releases} release(s) "
        f"from {since} to {month_name(h.until) if h.until else 'now'}"
        f" (data months; today's vintage of history)."
    )
    if not h.latest:
        return head
    lines = [head, "Latest:"]
    for e in h.latest:
        lines.append(f"• {month_name(e.release)}: {headline(e)}")
    return "\n".join(lines)


def status_text(chat: Chat, rules: Sequence[Rule], today: dt.date) -> str:
    state = "subscribed" if chat.active else ("blocked" if chat.blocked else "not subscribed (/start)")
    lines = [f"This chat: {state}; mode {chat.mode}."]
    watching = ", ".join(shown_watch(w) for w in chat.watches)
    lines.append("Watching: " + (watching or "everything the rules cover"))
    if chat.groups:
        lines.append("Own groups: " + "; ".join(f"{n} = {' + '.join(m)}" for n, m in chat.groups.items()))
    changed = [f"{r.id}: {rule_state(chat, r, today)}" for r in rules if r.id in chat.rules]
    lines.append("Changed rules: " + ("; ".join(changed) if changed else "none (all defaults)"))
    return "\n".join(lines)
