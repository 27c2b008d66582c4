"""Between rows and rules: a coach's stored policy, a client's overrides and terms, as a Contract.

The JSON shape of `Coach.policy` and `Client.overrides` is described in `bot.store.policy_fields`;
configured coaches are written to rows by `bot.store.coaches`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.store.coaches import sync_coaches
from bot.store.models import Client, Coach
from bot.store.policy_fields import (
    COACH_FIELDS,
    EXTRA_DEFAULTS,
    OVERRIDE_FIELDS,
    ClosureLike,
    decode_field,
    default_policy_json,
    encode_field,
    policy_from_json,
    policy_to_json,
)
from bot.store.unit import UnitOfWork
from rules.contract import ClientTerms, Contract, Mode, Policy, parse_kinds

__all__ = [
    "COACH_FIELDS",
    "EXTRA_DEFAULTS",
    "OVERRIDE_FIELDS",
    "ClosureLike",
    "client_overrides",
    "client_terms",
    "coach_policy",
    "coach_setting",
    "contract_for",
    "decode_field",
    "default_policy_json",
    "encode_field",
    "policy_from_coach",
    "policy_from_json",
    "policy_json",
    "policy_to_json",
    "set_override",
    "set_policy_field",
    "sync_coaches",
]


def policy_from_coach(coach: Coach, closures: Sequence[ClosureLike]) -> Policy:
    """The coach's Policy: their stored settings, their name and their closures."""
    return policy_from_json(coach.policy, coach_name=coach.name, closures=closures)


def policy_json(coach: Coach) -> dict[str, Any]:
    """The coach's stored policy, normalised, with every field present; unknown keys kept."""
    policy = policy_from_coach(coach, ())
    extras = {name: coach_setting(coach, name) for name in EXTRA_DEFAULTS}
    return {**coach.policy, **policy_to_json(policy), **extras}


def coach_setting(coach: Coach, name: str) -> int:
    """A setting kept beside the Policy: `brief_hours` or `notice_days`."""
    raw = coach.policy.get(name)
    return EXTRA_DEFAULTS[name] if raw is None else int(decode_field(name, raw))


def set_policy_field(coach: Coach, field: str, *, value: Any, from_chat: bool) -> None:
    """Set one policy field (a domain value or None); from chat, config never overwrites it."""
    if field not in COACH_FIELDS:
        raise ValueError(f"policy: no such setting {field}")
    # a new object, so the JSON column is seen as changed
    coach.policy = {**coach.policy, field: encode_field(field, value)}
    if from_chat and field not in coach.chat_set:
        coach.chat_set = [*coach.chat_set, field]


# --- a client ---------------------------------------------------------------------------------


def client_terms(client: Client) -> ClientTerms:
    """The client's contract terms as the rules see them."""
    allowed = parse_kinds(client.allowed) if client.allowed.strip() else frozenset()
    return ClientTerms(
        name=client.name,
        mode=Mode(client.mode),
        allowed=allowed,
        contract_start=client.contract_start,
        contract_end=client.contract_end,
        next_session=client.next_session,
        timezone=client.timezone,
    )


def client_overrides(client: Client) -> dict[str, Any]:
    """The client's overridden Policy fields as domain values (weekly_quota column included)."""
    values = {
        name: decode_field(name, raw)
        for name, raw in client.overrides.items()
        if name in OVERRIDE_FIELDS and raw is not None
    }
    if client.weekly_quota is not None:
        values["weekly_quota"] = client.weekly_quota
    return values


def set_override(client: Client, field: str, *, value: Any) -> None:
    """Override one Policy field for this client; None removes the override."""
    if field not in OVERRIDE_FIELDS:
        raise ValueError(f"policy: no such setting {field}")
    overrides = {k: v for k, v in client.overrides.items() if k != field}
    if value is not None:
        overrides[field] = encode_field(field, value)
    client.overrides = overrides  # a new object, so the JSON column is seen as changed


def coach_policy(uow: UnitOfWork, coach: Coach) -> Policy:
    """The coach's effective policy, closures included: the one way to read it."""
    return policy_from_coach(coach, uow.coaches.closures(coach.id or 0))


def contract_for(uow: UnitOfWork, client: Client) -> Contract:
    """The client's effective contract: their coach's policy with their overrides applied."""
    coach = uow.coaches.get(client.coach_id)
    if coach is None:
        raise LookupError(f"client {client.id} has no coach {client.coach_id}")
    policy = policy_from_coach(coach, uow.coaches.closures(client.coach_id))
    return Contract(
        policy=policy.with_overrides(client_overrides(client)), client=client_terms(client)
    )
