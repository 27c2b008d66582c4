"""Coach commands as chat transcripts: what the coach is told, and what is stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.store.models import Client, Closure, Coach, TimeEntry
from bot.store.policy import policy_from_coach
from rules.contract import Mode, ReplyPromise
from tests.harness import Harness


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody, a coach, with one joined client, Alex (open door)."""
    harness = Harness(chat_engine, clock)
    harness.add_coach()
    harness.add_client("Alex", user_id="201")
    return harness


def coach(h: Harness) -> Coach:
    with Session(h.engine) as session:
        return session.exec(select(Coach).where(Coach.key == "melody")).one()


def alex(h: Harness) -> Client:
    with Session(h.engine) as session:
        return session.exec(select(Client).where(Client.name == "Alex")).one()


def closures(h: Harness) -> list[Closure]:
    with Session(h.engine) as session:
        return list(session.exec(select(Closure)).all())


def test_hours_are_set_and_confirmed_in_plain_words(h: Harness) -> None:
    h.say("melody", "/timezone Europe/London")
    said = h.say("melody", "/hours mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00")
    assert said == ["Hours set: Mon–Thu 09:00–12:00, 13:00–17:00; Fri 09:00–13:00 (Europe/London)."]
    stored = coach(h)
    assert stored.policy["hours"] == "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00"
    assert {"hours", "timezone"} <= set(stored.chat_set)


def test_hours_without_arguments_show_the_current_hours(h: Harness) -> None:
    said = h.say("melody", "/hours")
    assert said[0].startswith("Your hours: Mon–Fri 09:00–17:00 (UTC).")


def test_time_zone_is_stored_canonically_and_shown_with_local_time(h: Harness) -> None:
    said = h.say("melody", "/timezone europe/london")
    assert said[0].startswith("Time zone set: Europe/London. It is Mon 23 Nov, 10:00 GMT there")
    assert coach(h).policy["timezone"] == "Europe/London"


def test_reply_promise_in_working_days(h: Harness) -> None:
    assert h.say("melody", "/reply_within 2d") == ["Reply promise set: within 2 working days (2d)."]
    stored = policy_from_coach(coach(h), ())
    assert stored.reply_within == ReplyPromise(2, "d")


def test_christmas_closure_is_listed_with_its_number_and_can_be_reopened(h: Harness) -> None:
    said = h.say("melody", "/closed 2026-12-24 2027-01-02 Christmas break")
    [row] = closures(h)
    assert said == [
        f"Closed: #{row.id} 2026-12-24 – 2027-01-02 Christmas break. Clients writing then are "
        f"told you are back Mon 4 Jan 2027, 09:00 UTC. /reopen {row.id} removes it."
    ]
    assert (row.start, row.end, row.note) == (
        date(2026, 12, 24),
        date(2027, 1, 2),
        "Christmas break",
    )
    assert h.say("melody", "/closed") == [
        f"Your closures (/reopen N removes one):\n#{row.id} 2026-12-24 – 2027-01-02 Christmas break"
    ]
    assert h.say("melody", f"/reopen {row.id}") == [
        f"Reopened: #{row.id} 2026-12-24 – 2027-01-02 Christmas break is removed; "
        "your usual hours apply."
    ]
    assert closures(h) == []


def test_a_closure_in_the_past_is_refused(h: Harness) -> None:
    said = h.say("melody", "/closed 2026-11-01 2026-11-02")
    assert said == [
        "/closed: 2026-11-01 – 2026-11-02 is already over; "
        "use /closed 2026-12-24 2027-01-02 Christmas break"
    ]
    assert closures(h) == []


def test_another_coachs_closure_cannot_be_reopened(h: Harness) -> None:
    h.add_coach("sam", "Sam", user_id="300")
    h.say("sam", "/closed 2026-12-24 2026-12-26")
    [theirs] = closures(h)
    assert h.say("melody", f"/reopen {theirs.id}") == [
        f"/reopen: you have no closure #{theirs.id}; /closed lists yours"
    ]
    assert h.say("melody", "/closed")[0].startswith("No closures ahead.")
    assert len(closures(h)) == 1


def test_public_holidays_name_the_next_one(h: Harness) -> None:
    said = h.say("melody", "/holidays GB")
    assert said == [
        "Public holidays set: GB. You are closed on them. The next one: Fri 25 Dec (Christmas Day)."
    ]
    assert coach(h).policy["holidays"] == "GB"
    assert h.say("melody", "/holidays off")[0].startswith("Public holidays off")
    assert coach(h).policy["holidays"] is None


