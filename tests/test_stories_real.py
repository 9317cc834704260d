"""The story model on the real files: highs as well as lows, "largest since", the member before
its group, a low told again when lower since an earlier date, one-month net records, and a
release's events on one holder told as one story, rarest claim first."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from rule_panels import cut

from bot.notify.release.selection import watched
from bot.render.stories import headline, rank_phrase
from bot.render.text import story_lines
from bot.rules.backtest import backtest
from bot.rules.events import stories
from bot.rules.release import ReleaseCandidates


def told(history, release: str):
    return [e for e in history if e.release == release]


def one(history, release: str, rule: str, entity: str):
    found = [e for e in told(history, release) if e.rule == rule and e.entity == entity]
    assert len(found) == 1, (release, rule, entity, [(e.rule, e.entity) for e in told(history, release)])
    return found[0]


def story(history, release: str, entity: str):
    (s,) = [s for s in stories(told(history, release)) if s.lead.entity == entity]
    return s


def test_grand_total_record_high_rarity_counts_from_the_peak_it_beats(history):
    e = one(history, "2023-12", "multi-year-high", "Grand Total")
    assert e.extreme_since is None
    assert e.value == pytest.approx(7940.0, abs=0.05)
    assert e.rarity == 2.0  # the peak it beats (Dec 2021) is two years old: a $1tn holder's horizon
    assert "a record high" in headline(e)
    # Jun 2021: a record high too (every record of the Grand Total is told, round two), the peak
    # it beat 1.3 years old; the record rise says it, and the story says it once
    high = one(history, "2021-06", "multi-year-high", "Grand Total")
    assert high.rarity < 2
    rise = one(history, "2021-06", "record-1m-increase", "Grand Total")
    assert headline(rise).endswith("(end-May → end-Jun 2021), to 7,518.9bn, a record high")
    text = "\n".join(story_lines(story(history, "2021-06", "Grand Total")))
    assert text.count("a record high") == 1


def test_a_record_low_and_a_record_fall_tell_the_other_direction(history):
    fall = one(history, "2026-01", "record-1m-decline", "Canada")
    rise = one(history, "2008-09", "record-1m-increase", "China, Mainland")
    assert fall.value < 0 < rise.value
    assert "rose a record" in headline(rise)
    assert headline(fall).startswith("Canada holdings fell a record 72.4bn")


def test_a_top_holders_two_to_five_year_low_and_high(history):
    low = one(history, "2015-12", "multi-year-low", "Japan")
    assert 2 <= low.metric <= 5
    assert low.extreme_since == "2013-06"
    assert headline(low).endswith("lowest since Jun 2013 (2.5 years)")
    high = one(history, "2025-08", "multi-year-high", "Japan")
    assert 2 <= high.metric <= 5
    assert headline(high).endswith("highest since Aug 2022 (3 years)")


def test_largest_since_a_move_that_is_not_a_record(history):
    e = one(history, "2026-03", "largest-1m-decline", "China, Mainland")
    assert e.rank.rank == 4
    assert e.extreme_since == "2016-11"
    assert rank_phrase(e) == (
        "the largest monthly decline since Nov 2016 (4th largest on record: since Apr 2000, 155 periods)"
    )
    up = one(history, "2019-08", "largest-3m-increase", "United Kingdom")
    assert up.value > 0
    assert up.rank.rank == 3
    assert up.extreme_since == "2010-05"
    assert rank_phrase(up).startswith(
        "the largest 3-month increase since May 2010 (3rd largest on record: since "
    )
    record = one(history, "2026-02", "largest-1m-increase", "Saudi Arabia")
    assert "rose a record" in headline(record)  # a largest-since that is a record says so


def test_a_record_reads_as_a_record_with_months_as_mon_yyyy(history):
    """ "the largest on record (since Mar 1977, N periods)", not "largest … since 1977-03 (of N)"
    that reads as "not a record" (review finding 8); every month in a story as "Mon YYYY"."""
    brazil = one(history, "2024-12", "record-3m-net-selling", "Brazil")
    assert rank_phrase(brazil) == (
        "the largest 3-month net selling on record (since Mar 1977, 205 periods); "
        "previous record -27.1 in Jul 2009"
    )
    streak = one(history, "2007-02", "holdings-rise-streak", "China, Mainland")
    assert rank_phrase(streak) == (
        "the longest increase streak on record (since Apr 2000, 11 runs); "
        "previous longest 13 months to Jul 2003"
    )
    for release in ("2007-08", "2016-11", "2022-10", "2024-12", "2026-03"):
        text = "\n".join("\n".join(story_lines(s)[:-1]) for s in stories(told(history, release)))
        assert not re.findall(r"\b(?:19|20)\d\d-\d\d\b", text), release  # no YYYY-MM in what is read


def test_a_members_rarer_record_leads_its_group(history):
    leads = [s.lead.entity for s in stories(told(history, "2013-06"))]
    assert leads.index("United Kingdom") < leads.index("Custody centres")
    group = story(history, "2013-06", "Custody centres")
    assert "United Kingdom" in group.lead.suppressed  # the group line keeps its split
    assert "United Kingdom -25.6" in story_lines(group)[2]
    china = story(history, "2008-09", "China, Mainland")  # overtaking Japan is a line of China's story
    rules_ = [e.rule for e in china.events]
    assert rules_[:2] == ["record-1m-increase", "rank-change"] and "record-3m-increase" in rules_
    assert "– rose to 1st largest holder in Sep 2008 (from 2nd), passing Japan" in story_lines(china)
    # China + Belgium's records that month were China's (Belgium +0.6 and +0.0): said in its story
    assert "China + Belgium" not in leads + [s.lead.entity for s in stories(told(history, "2008-09"))]
    assert china.events[0].within == (("China + Belgium", 45.1),)
    assert "China + Belgium +83.1 (the rest of the group +0.0)" in story_lines(china)


def test_a_persisting_low_is_told_again_when_lower_since_an_earlier_date(history):
    lows = {e.release: e for e in history if e.rule == "multi-year-low" and e.entity == "China, Mainland"}
    assert (lows["2025-04"].extreme_since, lows["2025-05"].extreme_since) == ("2009-01", "2008-12")
    assert lows["2025-05"].value < lows["2025-04"].value
    # May 2025: since Jan 2009 → Dec 2008, one month further back but an earlier year ("the lowest
    # since 2008"): told that month (round two), not when "since" had gone back 2% of 16 years.
    # China is one of the three largest holders: its low is told again each month it reaches
    # back further (Jul: Oct 2008; Nov: Sep 2008) or is 1% below the one last told (Oct 2025:
    # 687.7 after 695.6; Mar 2026: 652.3 after 683.9), not a little lower since the same month
    # (Jun 2025: 731.4 after 732.7; Dec 2025: 683.5 after 683.9; Apr 2026: 651.1 after 652.3)
    later = {m: (lows[m].extreme_since, lows[m].value) for m in lows if m > "2025-05"}
    assert later == {
        "2025-07": ("2008-10", 695.6),
        "2025-10": ("2008-10", 687.7),
        "2025-11": ("2008-09", 683.9),
        "2026-03": ("2008-09", 652.3),
    }
    # the month's fall says where it ended too (one story: the low is said once)
    fall = one(history, "2026-03", "largest-1m-decline", "China, Mainland")
    assert headline(fall).endswith(", to 652.3bn, the lowest since Sep 2008")


def test_a_moves_end_level_carries_the_break_its_lowest_since_crosses(history):
    """Brazil's "to 167.8bn, the lowest since Jul 2010" (2025-10) compares levels across the
    non-comparable Dec 2011 break (Series XIII): it says so, as multi-year-low's claim does, even
    when no multi-year-low fires in that release (review finding 5; China's 2026-03 fall, the
    example before round two, now has its low told too)."""
    fall = one(history, "2025-10", "holdings-12m-drop-pct", "Brazil")
    brazil = [e for e in told(history, "2025-10") if e.entity == "Brazil"]
    assert "multi_year" not in {e.kind for e in brazil}
    assert fall.level_since is not None
    assert fall.level_since[1] == "2010-07"
    assert [(n.kind, n.brk) for n in fall.notes] == [("compared_across", "Series XIII (Dec 2011)")]
    lines = story_lines(story(history, "2025-10", "Brazil"))
    assert "note: levels compared across a series break: Series XIII (Dec 2011)" in lines
    # a move whose end is no rare level says no level, and so no break: Japan + China, 2026-04
    group = one(history, "2026-04", "holdings-3m-drop", "Japan + China")
    assert group.level_since is None
    assert not [n for n in group.notes if n.kind == "compared_across"]


def test_one_month_net_records_both_signs(history):
    sold = one(history, "2026-01", "record-1m-net-selling", "Canada")  # SLT Table 3
    assert sold.value == pytest.approx(-76.7, abs=0.05)
    assert "record net sales" in headline(sold)
    bought = one(history, "2009-06", "record-1m-net-buying", "Grand Total")  # Form S
    assert bought.value > 100
    assert "record net purchases" in headline(bought)


def test_rising_and_falling_streaks(history):
    up = one(history, "2011-02", "holdings-rise-streak", "United Kingdom")
    assert up.streak == 16
    assert "rose for the 16th month running" in headline(up)
    down = one(history, "2022-10", "holdings-decline-streak", "Japan + China")
    assert down.streak == 12
    assert "fell for the 12th month running" in headline(down)


def test_one_story_per_holder_rarest_claim_first(history):
    brazil = story(history, "2024-12", "Brazil")
    assert [e.rule for e in brazil.events] == [
        "record-3m-decline",
        "holder-flow-record-selling",  # issue 24: its record sales of all long-term securities
        "record-3m-net-selling",
        "record-1m-net-selling",
        "multi-year-low",
    ]
    lines = story_lines(brazil)
    assert lines[0] == (  # a story that tells other assets too names the Treasuries
        "Brazil Treasury holdings fell a record 33.0bn (14.1% of holdings) in three months "
        "(end-Sep → end-Dec 2024), to 201.6bn, the lowest since Mar 2011"
    )
    # the lead's own low compares levels across Dec 2011: its note follows its parts
    assert lines[3] == "note: levels compared across a series break: Series XIII (Dec 2011)"
    assert lines[4].startswith(
        "– record net sales of long-term U.S. securities of 28.3bn (Dec 2024); the largest monthly"
    )
    assert lines[5] == "note: ranked across a series break: Form S → SLT Table 1 net transactions (Feb 2023)"
    assert lines[6].startswith(
        "– record net sales of Treasury notes & bonds of 27.9bn (Oct–Dec 2024); the largest 3-month"
    )
    # the net records are Table 3 months ranked against Form S history (said once: review 18)
    assert lines[7] == "note: ranked across a series break: Form S → SLT Table 3 net transactions (Feb 2023)"
    assert lines[8].startswith(
        "– record net sales of Treasury notes & bonds of 26.2bn (Dec 2024); the largest monthly"
    )
    text = "\n".join(lines)
    assert text.count("201.6bn") == 1 and text.count("of which:") == 1  # the low and the parts said once
    assert lines[-1].startswith("rules record-3m-decline (major; threshold 1), holder-flow-record-selling")
    total = story(history, "2013-06", "Grand Total")  # four records on one holder: one story
    treasury = ["record-3m-net-selling", "record-1m-net-selling", "record-3m-decline", "record-1m-decline"]
    assert [e.rule for e in total.events if e.asset == "treasury" and e.kind == "record"] == treasury
    # with issue 24, its record sales of all long-term securities (3 months and June) lead it, and
    # its runs of stock and agency-bond sales and of foreign-stock buying are lines of it: one story
    assert total.lead.rule == "flow-record-3m-selling" and len(total.events) == 10
    # and three more stories: Foreign Official's 2nd-longest fall (round two: a top-3 place), Japan's
    # record, and China's first fall since January in the round-up of the largest holders
    assert len(stories(told(history, "2013-06"))) == 7


def test_the_2022_10_record_is_first_or_second_and_stories_go_rarest_first(history):
    told_ = stories(told(history, "2022-10"))
    place = next(i for i, s in enumerate(told_) if s.lead.entity == "Japan + China")
    assert place <= 1
    assert told_[place].lead.value == -227.6
    leads = [int(s.lead.rarity) for s in told_]
    assert leads == sorted(leads, reverse=True)
    assert all(int(s.lead.rarity) >= int(e.rarity) for s in told_ for e in s.events)


def test_backtest_equals_live_for_the_new_kinds(real_panel, rules, metrics):
    new = {
        "multi-year-high",
        "multi-year-low",
        "largest-1m-decline",
        "largest-3m-increase",
        "record-1m-net-buying",
    }
    chosen = [r for r in rules if r.id in new]
    for month in ("2016-10", "2023-12", "2025-11", "2026-03"):
        live = ReleaseCandidates(cut(real_panel, month), chosen, month).fire()
        replay = backtest(real_panel, chosen, month, month, metrics=metrics)
        strip = [replace(e, suppressed=(), folded=()) for e in live]
        assert [(e.key, e.value, e.extreme_since, e.rarity, e.level_since) for e in strip] == [
            (e.key, e.value, e.extreme_since, e.rarity, e.level_since) for e in replay
        ]


def test_a_net_record_on_table_3_ranked_against_form_s_says_so(history):
    """Ireland's record one-month net selling (Oct 2024) is a Table 3 month ranked against Form S
    history from Aug 1988: across the non-comparable 2023-02 break, so a note (review 18). A
    holdings change is chained like with like across a level break: no note unless its own window
    crosses one."""
    ireland = one(history, "2024-10", "record-1m-net-selling", "Ireland")
    assert ireland.rank.since == "1988-08"
    assert [(n.kind, n.brk) for n in ireland.notes] == [
        ("ranked_across", "Form S → SLT Table 3 net transactions (Feb 2023)")
    ]
    assert "note: ranked across a series break: Form S → SLT Table 3 net transactions (Feb 2023)" in (
        story_lines(story(history, "2024-10", "Ireland"))
    )
    before = one(history, "2020-03", "record-1m-net-selling", "Grand Total")  # all Form S: no note
    assert before.notes == ()
    rise = one(history, "2023-12", "record-3m-increase", "Ireland")  # ranked since 2002, no own break
    assert "ranked_across" not in {n.kind for n in rise.notes}


def test_a_groups_move_that_is_its_members_told_move_is_said_in_the_members_story(history):
    """China + Belgium's Mar 2026 fall (-41.7) is China's (-41.0, its own rarer story): one line in
    China's story, not a second story repeating it; its 3-month fall, a claim China's story does
    not make, stays a story. When Belgium held little, the group's streak was China's streak."""
    march = told(history, "2026-03")
    assert not [e for e in march if e.entity == "China + Belgium" and e.window == 1]
    china = story(history, "2026-03", "China, Mainland")
    fall = next(e for e in china.events if e.rule == "largest-1m-decline")
    assert fall.within == (("China + Belgium", -41.7),)
    assert "China + Belgium -41.7 (the rest of the group -0.7)" in story_lines(china)
    group = story(history, "2026-03", "China + Belgium")
    assert group.lead.window == 3
    assert "China + Belgium" not in [s.lead.entity for s in stories(told(history, "2007-02"))]
    assert "China, Mainland" in [s.lead.entity for s in stories(told(history, "2007-02"))]
    # Japan + China, Mar 2026: Japan moved as much as China: the group's story stays
    assert story(history, "2026-03", "Japan + China").lead.value == -88.7


def test_a_chat_watching_belgium_still_gets_the_china_and_belgium_move(real_panel, rules):
    """The group's move now told in China's story reaches whoever the group's event reached: a chat
    watching Belgium (a member of China + Belgium) gets China's story with the group's line."""
    events = ReleaseCandidates(cut(real_panel, "2026-03"), rules).fire()
    groups = {g.name: g.members for g in real_panel.groups}
    china = next(e for e in events if e.entity == "China, Mainland" and e.within)
    assert watched(china, ("Belgium",), groups)
    assert watched(china, ("China + Belgium",), groups)
    assert not watched(china, ("Japan",), groups)
