"""Coaches from config into rows: names, platform ids and initial policy fields."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config import CoachSettings
from bot.store.models import Coach, Identity
from bot.store.policy_fields import default_policy_json
from bot.store.unit import UnitOfWork


def sync_coaches(
    uow: UnitOfWork, coaches: Sequence[CoachSettings], *, now: datetime
) -> list[Coach]:
    """Create or update the configured coaches; what a coach set in chat stays as they set it."""
    rows = []
    for settings in coaches:
        coach = uow.coaches.by_key(settings.key)
        if coach is None:
            coach = Coach(
                key=settings.key, name=settings.name, policy=default_policy_json(), created_at=now
            )
            uow.add(coach)
        _apply_config(coach, settings)
        uow.flush()
        assert coach.id is not None
        _sync_identity(uow, coach.id, platform="telegram", user_id=settings.telegram_user_id)
        _sync_identity(uow, coach.id, platform="slack", user_id=settings.slack_user_id)
        rows.append(coach)
    uow.flush()
    return rows


def _apply_config(coach: Coach, settings: CoachSettings) -> None:
    """Name and platform ids follow config; initial policy fields only where chat set none."""
    coach.name = settings.name
    coach.telegram_user_id = settings.telegram_user_id
    coach.slack_user_id = settings.slack_user_id
    initial = {k: v for k, v in settings.initial_policy().items() if k not in coach.chat_set}
    if any(coach.policy.get(k, ...) != v for k, v in initial.items()):
        coach.policy = {**coach.policy, **initial}


def _sync_identity(uow: UnitOfWork, coach_id: int, *, platform: str, user_id: str | None) -> None:
    """Point the coach's identity on `platform` at `user_id`, releasing one it no longer has."""
    for old in uow.identities.of_coach(coach_id):
        if old.platform == platform and old.user_id != user_id:
            _release(uow, old)
    if user_id is None:
        return
    identity = uow.identities.of_account(platform, user_id)
    if identity is None:
        uow.add(Identity(platform=platform, user_id=user_id, chat_id=user_id, coach_id=coach_id))
        return
    identity.coach_id = coach_id
    if platform == "telegram" or not identity.chat_id:
        identity.chat_id = user_id  # a Telegram private chat has the user's id


def _release(uow: UnitOfWork, identity: Identity) -> None:
    """Detach a coach from an identity; delete it unless a client uses it too."""
    if identity.client_id is None:
        uow.delete(identity)
    else:
        identity.coach_id = None
    uow.flush()
