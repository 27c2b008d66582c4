"""Accounts the composition root sets up: the coaches' own in the terminal console."""

from __future__ import annotations

from bot.store.models import Identity
from bot.store.unit import UnitOfWork


def link_coaches(uow: UnitOfWork, platform: str) -> None:
    """Give every coach an account on `platform` named by their key (the console's logins)."""
    for coach in uow.coaches.all():
        if uow.identities.of_account(platform, coach.key) is None:
            uow.add(
                Identity(platform=platform, user_id=coach.key, chat_id=coach.key, coach_id=coach.id)
            )


def first_coach_zone(uow: UnitOfWork) -> str:
    """The first coach's time zone (the console reads typed times in it); UTC if none."""
    coach = uow.coaches.first()
    return str(coach.policy.get("timezone") or "UTC") if coach else "UTC"