def test_the_next_public_holiday_is_never_a_closure(h: Harness) -> None:
    """A training day this week is a closure, not the next public holiday."""
    h.say("melody", "/closed 2026-11-25 2026-11-25 Training day")
    [said] = h.say("melody", "/holidays GB-SCT")
    assert said == (
        "Public holidays set: GB-SCT. You are closed on them. "
        "The next one: Mon 30 Nov (Saint Andrew's Day)."
    )


def test_digest_time_and_off(h: Harness) -> None:
    assert h.say("melody", "/digest 07:30") == [
        "Daily digest at 07:30 (UTC) on your working days, when there is something in it."
    ]
    assert policy_from_coach(coach(h), ()).digest_time == time(7, 30)
    h.say("melody", "/digest off")
    assert policy_from_coach(coach(h), ()).digest_time is None
    assert "digest_time" in coach(h).chat_set


def test_billing_terms_are_stored_and_described(h: Harness) -> None:
    said = h.say("melody", "/billing 5 62.50 gbp 10")
    assert said == [
        "Billing set: Replies taking more than 5 minutes are billed at 62.50 GBP/hour, "
        "rounded up to 10 minutes."
    ]
    billing = policy_from_coach(coach(h), ()).billing
    assert billing is not None
    assert (billing.free_minutes, str(billing.rate), billing.currency) == (5, "62.50", "GBP")
    assert billing.increment_minutes == 10
    h.say("melody", "/billing off")
    assert policy_from_coach(coach(h), ()).billing is None


def test_own_wording_is_checked_previewed_and_restorable(h: Harness) -> None:
    said = h.say("melody", "/message digest Noted, {client}: {coach} reads these at six.")
    assert said == [
        "digest set. A client would now get:\nNoted, your client: Melody reads these at six."
    ]
    assert coach(h).policy["templates"] == {
        "digest": "Noted, {client}: {coach} reads these at six."
    }
    assert h.say("alex", "/fyi slept well") == ["Noted, Alex: Melody reads these at six."]
    h.say("melody", "/message digest default")
    assert coach(h).policy["templates"] == {}


def test_message_without_arguments_lists_every_text_and_placeholder(h: Harness) -> None:
    [listing] = h.say("melody", "/message")
    assert "forward — a message inside hours" in listing
    assert "{reply_by}: the time the client will hear back by" in listing


def test_crisis_resources_are_what_a_client_in_crisis_gets(h: Harness) -> None:
    said = h.say("melody", "/crisis Call 999, or Samaritans on 116 123.")
    assert said[0].startswith("Crisis resources set. A client in crisis now gets:\n")
    assert said[0].endswith("Call 999, or Samaritans on 116 123.")
    assert coach(h).policy["crisis_text"] == "Call 999, or Samaritans on 116 123."
    h.say("melody", "/crisis default")
    assert coach(h).policy["crisis_text"] is None


def test_policy_shows_settings_and_the_texts_a_client_would_get_now(h: Harness) -> None:
    h.say("melody", "/reply_within 2d")
    [text] = h.say("melody", "/policy")
    assert "Reply promise: within 2 working days (2d)" in text
    assert "What a new client (specific) would get right now:" in text
    assert (
        "▸ forward — a message inside hours, passed on to the coach now:\nThanks — Melody" in text
    )
    assert "▸ welcome — " in text and "▸ urgent — " in text


def test_client_shows_terms_and_previews_in_the_clients_zone(h: Harness) -> None:
    h.say("alex", "/timezone America/New_York")
    h.say("melody", "/session Alex 2026-12-03 10:00")
    [text] = h.say("melody", "/client alex")
    assert text.startswith("Alex — open_door, on telegram\n")
    assert "Next session: Thu 3 Dec, 10:00 UTC" in text
    assert "Times shown to Alex in: America/New_York" in text
    assert "Next session: Thu 3 Dec, 05:00 EST." in text  # the welcome, as Alex would see it


def test_clients_lists_clients_and_unused_invites(h: Harness) -> None:
    h.say("melody", "/invite Sam sessions_only")
    [text] = h.say("melody", "/clients")
    assert text.splitlines()[:2] == ["Your clients (1):", "• Alex · open_door · telegram"]
    assert "• Sam (sessions_only), valid until Mon 30 Nov, 10:00 UTC" in text


