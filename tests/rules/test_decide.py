"""What happens to a client message, and exactly what the client is told."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
import pytz

from rules.contract import (
    BillingTerms,
    ClientMessage,
    ClientState,
    ClientTerms,
    Closure,
    Contract,
    Kind,
    Mode,
    Policy,
    ReplyPromise,
)
from rules.decide import (
    Alumni,
    AskKind,
    Digest,
    Forward,
    Park,
    Queue,
    Urgent,
    decide,
    preview,
    quota_counts,
    uses_quota,
)
from rules.templates import TEMPLATES

LONDON = pytz.timezone("Europe/London")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Mon 23 Nov 2026, 10:00 in London
HOURS = "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00"
SESSION = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)  # Thu 3 Dec, 10:00 in London
CHRISTMAS = Closure(date(2026, 12, 24), date(2027, 1, 3), "Christmas break")
BILLING = BillingTerms(5, __import__("decimal").Decimal(60), "GBP")


def london(text: str) -> datetime:
    """A London wall time like `2026-11-23 18:00`, as aware UTC."""
    naive = datetime.strptime(text, "%Y-%m-%d %H:%M")  # noqa: DTZ007 - localized just below
    return LONDON.localize(naive).astimezone(UTC)


def melody(**changes: object) -> Policy:
    """Melody: London, Mon-Thu 09:00-12:00 and 13:00-17:00, Fri 09:00-13:00, replies in 24h."""
    policy = Policy(coach_name="Melody", timezone="Europe/London", hours=HOURS)
    return policy.with_overrides({"reply_within": ReplyPromise(24, "h"), **changes})


def alex(policy: Policy | None = None, **terms: object) -> Contract:
    """Alex, an open-door client of Melody with a session booked for Thu 3 Dec."""
    values: dict[str, object] = {"mode": Mode.OPEN_DOOR, "next_session": SESSION, **terms}
    return Contract(policy or melody(), ClientTerms(name="Alex", **values))  # type: ignore[arg-type]


def question(text: str = "Can I bring my journal on Thursday?") -> ClientMessage:
    """A message sent with /ask."""
    return ClientMessage(text, Kind.QUESTION)


def update(text: str = "Had a real aha moment at work today!") -> ClientMessage:
    """A message sent with /fyi."""
    return ClientMessage(text, Kind.FYI)


def test_question_inside_hours_is_forwarded_with_the_reply_by_time() -> None:
    decision = decide(alex(), question(), NOW)
    assert decision == Forward(
        kind=Kind.QUESTION,
        reply="Thanks — Melody has your message and will reply by Thu 26 Nov, 14:00 GMT.",
        reply_by=london("2026-11-26 14:00"),
    )
    assert decision.action == "forward"


def test_question_after_hours_is_queued_until_the_next_morning() -> None:
    decision = decide(alex(), question(), london("2026-11-23 18:00"))
    assert isinstance(decision, Queue)
    assert decision.release_at == london("2026-11-24 09:00")
    assert decision.reply_by == london("2026-11-27 12:00")
    assert not decision.brief
    assert decision.reply == (
        "Melody is out of the office until Tue 24 Nov, 09:00 GMT; you'll hear back by "
        "Fri 27 Nov, 12:00 GMT. Your message is saved and will be passed on then."
    )


def test_question_on_friday_afternoon_is_queued_until_monday_opening() -> None:
    decision = decide(alex(), question(), london("2026-11-27 14:00"))
    assert isinstance(decision, Queue)
    assert decision.release_at == london("2026-11-30 09:00")
    assert decision.reply.startswith("Melody is out of the office until Mon 30 Nov, 09:00 GMT;")


def test_lunch_break_queues_until_the_afternoon() -> None:
    decision = decide(alex(), question(), london("2026-11-23 12:30"))
    assert isinstance(decision, Queue)
    assert decision.release_at == london("2026-11-23 13:00")


def test_second_message_in_the_same_closed_period_gets_the_brief_acknowledgement() -> None:
    now = london("2026-11-23 18:00")
    state = ClientState(out_of_office_sent_for=london("2026-11-24 09:00"))
    decision = decide(alex(), question(), now, state)
    assert isinstance(decision, Queue)
    assert decision.brief
    assert decision.reply == (
        "Got it — saved for when Melody is back (Tue 24 Nov, 09:00 GMT); you'll hear back by "
        "Fri 27 Nov, 12:00 GMT."
    )


def test_a_new_closed_period_gets_the_full_notice_again() -> None:
    state = ClientState(out_of_office_sent_for=london("2026-11-23 09:00"))
    decision = decide(alex(), question(), london("2026-11-23 18:00"), state)
    assert isinstance(decision, Queue)
    assert not decision.brief
    assert decision.reply.startswith("Melody is out of the office until")


def test_queue_notice_during_a_closure_names_it() -> None:
    decision = decide(alex(melody(closures=(CHRISTMAS,))), question(), london("2026-12-28 11:00"))
    assert isinstance(decision, Queue)
    assert decision.release_at == london("2027-01-04 09:00")
    assert decision.reply == (
        "Melody is away (Christmas break) until Mon 4 Jan 2027, 09:00 GMT; you'll hear back by "
        "Thu 7 Jan 2027, 12:00 GMT. Your message is saved and will be passed on then."
    )


def test_queue_notice_the_evening_before_a_closure_names_it() -> None:
    decision = decide(alex(melody(closures=(CHRISTMAS,))), question(), london("2026-12-23 18:00"))
    assert decision.reply.startswith("Melody is away (Christmas break) until Mon 4 Jan 2027")


def test_queue_notice_over_a_public_holiday_names_it() -> None:
    decision = decide(alex(melody(holidays="GB")), question(), london("2026-12-24 18:00"))
    assert isinstance(decision, Queue)
    assert decision.release_at == london("2026-12-29 09:00")
    assert decision.reply.startswith("Melody is away (Christmas Day) until Tue 29 Dec, 09:00 GMT;")


def test_queue_notice_for_a_closure_without_a_note_says_away() -> None:
    closure = Closure(date(2026, 11, 24), date(2026, 11, 24))
    decision = decide(alex(melody(closures=(closure,))), question(), london("2026-11-23 18:00"))
    assert decision.reply.startswith("Melody is away until Wed 25 Nov, 09:00 GMT;")


def test_update_goes_to_the_digest_with_no_reply_expected() -> None:
    decision = decide(alex(), update(), london("2026-11-23 23:00"))
    assert decision == Digest(
        kind=Kind.FYI, reply="Thanks — noted for Melody's daily round-up, no reply needed."
    )
    assert decision.reply_by is None


def test_update_in_sessions_only_is_parked_for_the_session() -> None:
    decision = decide(alex(mode=Mode.SESSIONS_ONLY), update(), NOW)
    assert decision == Park(
        kind=Kind.FYI,
        reply="Between-session messages like this aren't part of your contract; I've saved "
        "this for your session on Thu 3 Dec, 10:00 GMT.",
        session=SESSION,
        reason="kind",
    )


def test_question_outside_a_specific_contract_is_parked_for_the_session() -> None:
    decision = decide(alex(mode=Mode.SPECIFIC), question(), NOW)
    assert isinstance(decision, Park)
    assert decision.reason == "kind"
    assert decision.session == SESSION


def test_contracted_kind_in_a_specific_contract_is_forwarded() -> None:
    goals = ClientMessage("My goals for December", Kind.GOALS)
    assert isinstance(decide(alex(mode=Mode.SPECIFIC), goals, NOW), Forward)


def test_parked_without_a_booked_session_says_so() -> None:
    decision = decide(alex(mode=Mode.SESSIONS_ONLY, next_session=None), update(), NOW)
    assert isinstance(decision, Park)
    assert decision.session is None
    assert decision.reply == (
        "Between-session messages like this aren't part of your contract. I've saved this for "
        "your next session with Melody, once one is booked."
    )


def test_a_session_in_the_past_is_not_the_next_session() -> None:
    past = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    decision = decide(alex(mode=Mode.SESSIONS_ONLY, next_session=past), update(), NOW)
    assert isinstance(decision, Park)
    assert decision.session is None


def test_question_over_the_weekly_quota_is_parked_for_the_session() -> None:
    decision = decide(alex(melody(weekly_quota=3)), question(), NOW, ClientState(quota_used=3))
    assert decision == Park(
        kind=Kind.QUESTION,
        reply="You've reached this week's limit of messages that get a reply between sessions "
        "(3), so I've saved this for your session on Thu 3 Dec, 10:00 GMT.",
        session=SESSION,
        reason="quota",
    )


def test_question_over_the_quota_without_a_session_says_why() -> None:
    contract = alex(melody(weekly_quota=1), next_session=None)
    decision = decide(contract, question(), NOW, ClientState(quota_used=1))
    assert decision.reply == (
        "You've reached this week's limit of messages that get a reply between sessions (1). "
        "I've saved this for your next session with Melody, once one is booked."
    )


def test_question_under_the_quota_is_forwarded() -> None:
    decision = decide(alex(melody(weekly_quota=3)), question(), NOW, ClientState(quota_used=2))
    assert isinstance(decision, Forward)
    assert uses_quota(decision)


def test_updates_never_count_against_the_quota() -> None:
    decision = decide(alex(melody(weekly_quota=3)), update(), NOW, ClientState(quota_used=9))
    assert isinstance(decision, Digest)
    assert not quota_counts(Kind.FYI)
    assert not uses_quota(decision)
    assert all(quota_counts(kind) for kind in (Kind.QUESTION, Kind.GOALS))


def test_scheduling_never_uses_up_the_weekly_quota() -> None:
    """A client over the quota can still move a session: scheduling is what keeps sessions."""
    contract = alex(melody(weekly_quota=1))
    decision = decide(
        contract,
        ClientMessage("Can we move to Friday?", Kind.SCHEDULING),
        NOW,
        ClientState(quota_used=1),
    )
    assert isinstance(decision, Forward)
    assert not uses_quota(decision)
    assert not quota_counts(Kind.SCHEDULING)
    over = decide(contract, question(), NOW, ClientState(quota_used=1))
    assert isinstance(over, Park)


def test_a_quota_of_zero_means_no_limit() -> None:
    decision = decide(alex(), question(), NOW, ClientState(quota_used=500))
    assert isinstance(decision, Forward)


def test_queued_questions_count_against_the_quota_and_parked_ones_do_not() -> None:
    queued = decide(alex(), question(), london("2026-11-23 20:00"))
    parked = decide(alex(mode=Mode.SPECIFIC), question(), NOW)
    assert uses_quota(queued)
    assert not uses_quota(parked)


def test_crisis_gets_resources_at_once_and_the_coach_is_told() -> None:
    decision = decide(alex(), update("I can't go on like this"), NOW)
    assert isinstance(decision, Urgent)
    assert decision.action == "urgent"
    assert decision.kind is Kind.FYI
    assert decision.reply_by is None
    assert decision.reply.startswith("It sounds like things are really hard right now. ")
    assert "I've told Melody straight away" in decision.reply
    assert "116 123" in decision.reply


def test_crisis_from_a_former_client_over_quota_at_3am_in_a_closure_is_still_urgent() -> None:
    policy = melody(weekly_quota=1, closures=(CHRISTMAS,), crisis_text="Call 999 or Shout 85258.")
    contract = alex(policy, mode=Mode.SESSIONS_ONLY, contract_end=date(2026, 11, 30))
    message = question("honestly I want to kill myself")
    decision = decide(contract, message, london("2026-12-26 03:00"), ClientState(quota_used=7))
    assert isinstance(decision, Urgent)
    assert decision.reply.endswith("please reach out now:\nCall 999 or Shout 85258.")


def test_plain_text_crisis_is_urgent_before_asking_its_kind() -> None:
    decision = decide(alex(), ClientMessage("I've been self-harming again"), NOW)
    assert isinstance(decision, Urgent)
    assert decision.kind is None


def test_the_coach_own_crisis_phrases_are_urgent_too() -> None:
    contract = alex(melody(crisis_phrases=("hopeless",)))
    assert isinstance(decide(contract, update("Feeling HOPELESS today."), NOW), Urgent)
    assert isinstance(decide(alex(), update("Feeling HOPELESS today."), NOW), Digest)


def test_former_client_update_goes_to_the_digest_marked_former() -> None:
    contract = alex(contract_end=date(2026, 10, 31))
    decision = decide(contract, update("I got the new job!"), NOW)
    assert decision == Digest(
        kind=Kind.FYI,
        reply="Thanks for the news — I've added it to Melody's daily round-up. No reply needed.",
        former_client=True,
    )


def test_former_client_plain_text_counts_as_news() -> None:
    contract = alex(contract_end=date(2026, 10, 31), mode=Mode.SPECIFIC)
    decision = decide(contract, ClientMessage("Guess what, new job!"), NOW)
    assert isinstance(decision, Digest)
    assert decision.former_client


def test_former_client_question_is_kept_not_forwarded() -> None:
    contract = alex(contract_end=date(2026, 10, 31))
    decision = decide(contract, question(), NOW)
    assert isinstance(decision, Alumni)
    assert decision.action == "alumni"
    assert decision.reply_by is None
    assert decision.reply.startswith("Your coaching contract with Melody has ended")
    assert "I've kept this one on record" in decision.reply


def test_former_client_question_is_alumni_even_over_quota_and_outside_the_mode() -> None:
    contract = alex(melody(weekly_quota=1), mode=Mode.SESSIONS_ONLY, contract_end=date(2026, 11, 1))
    decision = decide(contract, question(), NOW, ClientState(quota_used=5))
    assert isinstance(decision, Alumni)


def test_the_last_contract_day_is_still_a_client_day_in_the_coach_zone() -> None:
    contract = alex(contract_end=date(2026, 11, 23), timezone="America/New_York")
    last_evening = london("2026-11-23 23:30")
    next_morning = london("2026-11-24 00:30")  # still 23 Nov, 19:30 in New York
    assert isinstance(decide(contract, question(), last_evening), Queue)
    assert isinstance(decide(contract, question(), next_morning), Alumni)


def test_plain_text_in_an_open_door_asks_update_or_reply() -> None:
    decision = decide(alex(), ClientMessage("Quick thought about Thursday"), NOW)
    assert decision == AskKind(
        kind=None,
        reply="So I can pass this on the right way: what kind of message is it?",
        choices=(("Just an update", Kind.FYI), ("Needs a reply", Kind.QUESTION)),
    )
    assert decision.action == "ask"


def test_plain_text_in_a_specific_contract_offers_one_button_per_allowed_kind() -> None:
    decision = decide(alex(mode=Mode.SPECIFIC), ClientMessage("About Thursday"), NOW)
    assert isinstance(decision, AskKind)
    assert decision.choices == (
        ("Scheduling", Kind.SCHEDULING),
        ("Goals", Kind.GOALS),
        ("Save for my session", None),
    )


def test_plain_text_under_one_allowed_kind_still_offers_to_save_it() -> None:
    contract = alex(mode=Mode.SPECIFIC, allowed=frozenset({Kind.GOALS}))
    decision = decide(contract, ClientMessage("Goal: run 5k"), london("2026-11-23 18:00"))
    assert isinstance(decision, AskKind)
    assert decision.choices == (("Goals", Kind.GOALS), ("Save for my session", None))


def test_plain_text_in_sessions_only_asks_scheduling_or_save() -> None:
    """Not every plain text is scheduling: the client says, or keeps it for the session."""
    contract = alex(mode=Mode.SESSIONS_ONLY)
    decision = decide(contract, ClientMessage("I had a hard week"), NOW)
    assert isinstance(decision, AskKind)
    assert decision.choices == (("Scheduling", Kind.SCHEDULING), ("Save for my session", None))


def test_save_for_my_session_parks_it_for_the_booked_session() -> None:
    booked = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    contract = alex(mode=Mode.SESSIONS_ONLY, next_session=booked)
    decision = decide(contract, ClientMessage("I had a hard week", for_session=True), NOW)
    assert isinstance(decision, Park)
    assert (decision.session, decision.reason, decision.kind) == (booked, "chosen", None)
    assert decision.reply == (
        "It's saved for your session on Thu 26 Nov, 14:00 GMT; Melody will see it then."
    )


def test_save_for_my_session_without_a_booking_says_it_waits_for_one() -> None:
    decision = decide(alex(next_session=None), ClientMessage("Thoughts", for_session=True), NOW)
    assert isinstance(decision, Park)
    assert decision.reply == (
        "I've saved this for your next session with Melody, once one is booked."
    )


def test_a_crisis_saved_for_the_session_still_goes_through_at_once() -> None:
    decision = decide(alex(), ClientMessage("I want to die", for_session=True), NOW)
    assert isinstance(decision, Urgent)


def test_plain_text_is_not_asked_again_once_the_client_picked_a_kind() -> None:
    picked = ClientMessage("Quick thought about Thursday", Kind.FYI)
    assert isinstance(decide(alex(), picked, NOW), Digest)


def test_client_in_new_york_is_told_eastern_times() -> None:
    contract = alex(timezone="America/New_York")
    forwarded = decide(contract, question(), NOW)
    queued = decide(contract, question(), london("2026-11-23 18:00"))
    parked = decide(alex(mode=Mode.SESSIONS_ONLY, timezone="America/New_York"), update(), NOW)
    assert forwarded.reply.endswith("will reply by Thu 26 Nov, 09:00 EST.")
    assert queued.reply.startswith(
        "Melody is out of the office until Tue 24 Nov, 04:00 EST; you'll hear back by "
        "Fri 27 Nov, 07:00 EST."
    )
    assert parked.reply.endswith("your session on Thu 3 Dec, 05:00 EST.")


def test_billing_terms_are_mentioned_when_a_reply_is_coming() -> None:
    contract = alex(melody(billing=BILLING))
    note = "Replies taking more than 5 minutes are billed at 60 GBP/hour."
    assert decide(contract, question(), NOW).reply.endswith(f"14:00 GMT. {note}")
    assert decide(contract, question(), london("2026-11-23 18:00")).reply.endswith(note)
    assert note not in decide(contract, update(), NOW).reply


def test_the_coach_wording_is_what_the_client_sees() -> None:
    wording = {"forward": "{coach} will answer {client} by {reply_by}."}
    decision = decide(alex(melody(templates=wording)), question(), NOW)
    assert decision.reply == "Melody will answer Alex by Thu 26 Nov, 14:00 GMT."


def test_working_day_promise_sets_reply_by_to_the_close_of_the_nth_day() -> None:
    contract = alex(melody(reply_within=ReplyPromise(2, "d")))
    decision = decide(contract, question(), NOW)
    assert decision.reply_by == london("2026-11-25 17:00")
    assert decision.reply.endswith("will reply by Wed 25 Nov, 17:00 GMT.")


def test_decisions_are_immutable_values() -> None:
    decision = decide(alex(), question(), NOW)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.reply = "changed"  # type: ignore[misc]
    assert decision == decide(alex(), question(), NOW)


def test_preview_shows_every_text_this_client_would_get_now() -> None:
    texts = preview(alex(melody(billing=BILLING)), NOW)
    assert set(texts) == set(TEMPLATES)
    assert texts["forward"].startswith("Thanks — Melody has your message and will reply by Thu")
    assert texts["queue"].startswith("Melody is out of the office until Mon 23 Nov, 13:00 GMT;")
    assert texts["park"].endswith("your session on Thu 3 Dec, 10:00 GMT.")
    assert texts["welcome"].startswith("Welcome, Alex!")
    assert all("{" not in text for text in texts.values())


def test_policy_preview_works_for_a_coach_who_never_closes() -> None:
    from rules.contract import ClientTerms, Contract, Mode, Policy
    from rules.decide import preview

    always = Policy(coach_name="Melody", timezone="Europe/London", hours="mon-sun 00:00-24:00")
    contract = Contract(always, ClientTerms(name="Alex", mode=Mode.OPEN_DOOR))

    texts = preview(contract, datetime(2026, 11, 23, 10, tzinfo=UTC))

    assert texts["forward"].startswith("Thanks — Melody has your message and will reply by")


def test_the_preview_of_the_ended_text_never_leaves_a_gap_for_a_current_client() -> None:
    ended = preview(alex(), NOW)["ended"]
    assert "ended on (its last day), so" in ended
    assert "on ," not in ended
