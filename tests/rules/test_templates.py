"""The texts a client sees: a coach's wording is checked when set, rendered when sent."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from rules.contract import BillingTerms, ClientTerms, Closure, Contract, Kind, Mode, Policy
from rules.templates import (
    DEFAULT_CRISIS_TEXT,
    PLACEHOLDERS,
    TEMPLATES,
    describe_contract,
    format_local,
    render,
    template_help,
    validate_template,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Mon 23 Nov 2026, 10:00 in London
NINE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOURS = "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00"
REQUIRED_KEYS = {
    "forward",
    "queue",
    "queue_brief",
    "digest",
    "park",
    "park_quota",
    "park_chosen",
    "park_no_session",
    "alumni",
    "former_fyi",
    "urgent",
    "ask_kind",
    "welcome",
    "availability",
}


def melody(**changes: object) -> Policy:
    """Melody's policy: London, split hours Mon-Thu, Friday mornings."""
    return Policy(coach_name="Melody", timezone="Europe/London", hours=HOURS).with_overrides(
        changes
    )


def alex(policy: Policy | None = None, **terms: object) -> Contract:
    """Alex's contract with Melody."""
    client = ClientTerms(name="Alex", **terms)  # type: ignore[arg-type]
    return Contract(policy or melody(), client)


def test_every_situation_has_a_text() -> None:
    assert set(TEMPLATES) >= REQUIRED_KEYS


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_default_text_passes_its_own_check(key: str) -> None:
    validate_template(key, TEMPLATES[key].text)
    assert set(TEMPLATES[key].placeholders) <= set(PLACEHOLDERS)
    assert TEMPLATES[key].description


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_default_text_renders_without_leftover_braces(key: str) -> None:
    values = {name: f"<{name}>" for name in TEMPLATES[key].placeholders}
    text = render(alex(), key, **values)
    assert "{" not in text
    assert "}" not in text
    used = {f for _, f, _, _ in string.Formatter().parse(TEMPLATES[key].text) if f}
    for name in used:
        assert f"<{name}>" in text


def test_unknown_placeholder_is_named_with_the_ones_to_use() -> None:
    with pytest.raises(ValueError) as error:
        validate_template("queue", "Back at {reply_by_time}")
    message = str(error.value)
    assert message.startswith(
        "message: {reply_by_time} is not a placeholder of 'queue'; use {coach}, {client}, "
        "{next_open}, {reply_by}"
    )


def test_placeholder_of_another_text_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\{crisis\} is not a placeholder of 'digest'"):
        validate_template("digest", "Noted. {crisis}")


def test_unknown_template_key_is_named_with_the_keys_to_use() -> None:
    with pytest.raises(ValueError, match=r"^message: 'farewell' is not a template; use forward"):
        validate_template("farewell", "Bye")


@pytest.mark.parametrize("text", ["Back {next_open", "Back next_open}", "{", "a } b"])
def test_unpaired_braces_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"braces in 'queue' don't pair up"):
        validate_template("queue", text)


@pytest.mark.parametrize("text", ["{coach.name} is out", "{coach!r} is out", "{coach:>9}", "{}"])
def test_placeholders_must_be_plain_names(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a placeholder of 'queue'"):
        validate_template("queue", text)


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        validate_template("digest", "   ")


def test_doubled_braces_are_literal_braces() -> None:
    validate_template("digest", "Noted {{with love}}, {coach}")
    policy = melody(templates={"digest": "Noted {{with love}}, {coach}"})
    assert render(policy, "digest") == "Noted {with love}, Melody"


def test_coach_wording_replaces_the_default() -> None:
    policy = melody(templates={"digest": "Got it, {client} — {coach} reads these on Fridays."})
    assert render(alex(policy), "digest") == "Got it, Alex — Melody reads these on Fridays."


def test_a_broken_stored_wording_falls_back_to_the_default_instead_of_failing() -> None:
    policy = melody(templates={"digest": "Got it {oops"})
    default = "Thanks — noted for Melody's daily round-up, no reply needed."
    assert render(policy, "digest") == default


def test_placeholders_render_with_given_values() -> None:
    text = render(alex(), "queue_brief", next_open="Tue 24 Nov, 09:00 GMT", reply_by="Fri")
    assert text == (
        "Got it — saved for when Melody is back (Tue 24 Nov, 09:00 GMT); you'll hear back by Fri."
    )


def test_billing_terms_are_one_sentence_and_absent_without_terms() -> None:
    billed = melody(billing=BillingTerms(5, Decimal(60), "GBP"))
    with_terms = render(billed, "forward", reply_by="Thu 26 Nov, 14:00 GMT")
    without = render(melody(), "forward", reply_by="Thu 26 Nov, 14:00 GMT")
    assert with_terms == (
        "Thanks — Melody has your message and will reply by Thu 26 Nov, 14:00 GMT. "
        "Replies taking more than 5 minutes are billed at 60 GBP/hour."
    )
    assert without == "Thanks — Melody has your message and will reply by Thu 26 Nov, 14:00 GMT."


def test_urgent_text_uses_the_default_resources_when_the_coach_set_none() -> None:
    text = render(alex(), "urgent")
    assert DEFAULT_CRISIS_TEXT in text
    assert "116 123" in text
    assert "988" in text
    assert "told Melody" in text


def test_urgent_text_uses_the_coach_resources() -> None:
    policy = melody(crisis_text="Call Shout: text 85258.")
    text = render(alex(policy), "urgent")
    assert text.endswith("please reach out now:\nCall Shout: text 85258.")
    assert "116 123" not in text


@pytest.mark.parametrize(
    ("when", "zone", "shown"),
    [
        (NINE, "Europe/London", "Mon 23 Nov, 09:00 GMT"),
        (datetime(2026, 6, 1, 8, 30, tzinfo=UTC), "Europe/London", "Mon 1 Jun, 09:30 BST"),
        (datetime(2026, 11, 26, 14, 0, tzinfo=UTC), "America/New_York", "Thu 26 Nov, 09:00 EST"),
        (NINE, "Asia/Kathmandu", "Mon 23 Nov, 14:45 UTC+05:45"),
        (NINE, "America/Sao_Paulo", "Mon 23 Nov, 06:00 UTC-03:00"),
        (NINE, "UTC", "Mon 23 Nov, 09:00 UTC"),
    ],
)
def test_times_are_shown_in_the_reader_zone(when: datetime, zone: str, shown: str) -> None:
    assert format_local(when, zone) == shown
    assert format_local(when, zone, NOW) == shown


def test_year_is_shown_only_when_it_is_not_this_year() -> None:
    next_year = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    assert format_local(next_year, "Europe/London", NOW) == "Mon 4 Jan 2027, 09:00 GMT"
    assert format_local(next_year, "Europe/London") == "Mon 4 Jan, 09:00 GMT"


def test_this_year_is_the_reader_year_on_new_years_eve() -> None:
    now = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)  # already 1 Jan 2027 in Auckland
    when = datetime(2027, 1, 3, 20, 0, tzinfo=UTC)
    assert format_local(when, "Pacific/Auckland", now) == "Mon 4 Jan, 09:00 NZDT"
    assert format_local(when, "Europe/London", now) == "Sun 3 Jan 2027, 20:00 GMT"