def test_mode_allow_and_quota_change_the_clients_terms(h: Harness) -> None:
    said = h.say("melody", "/mode Alex specific")
    assert said[0].startswith("Alex is now specific. Alex is told: Between sessions you can send")
    assert h.say("melody", "/allow Alex scheduling goals") == [
        "Alex may send scheduling, goals between sessions."
    ]
    assert h.say("melody", "/quota Alex 2") == [
        "Alex: up to 2 messages a week that need a reply are passed on; "
        "more are kept for the next session (scheduling always goes through)."
    ]
    assert h.say("melody", "/quota Alex 1") == [
        "Alex: up to 1 message a week that needs a reply is passed on; "
        "more are kept for the next session (scheduling always goes through)."
    ]
    h.say("melody", "/quota Alex 2")
    stored = alex(h)
    assert (stored.mode, stored.allowed, stored.weekly_quota) == (
        Mode.SPECIFIC,
        "scheduling,goals",
        2,
    )


def test_allowing_kinds_for_an_open_door_client_says_when_it_counts(h: Harness) -> None:
    said = h.say("melody", "/allow Alex goals")
    assert said == [
        "Alex may send goals between sessions. (This is for specific mode; Alex is open_door.)"
    ]


def test_session_is_read_in_the_coachs_zone_and_stored_in_utc(h: Harness) -> None:
    h.say("melody", "/timezone Europe/Berlin")
    assert h.say("melody", "/session Alex 2026-12-03 10:00") == [
        "Alex's next session: Thu 3 Dec, 10:00 CET."
    ]
    assert alex(h).next_session == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_a_new_session_after_a_past_one_makes_that_one_the_last(h: Harness) -> None:
    h.say("melody", "/session Alex 2026-11-24 10:00")
    h.clock.advance(timedelta(days=2))
    h.say("melody", "/session Alex 2026-12-01 10:00")
    stored = alex(h)
    assert stored.last_session == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert stored.next_session == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert h.say("melody", "/session Alex none") == ["Alex has no session booked."]
    assert alex(h).next_session is None


def test_contract_period_and_former_client(h: Harness) -> None:
    assert h.say("melody", "/contract Alex 2026-09-01 2026-12-31") == [
        "Alex's contract: 2026-09-01 – 2026-12-31. Alex becomes a former client after it."
    ]
    assert (alex(h).contract_start, alex(h).contract_end) == (date(2026, 9, 1), date(2026, 12, 31))
    said = h.say("melody", "/contract Alex 2026-01-01 2026-11-01")
    assert said == ["Alex's contract: 2026-01-01 – 2026-11-01. Alex is a former client now."]


def test_reply_by_name_reaches_the_client_as_the_coach(h: Harness) -> None:
    assert h.say("melody", "/reply Alex See you on Thursday!") == ["Sent to Alex."]
    assert h.inbox("alex") == ["Melody: See you on Thursday!"]


def test_logged_time_is_billed_by_the_terms_of_the_day(h: Harness) -> None:
    h.say("melody", "/billing 5 60 GBP 15")
    assert h.say("melody", "/log Alex 20m goals email") == [
        "Logged 20 min for Alex: 30 min billable, 30.00 GBP."
    ]
    assert h.say("melody", "/log alex 4") == [
        "Logged 4 min for Alex; within the 5 free minutes, not billed."
    ]
    h.say("melody", "/billing 0 90 EUR 30")  # later terms do not change what was logged
    with Session(h.engine) as session:
        entries = session.exec(select(TimeEntry).order_by(col(TimeEntry.id))).all()
    assert [(e.minutes, e.billable_minutes, e.amount, e.currency, e.note) for e in entries] == [
        (20, 30, "30.00", "GBP", "goals email"),
        (4, 0, "0.00", "GBP", ""),
    ]


def test_logged_time_without_billing_terms_is_kept_unbilled(h: Harness) -> None:
    assert h.say("melody", "/log Alex 1h30m") == [
        "Logged 90 min for Alex; no billing terms set (/billing 5 60 GBP sets them)."
    ]
    with Session(h.engine) as session:
        entry = session.exec(select(TimeEntry)).one()
    assert (entry.minutes, entry.billable_minutes, entry.amount) == (90, 0, "0")
