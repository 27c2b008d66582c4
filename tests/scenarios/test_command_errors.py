"""Every bad argument gets exactly one line saying what is expected, and changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.models import Client, Closure, Coach, Invite, TimeEntry
from tests.harness import Harness

SESSION_USE = "use /session Alex 2026-12-03 10:00"
CLOSED_USE = "use /closed 2026-12-24 2027-01-02 Christmas break"
BILLING_USE = "use /billing 5 60 GBP 15"

COACH_ERRORS = [
    # policy
    (
        "/timezone Mars/Olympus",
        "/timezone: 'Mars/Olympus' is not a time zone name; use /timezone Europe/London",
    ),
    (
        "/hours 09:00-17:00",
        "/hours: '09:00-17:00' names no day; start with the days, like mon-fri 09:00-17:00",
    ),
    (
        "/hours mon-fri",
        "/hours: 'mon-fri' has no times; give days then ranges, like mon-fri 09:00-17:00",
    ),
    (
        "/reply_within soon",
        "/reply_within: 'soon' is not a reply time; use /reply_within 24h or 2d",
    ),
    (
        "/reply_within 0h",
        "/reply_within: 0h is out of range — use hours of open time from 1h to 336h, "
        "like /reply_within 24h",
    ),
    (
        "/reply_within 400h",
        "/reply_within: 400h is out of range — use hours of open time from 1h to 336h, "
        "like /reply_within 24h",
    ),
    (
        "/reply_within 45d",
        "/reply_within: 45d is out of range — use working days from 1d to 30d, "
        "like /reply_within 2d",
    ),
    ("/holidays Narnia land", "/holidays: 'Narnia land' is not a country code; use /holidays GB"),
    (
        "/holidays XX",
        "/holidays: 'XX' is not a country we know holidays for; use a country code "
        "like GB, or GB-ENG for a subdivision",
    ),
    (
        "/report 1999-12",
        "/report: 1999-12 is out of range — use a month from 2000-01 to 2099-12, "
        "like /report 2026-11",
    ),
    ("/report 2026-13", "/report: '2026-13' is not a month; use /report 2026-11"),
    ("/notice 99d", "/notice: 99d is out of range — use days from 1d to 30d, like /notice 3d"),
    ("/digest 6pm", "/digest: '6pm' is not a time of day; use /digest 18:00"),
    ("/digest 25:00", "/digest: '25:00' is not a time of day; use /digest 18:00"),
    ("/billing 5 60", f"/billing: give free minutes, hourly rate and currency; {BILLING_USE}"),
    (
        "/billing five 60 GBP",
        f"/billing: 'five' is not free minutes (a whole number from 0 to 600); {BILLING_USE}",
    ),
    (
        "/billing 5 lots GBP",
        f"/billing: 'lots' is not an hourly rate like 60 or 62.50; {BILLING_USE}",
    ),
    (
        "/billing 5 -1 GBP",
        "/billing: -1 is out of range — use an hourly rate from 0.01 to 100000, "
        "like /billing 5 60 GBP 15",
    ),
    (
        "/billing 5 0 GBP",
        "/billing: 0 is out of range — use an hourly rate from 0.01 to 100000, "
        "like /billing 5 60 GBP 15",
    ),
    (
        "/billing 5 60.123 GBP",
        f"/billing: '60.123' is not an hourly rate like 60 or 62.50; {BILLING_USE}",
    ),
    (
        "/billing 5 60 pounds",
        "/billing: 'pounds' is not a currency in use (ISO 4217); use a code like GBP, EUR or USD",
    ),
    ("/billing 5 60 GPB", "/billing: 'GPB' is not a currency in use (ISO 4217); did you mean GBP?"),
    (
        "/billing 5 60 DEM",
        "/billing: 'DEM' is not a currency in use (ISO 4217); use a code like GBP, EUR or USD",
    ),
    ("/billing 5 60 GBP 0", f"/billing: the increment must be at least 1 minute; {BILLING_USE}"),
    (
        "/message nonsense hi",
        "/message: 'nonsense' is not a text; /message lists them; "
        "use /message digest Thanks, {coach} will read this tonight.",
    ),
    (
        "/message forward Hi {nme}",
        "/message: {nme} is not a placeholder of 'forward'; use "
        "{coach}, {client}, {reply_by}, {reply_promise}, {billing}",
    ),
    (
        "/message forward Hi {coach",
        "/message: the braces in 'forward' don't pair up; placeholders "
        "look like {coach}, and {{ or }} writes a literal brace",
    ),
    # closures
    ("/closed 2026-12-24", f"/closed: give the first and the last closed day; {CLOSED_USE}"),
    ("/closed 24/12 2026-12-26", f"/closed: '24/12' is not a date; {CLOSED_USE}"),
    ("/closed 2026-12-26 2026-12-24", f"/closed: 2026-12-24 is before 2026-12-26; {CLOSED_USE}"),
    (
        "/closed 2026-12-24 9999-12-31",
        f"/closed: 9999-12-31 is out of range (2000–2099); {CLOSED_USE}",
    ),
    ("/closed 2026-02-30 2026-03-01", f"/closed: '2026-02-30' is not a date; {CLOSED_USE}"),
    (
        "/closed 2026-11-01 2026-11-02",
        f"/closed: 2026-11-01 – 2026-11-02 is already over; {CLOSED_USE}",
    ),
    ("/reopen one", "/reopen: 'one' is not a closure number; /closed lists them; use /reopen 3"),
    ("/reopen 99", "/reopen: you have no closure #99; /closed lists yours"),
    # clients
    ("/invite", "/invite: name the client; use /invite Alex open_door"),
    (
        "/invite 42",
        "/invite: '42' is not a usable name (letters first, at most 40); "
        "use /invite Alex open_door",
    ),
    (
        "/invite Sam wide_open",
        "/invite: 'wide_open' is not a mode (sessions_only | specific | "
        "open_door); use /invite Alex open_door",
    ),
    ("/client", "/client: name the client; use /client Alex"),
    ("/client Alx", "No client called 'Alx'. Did you mean Alex?"),
    ("/client Zebedee", "No client called 'Zebedee'. /clients lists yours."),
    ("/client Jo", "Jo has an invite but has not joined yet."),
    (
        "/mode Alex",
        "/mode: give Alex's mode (open_door, specific, sessions_only); use /mode Alex open_door",
    ),
    (
        "/mode Alex chatty",
        "/mode: 'chatty' is not a mode (sessions_only | specific | open_door); "
        "use /mode Alex open_door",
    ),
    (
        "/allow Alex",
        "/allow: name at least one of fyi, question, scheduling, goals; "
        "use /allow Alex goals,scheduling",
    ),
    ("/allow Alex poems", "/allow: 'poems' is not a kind; use fyi, question, scheduling or goals"),
    ("/quota Alex", "/quota: give the number of messages a week (0 = no limit); use /quota Alex 3"),
    (
        "/quota Alex -1",
        "/quota: '-1' is not a weekly number (a whole number from 0 to 100); use /quota Alex 3",
    ),
    (
        "/quota Alex 1000",
        "/quota: 1000 is out of range — use a number from 0 to 100, like /quota Alex 3",
    ),
    ("/session Alex", f"/session: give the date and time (or none); {SESSION_USE}"),
    ("/session Alex 3 Dec", f"/session: '3 Dec' is not a date; {SESSION_USE}"),
    ("/session Alex 2026-12-03", f"/session: give the time of the session too; {SESSION_USE}"),
    ("/session Alex 2026-12-03 25:00", f"/session: '25:00' is not a time of day; {SESSION_USE}"),
    ("/session Alex 2026-11-20 10:00", f"/session: 2026-11-20 10:00 is in the past; {SESSION_USE}"),
    (
        "/contract Alex 2026-09-01",
        "/contract: give the first and the last day of the contract; "
        "use /contract Alex 2026-09-01 2026-12-31",
    ),
    (
        "/contract Alex 2026-12-31 2026-09-01",
        "/contract: 2026-09-01 is before 2026-12-31; use /contract Alex 2026-09-01 2026-12-31",
    ),
    ("/reply Alex", "/reply: write the message for Alex; use /reply Alex See you on Thursday!"),
    ("/reply Alx hello", "No client called 'Alx'. Did you mean Alex?"),
    ("/log Alex", "/log: '' is not a duration; use /log Alex 20m goals email"),
    ("/log Alex twenty", "/log: 'twenty' is not a duration; use /log Alex 20m goals email"),
    (
        "/log Alex 0m",
        "/log: 0m is out of range — use minutes from 1 to 600, like /log Alex 20m goals email",
    ),
    (
        "/log Alex 25h",
        "/log: 25h is out of range — use minutes from 1 to 600, like /log Alex 20m goals email",
    ),
    (
        "/log Alex 10h1m",
        "/log: 10h1m is out of range — use minutes from 1 to 600, like /log Alex 20m goals email",
    ),
    # anyone
    ("/hourz", "I don't know /hourz. Did you mean /hours? /help lists what you can use."),
]

CLIENT_ERRORS = [
    (
        "/timezone Atlantis",
        "/timezone: 'Atlantis' is not a time zone name; use /timezone Europe/Paris",
    ),
    ("/policy", "That command is for coaches."),
]


def stored(engine: Engine) -> tuple[object, ...]:
    """What a bad argument must leave alone."""
    with Session(engine) as session:
        return (
            [c.model_dump() for c in session.exec(select(Coach)).all()],
            [c.model_dump() for c in session.exec(select(Client)).all()],
            len(session.exec(select(Closure)).all()),
            len(session.exec(select(Invite)).all()),
            len(session.exec(select(TimeEntry)).all()),
        )


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody with a joined client, Alex, and an invite out for Jo."""
    harness = Harness(chat_engine, clock)
    harness.add_coach()
    harness.add_client("Alex", user_id="201")
    harness.say("melody", "/invite Jo")
    return harness


