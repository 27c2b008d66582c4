"""A home page as data: a coach's contract now, replies owed and today's updates; a client's
contract. Built in a unit of work that is only looked through, so the digest it reads from
marks nothing as shown."""

from __future__ import annotations

from datetime import datetime

from bot.ports import ClientHome, ClientUpdates, CoachHome, Home, UpdateItem, WaitingItem
from bot.service.coach_texts import kind_label
from bot.service.digest import build_digest
from bot.store.models import Client, Coach
from bot.store.policy import coach_policy, contract_for
from bot.store.unit import UnitOfWork
from rules.templates import describe_contract, format_local


def home(uow: UnitOfWork, platform: str, *, user_id: str, now: datetime) -> Home:
    """What the account `user_id` on `platform` sees on its home page as of `now`."""
    identity = uow.identities.of_account(platform, user_id)
    if identity is not None and identity.coach_id is not None:
        coach = uow.coaches.get(identity.coach_id)
        return coach_home(uow, coach, now=now) if coach is not None else None
    if identity is not None and identity.client_id is not None:
        client = uow.clients.get(identity.client_id)
        return client_home(uow, client, now=now) if client is not None else None
    return None


def coach_home(uow: UnitOfWork, coach: Coach, *, now: datetime) -> CoachHome:
    """The coach's contract as it stands, what waits for a reply, what waits for the digest."""
    policy = coach_policy(uow, coach)
    zone = policy.timezone
    digest = build_digest(uow, coach, now=now)
    waiting = (*digest.overdue, *digest.waiting) if digest else ()
    return CoachHome(
        name=coach.name,
        now=format_local(now, zone),
        open=policy.calendar.is_open(now),
        hours=policy.calendar.describe_hours(),
        reply_promise=policy.reply_within.describe(),
        digest_at=policy.digest_time.strftime("%H:%M") if policy.digest_time else "off",
        default_mode=policy.default_mode,
        waiting=tuple(
            WaitingItem(
                client=item.entry.client,
                label=kind_label(item.entry.kind),
                due=format_local(item.reply_by, zone, now),
                overdue=item.reply_by < now,
                preview=item.entry.preview,
            )
            for item in waiting
        ),
        updates=tuple(
            ClientUpdates(
                group.client,
                tuple(
                    UpdateItem(format_local(entry.received_at, zone, now), entry.preview)
                    for entry in group.entries
                ),
            )
            for group in (digest.updates if digest else ())
        ),
    )


def client_home(uow: UnitOfWork, client: Client, *, now: datetime) -> ClientHome:
    """The client's contract in words."""
    contract = contract_for(uow, client)
    return ClientHome(coach=contract.policy.coach_name, contract=describe_contract(contract, now))
