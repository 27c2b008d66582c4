"""Between rows and rules: stored policies, client overrides, contracts and coaches from config."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.config import CoachSettings
from bot.store.db import transaction
from bot.store.models import Client, Coach, Identity
from bot.store.models import Closure as ClosureRow
from bot.store.policy import (
    OVERRIDE_FIELDS,
    client_overrides,
    client_terms,
    coach_setting,
    contract_for,
    default_policy_json,
    encode_field,
    policy_from_coach,
    policy_from_json,
    policy_json,
    policy_to_json,
    set_override,
    set_policy_field,
    sync_coaches,
)
from bot.store.unit import UnitOfWork
from rules.contract import (
    BillingTerms,
    ClientTerms,
    Closure,
    Kind,
    Mode,
    Policy,
    ReplyPromise,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

MELODY = CoachSettings(
    key="melody",
    name="Melody",
    telegram_user_id="1001",
    slack_user_id="U1001",
    timezone="Europe/London",
    hours="mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00",
    reply_within="24h",
    digest_time="18:00",
)

#: A policy with every field away from its default.
FULL_POLICY = Policy(
    coach_name="Melody",
    timezone="America/New_York",
    hours="tue-sat 10:00-14:00",
    closures=(Closure(date(2026, 12, 24), date(2027, 1, 2), "Christmas break"),),
    holidays="GB-ENG",
    reply_within=ReplyPromise(2, "d"),
    digest_time=None,
    default_mode=Mode.OPEN_DOOR,
    weekly_quota=3,
    billing=BillingTerms(free_minutes=5, rate=Decimal("62.50"), currency="GBP"),
    templates={"queue": "Back {back}."},
    crisis_text="Call 116 123.",
    crisis_phrases=("give up",),
)

#: For each Policy field, a value different from both the default and FULL_POLICY.
OTHER_VALUES: dict[str, Any] = {
    "coach_name": "Mel",
    "timezone": "Asia/Tokyo",
    "hours": "sat 08:00-09:00",
    "closures": (Closure(date(2027, 3, 1), date(2027, 3, 5), "retreat"),),
    "holidays": "JP",
    "reply_within": ReplyPromise(6, "h"),
    "digest_time": time(7, 15),
    "default_mode": Mode.SESSIONS_ONLY,
    "weekly_quota": 1,
    "billing": BillingTerms(
        free_minutes=0, rate=Decimal("100"), currency="EUR", increment_minutes=6
    ),
    "templates": {"digest": "Noted."},
    "crisis_text": "Ring the Samaritans.",
    "crisis_phrases": ("no way out", "end it"),
}


def add_coach(session: Session, **policy: Any) -> Coach:
    """A coach row with `policy` stored as given."""
    coach = Coach(key="melody", name="Melody", policy=policy, created_at=NOW)
    session.add(coach)
    session.flush()
    return coach


def add_client(session: Session, coach: Coach, **fields: Any) -> Client:
    """A client row of `coach`."""
    assert coach.id is not None
    client = Client(coach_id=coach.id, name="Alex", mode="specific", created_at=NOW, **fields)
    session.add(client)
    session.flush()
    return client


def identities(session: Session) -> set[tuple[str, str, str, int | None, int | None]]:
    """Every identity as (platform, user id, chat id, coach id, client id)."""
    return {
        (i.platform, i.user_id, i.chat_id, i.coach_id, i.client_id)
        for i in session.exec(select(Identity)).all()
    }


# --- the JSON shape ----------------------------------------------------------------------------


def test_a_new_coach_has_every_field_at_its_default() -> None:
    assert default_policy_json() == {
        "timezone": "UTC",
        "hours": "mon-fri 09:00-17:00",
        "holidays": None,
        "reply_within": "24h",
        "digest_time": "18:00",
        "default_mode": "specific",
        "weekly_quota": 0,
        "billing": None,
        "templates": {},
        "crisis_text": None,
        "crisis_phrases": [],
        "brief_hours": 12,
        "notice_days": 3,
        "digest_daily": False,
    }
    assert policy_from_json(default_policy_json(), coach_name="Melody") == Policy("Melody")


def test_an_empty_stored_policy_means_the_defaults() -> None:
    assert policy_from_json({}, coach_name="Melody") == Policy("Melody")


def test_unknown_stored_keys_are_ignored() -> None:
    stored = {"timezone": "Europe/London", "from_the_future": {"x": 1}}

    assert policy_from_json(stored, coach_name="M") == Policy("M", timezone="Europe/London")


def test_a_null_for_a_field_that_cannot_be_off_means_its_default() -> None:
    assert policy_from_json({"reply_within": None, "hours": None}, coach_name="M") == Policy("M")


def test_every_coach_field_round_trips_through_json() -> None:
    stored = policy_to_json(FULL_POLICY)

    assert stored["billing"] == {
        "free_minutes": 5,
        "rate": "62.50",
        "currency": "GBP",
        "increment_minutes": 15,
    }
    assert stored["reply_within"] == "2d"
    assert stored["digest_time"] is None
    assert (
        policy_from_json(stored, coach_name="Melody", closures=FULL_POLICY.closures) == FULL_POLICY
    )


def test_a_hand_written_rate_may_be_a_number() -> None:
    stored = {"billing": {"free_minutes": 5, "rate": 60, "currency": "GBP"}}

    billing = policy_from_json(stored, coach_name="M").billing

    assert billing == BillingTerms(5, Decimal("60"), "GBP", 15)


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("reply_within", "soon"),
        ("digest_time", "6pm"),
        ("default_mode", "whenever"),
        ("weekly_quota", -1),
        ("weekly_quota", "3"),
        ("billing", {"free_minutes": 5, "currency": "GBP"}),
        ("billing", {"rate": "lots", "currency": "GBP"}),
        ("templates", ["queue"]),
        ("crisis_phrases", "give up"),
    ],
)
def test_a_bad_stored_value_is_an_error_naming_the_field(name: str, raw: Any) -> None:
    with pytest.raises(ValueError, match=rf"^policy: stored {name} "):
        policy_from_json({name: raw}, coach_name="M")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("hours", "whenever"),
        ("holidays", "XX"),
        ("reply_within", "soon"),
        ("weekly_quota", -2),
        ("no_such", 1),
    ],
)
def test_a_bad_value_is_refused_before_it_is_stored(name: str, value: Any) -> None:
    with pytest.raises(ValueError):
        encode_field(name, value)


def test_time_zones_are_stored_by_their_canonical_name() -> None:
    assert encode_field("timezone", "europe/london") == "Europe/London"


# --- a coach's policy in the database -----------------------------------------------------------


def test_a_coach_policy_round_trips_through_the_database(engine: Engine) -> None:
    with transaction(engine) as session:
        coach = add_coach(session, **policy_to_json(FULL_POLICY), brief_hours=24)
        session.add(
            ClosureRow(
                coach_id=coach.id,
                start=date(2026, 12, 24),
                end=date(2027, 1, 2),
                note="Christmas break",
            )
        )

    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        closures = session.exec(select(ClosureRow)).all()
        assert policy_from_coach(coach, closures) == FULL_POLICY
        assert coach_setting(coach, "brief_hours") == 24
        assert coach_setting(coach, "notice_days") == 3


def test_policy_json_fills_in_every_field_and_keeps_unknown_ones() -> None:
    coach = Coach(key="m", name="M", policy={"weekly_quota": 2, "later": True}, created_at=NOW)

    stored = policy_json(coach)

    assert stored == {**default_policy_json(), "weekly_quota": 2, "later": True}


def test_setting_a_field_from_chat_records_it(engine: Engine) -> None:
    with transaction(engine) as session:
        coach = add_coach(session, **default_policy_json())
        set_policy_field(coach, "reply_within", value=ReplyPromise(2, "d"), from_chat=True)
        set_policy_field(coach, "billing", value=OTHER_VALUES["billing"], from_chat=True)
        set_policy_field(coach, "digest_time", value=None, from_chat=True)
        set_policy_field(coach, "weekly_quota", value=4, from_chat=False)
        set_policy_field(coach, "reply_within", value="3d", from_chat=True)

    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        policy = policy_from_coach(coach, ())
        assert coach.chat_set == ["reply_within", "billing", "digest_time"]
        assert policy.reply_within == ReplyPromise(3, "d")
        assert policy.billing == OTHER_VALUES["billing"]
        assert policy.digest_time is None
        assert policy.weekly_quota == 4


def test_setting_an_unknown_or_bad_field_changes_nothing() -> None:
    coach = Coach(key="m", name="M", policy={}, created_at=NOW)

    with pytest.raises(ValueError, match="no such setting"):
        set_policy_field(coach, "coach_name", value="X", from_chat=True)
    with pytest.raises(ValueError, match="timezone"):
        set_policy_field(coach, "timezone", value="Nowhere/Town", from_chat=True)

    assert (coach.policy, coach.chat_set) == ({}, [])


# --- a client -----------------------------------------------------------------------------------


def test_client_terms_come_from_the_row() -> None:
    session_at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    client = Client(
        coach_id=1,
        name="Alex",
        mode="open_door",
        allowed="goals,fyi",
        contract_start=date(2026, 9, 1),
        contract_end=date(2026, 12, 31),
        next_session=session_at,
        timezone="Asia/Tokyo",
        created_at=NOW,
    )

    assert client_terms(client) == ClientTerms(
        name="Alex",
        mode=Mode.OPEN_DOOR,
        allowed=frozenset({Kind.GOALS, Kind.FYI}),
        contract_start=date(2026, 9, 1),
        contract_end=date(2026, 12, 31),
        next_session=session_at,
        timezone="Asia/Tokyo",
    )


def test_a_client_without_overrides_gets_the_coach_policy(engine: Engine) -> None:
    with transaction(engine) as session:
        coach = add_coach(session, **policy_to_json(FULL_POLICY))
        session.add(
            ClosureRow(
                coach_id=coach.id,
                start=date(2026, 12, 24),
                end=date(2027, 1, 2),
                note="Christmas break",
            )
        )
        client = add_client(session, coach)

    with transaction(engine) as session:
        contract = contract_for(UnitOfWork(session), session.get(Client, client.id))

    assert contract.policy == FULL_POLICY
    assert contract.client == ClientTerms(name="Alex")


@pytest.mark.parametrize("name", OVERRIDE_FIELDS)
def test_every_policy_field_can_be_overridden_for_one_client(engine: Engine, name: str) -> None:
    with transaction(engine) as session:
        coach = add_coach(session, **policy_to_json(FULL_POLICY))
        session.add(
            ClosureRow(
                coach_id=coach.id,
                start=date(2026, 12, 24),
                end=date(2027, 1, 2),
                note="Christmas break",
            )
        )
        alex = add_client(session, coach)
        sam = Client(coach_id=coach.id, name="Sam", mode="specific", created_at=NOW)
        session.add(sam)
        set_override(alex, name, value=OTHER_VALUES[name])

    with transaction(engine) as session:
        alex_contract = contract_for(UnitOfWork(session), session.get(Client, alex.id))
        sam_contract = contract_for(UnitOfWork(session), session.get(Client, sam.id))

    assert getattr(alex_contract.policy, name) == OTHER_VALUES[name]
    assert alex_contract.policy == Policy(**{**vars(FULL_POLICY), name: OTHER_VALUES[name]})
    assert sam_contract.policy == FULL_POLICY


def test_removing_an_override_restores_the_coach_policy() -> None:
    client = Client(coach_id=1, name="Alex", mode="specific", created_at=NOW)
    set_override(client, "timezone", value="Asia/Tokyo")
    set_override(client, "weekly_quota", value=2)

    set_override(client, "timezone", value=None)

    assert client.overrides == {"weekly_quota": 2}
    assert client_overrides(client) == {"weekly_quota": 2}


def test_the_weekly_quota_column_overrides_the_policy_quota() -> None:
    client = Client(coach_id=1, name="Alex", mode="specific", weekly_quota=5, created_at=NOW)
    set_override(client, "weekly_quota", value=2)

    assert client_overrides(client)["weekly_quota"] == 5


def test_unknown_override_keys_are_ignored() -> None:
    client = Client(
        coach_id=1,
        name="Alex",
        mode="specific",
        overrides={"later": 1, "timezone": None},
        created_at=NOW,
    )

    assert client_overrides(client) == {}


# --- coaches from config ------------------------------------------------------------------------


def test_sync_creates_a_configured_coach_with_its_initial_policy(
    engine: Engine, clock: ManualClock
) -> None:
    with transaction(engine) as session:
        (coach,) = sync_coaches(UnitOfWork(session), [MELODY], now=clock.now())

    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        policy = policy_from_coach(coach, ())
        assert (coach.key, coach.name, coach.chat_set) == ("melody", "Melody", [])
        assert coach.created_at == clock.now()
        assert (coach.telegram_user_id, coach.slack_user_id) == ("1001", "U1001")
        assert policy == Policy(
            "Melody",
            timezone="Europe/London",
            hours="mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00",
        )
        assert coach_setting(coach, "notice_days") == 3
        assert identities(session) == {
            ("telegram", "1001", "1001", coach.id, None),
            ("slack", "U1001", "U1001", coach.id, None),
        }


def test_what_the_coach_set_in_chat_survives_a_restart_with_other_config(
    engine: Engine, clock: ManualClock
) -> None:
    with transaction(engine) as session:
        (coach,) = sync_coaches(UnitOfWork(session), [MELODY], now=clock.now())
        set_policy_field(coach, "timezone", value="Asia/Tokyo", from_chat=True)
        set_policy_field(coach, "digest_time", value=None, from_chat=True)
    changed = CoachSettings(
        key="melody",
        name="Melody Pond",
        telegram_user_id="1001",
        slack_user_id="U1001",
        timezone="America/New_York",
        hours="mon 10:00-11:00",
        reply_within="3d",
        digest_time="07:00",
    )

    clock.advance(timedelta(days=1))
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [changed], now=clock.now())

    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        policy = policy_from_coach(coach, ())
        assert coach.name == "Melody Pond"
        assert coach.created_at == NOW
        assert policy.timezone == "Asia/Tokyo"
        assert policy.digest_time is None
        assert policy.hours == "mon 10:00-11:00"
        assert policy.reply_within == ReplyPromise(3, "d")


def test_a_restart_with_the_same_config_changes_nothing(engine: Engine) -> None:
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [MELODY], now=NOW)
        before = policy_json(session.exec(select(Coach)).one())
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [MELODY], now=NOW + timedelta(hours=1))
        coach = session.exec(select(Coach)).one()
        assert policy_json(coach) == before
        assert len(identities(session)) == 2


def test_a_coach_left_out_of_config_keeps_their_row(engine: Engine) -> None:
    sam = CoachSettings(key="sam", name="Sam")
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [MELODY, sam], now=NOW)
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [sam], now=NOW)
        assert {c.key for c in session.exec(select(Coach)).all()} == {"melody", "sam"}


def test_a_learned_slack_dm_channel_is_kept(engine: Engine) -> None:
    with transaction(engine) as session:
        (coach,) = sync_coaches(UnitOfWork(session), [MELODY], now=NOW)
        slack = session.exec(select(Identity).where(Identity.platform == "slack")).one()
        slack.chat_id = "D0DM"
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [MELODY], now=NOW)
        assert ("slack", "U1001", "D0DM", coach.id, None) in identities(session)


def test_a_changed_platform_id_moves_the_identity(engine: Engine) -> None:
    with transaction(engine) as session:
        (coach,) = sync_coaches(UnitOfWork(session), [MELODY], now=NOW)
    moved = CoachSettings(key="melody", name="Melody", telegram_user_id="2002")

    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [moved], now=NOW)

    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        assert (coach.telegram_user_id, coach.slack_user_id) == ("2002", None)
        assert identities(session) == {("telegram", "2002", "2002", coach.id, None)}


def test_a_coach_who_is_also_a_client_keeps_the_client_link(engine: Engine) -> None:
    with transaction(engine) as session:
        other = Coach(key="other", name="Other", policy={}, created_at=NOW)
        session.add(other)
        session.flush()
        client = add_client(session, other)
        session.add(
            Identity(platform="telegram", user_id="1001", chat_id="1001", client_id=client.id)
        )
    with transaction(engine) as session:
        (coach,) = sync_coaches(UnitOfWork(session), [MELODY], now=NOW)
        assert ("telegram", "1001", "1001", coach.id, client.id) in identities(session)

    without_telegram = CoachSettings(key="melody", name="Melody", slack_user_id="U1001")
    with transaction(engine) as session:
        sync_coaches(UnitOfWork(session), [without_telegram], now=NOW)
        assert ("telegram", "1001", "1001", None, client.id) in identities(session)