@pytest.mark.parametrize(("text", "line"), COACH_ERRORS, ids=[t for t, _ in COACH_ERRORS])
def test_a_coachs_bad_argument_gets_one_line_and_changes_nothing(
    h: Harness, text: str, line: str
) -> None:
    before = stored(h.engine)
    assert h.say("melody", text) == [line]
    assert "\n" not in line
    assert stored(h.engine) == before


@pytest.mark.parametrize(("text", "line"), CLIENT_ERRORS, ids=[t for t, _ in CLIENT_ERRORS])
def test_a_clients_bad_argument_gets_one_line_and_changes_nothing(
    h: Harness, text: str, line: str
) -> None:
    before = stored(h.engine)
    assert h.say("alex", text) == [line]
    assert stored(h.engine) == before


def test_a_closure_that_leaves_no_open_time_is_refused(h: Harness) -> None:
    said = h.say("melody", "/closed 2026-11-23 2031-12-31 sabbatical")
    assert said == [f"/closed: that leaves no open time in the next 3 years; {CLOSED_USE}"]
    with Session(h.engine) as session:
        assert session.exec(select(Closure)).all() == []


def test_an_error_quotes_at_most_a_short_single_line_of_what_was_sent(h: Harness) -> None:
    [said] = h.say("melody", "/digest " + "9" * 200)
    assert said == "/digest: '" + "9" * 29 + "…' is not a time of day; use /digest 18:00"
    [said] = h.say("melody", "/client Al\nex")
    assert "\n" not in said


def test_nul_characters_never_reach_the_database(h: Harness) -> None:
    """PostgreSQL refuses NUL in text: it is dropped where messages come in, the rest is kept."""
    assert h.say("melody", "/hours mon\x00 09:00-17:00") == ["Hours set: Mon 09:00–17:00 (UTC)."]
    h.say("melody", "/crisis Call\x00 999")
    with Session(h.engine) as session:
        assert session.exec(select(Coach)).one().policy["crisis_text"] == "Call 999"