def test_contract_in_words_for_a_client_in_the_coach_zone() -> None:
    session = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    text = describe_contract(alex(mode=Mode.OPEN_DOOR, next_session=session), NOW)
    assert text == (
        "Melody's hours: Mon–Thu 09:00–12:00, 13:00–17:00; Fri 09:00–13:00 London time.\n"
        "Right now Melody is in: messages are passed on straight away.\n"
        "Melody replies within 24 open hours.\n"
        "Between sessions you can send updates any time with /fyi (no reply needed) and "
        "questions with /ask.\n"
        "Next session: Thu 3 Dec, 10:00 GMT."
    )


def test_contract_in_words_shows_hours_in_the_client_zone() -> None:
    text = describe_contract(alex(timezone="America/New_York"), NOW)
    assert "Melody's hours: Mon–Thu 04:00–07:00, 08:00–12:00; Fri 04:00–08:00 New York time." in (
        text
    )
    assert "Next session: not booked yet." in text


def test_contract_in_words_says_what_a_specific_contract_allows_and_the_quota() -> None:
    contract = alex(melody(weekly_quota=2), mode=Mode.SPECIFIC)
    text = describe_contract(contract, NOW)
    assert (
        "Between sessions you can send goals (/goals) and scheduling (/reschedule); anything "
        "else is saved for your next session. Up to 2 messages a week that need a reply are "
        "passed on (scheduling aside); more are saved for your next session."
    ) in text


def test_contract_in_words_for_sessions_only() -> None:
    text = describe_contract(alex(mode=Mode.SESSIONS_ONLY), NOW)
    assert "Between sessions you can send scheduling (/reschedule) only;" in text


def test_contract_in_words_names_the_closure_the_coach_is_on() -> None:
    christmas = Closure(date(2026, 12, 24), date(2027, 1, 3), "Christmas break")
    contract = alex(melody(closures=(christmas,), billing=BillingTerms(5, Decimal(60), "GBP")))
    text = describe_contract(contract, datetime(2026, 12, 28, 12, 0, tzinfo=UTC))
    assert "Right now Melody is away (Christmas break) until Mon 4 Jan 2027, 09:00 GMT." in text
    assert text.endswith("Replies taking more than 5 minutes are billed at 60 GBP/hour.")


def test_welcome_greets_the_client_and_states_the_contract() -> None:
    from rules.templates import contract_values

    contract = alex(mode=Mode.SPECIFIC, allowed=frozenset({Kind.GOALS}))
    text = render(contract, "welcome", **contract_values(contract, NOW))
    assert text.startswith("Welcome, Alex! I pass your messages to Melody")
    assert "Between sessions you can send goals (/goals);" in text
    assert "Melody replies within 24 open hours." in text


def test_template_help_lists_every_text_its_placeholders_and_the_coach_own() -> None:
    policy = melody(templates={"digest": "Noted."})
    listing = template_help(policy)
    for key in TEMPLATES:
        assert f"\n{key}" in f"\n{listing}"
    assert "digest (yours) — " in listing
    assert "queue — the first message after hours" in listing
    assert "{reply_by}: the time the client will hear back by" in listing
