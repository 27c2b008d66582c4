"""What `/policy` and `/client` show: the settings, and exactly the texts a client gets now."""

from __future__ import annotations

from datetime import date, datetime

from bot.store.models import Client, Closure, Coach, Identity
from bot.store.policy import coach_policy, contract_for
from bot.store.unit import UnitOfWork
from rules.contract import ClientTerms, Contract, Policy
from rules.decide import preview
from rules.standing import Standing, standing
from rules.templates import TEMPLATES, billing_sentence, format_local
from rules.texts import kinds_in_words


def sample_contract(policy: Policy) -> Contract:
    """The contract of a new client in the coach's default mode, for previews."""
    return Contract(policy=policy, client=ClientTerms(name="your client", mode=policy.default_mode))


def closure_line(closure: Closure) -> str:
    """`#3 2026-12-24 – 2027-01-02 Christmas break`."""
    span = closure.start.isoformat()
    if closure.end != closure.start:
        span += f" – {closure.end.isoformat()}"
    return f"#{closure.id} {span}" + (f" {closure.note}" if closure.note else "")


def billing_words(policy: Policy) -> str:
    """The billing terms in plain words, or `off`."""
    if policy.billing is None:
        return "off"
    increment = policy.billing.increment_minutes
    unit = "minute" if increment == 1 else "minutes"
    return f"{billing_sentence(policy)[:-1]}, rounded up to {increment} {unit}"


def policy_text(uow: UnitOfWork, coach: Coach, *, now: datetime) -> str:
    """The coach's settings and what a client in the default mode would get right now."""
    policy = coach_policy(uow, coach)
    closures = [c for c in uow.coaches.closures(coach.id or 0) if c.end >= _today(policy, now)]
    digest = policy.digest_time.strftime("%H:%M") if policy.digest_time else "off"
    custom = ", ".join(k for k in TEMPLATES if k in policy.templates) or "none (all default)"
    lines = [
        f"Your policy, {coach.name}:",
        f"Time zone: {policy.timezone} (now {format_local(now, policy.timezone)})",
        f"Hours: {policy.calendar.describe_hours()}",
        "Closed: " + ("; ".join(closure_line(c) for c in closures) or "no closures ahead"),
        f"Public holidays: {policy.holidays or 'off'}",
        f"Reply promise: {policy.reply_within.describe()} ({policy.reply_within})",
        f"Daily digest: {digest}",
        f"New clients' mode: {policy.default_mode}",
        f"Weekly quota: {policy.weekly_quota or 'none'}",
        f"Billing: {billing_words(policy)}",
        f"Your own texts: {custom}",
        f"Crisis resources: {'yours' if policy.crisis_text else 'the default'}",
        "Your crisis phrases: "
        + (", ".join(f"“{p}”" for p in policy.crisis_phrases) or "none (the built-in list only)")
        + " — /crisis_phrases",
        "",
        f"What a new client ({policy.default_mode}) would get right now:",
        preview_text(sample_contract(policy), now),
    ]
    return "\n".join(lines)


def client_text(uow: UnitOfWork, client: Client, *, now: datetime) -> str:
    """One client's terms and exactly what they would get right now."""
    contract = contract_for(uow, client)
    policy, zone = contract.policy, contract.policy.timezone
    platforms = sorted({i.platform for i in _identities(uow, client)})
    quota = policy.weekly_quota or "none"
    now_standing = standing(contract, now)
    lines = [
        f"{client.name} — {client.mode}, on {', '.join(platforms) or 'no chat yet'}",
        (
            f"Coaching ended on {now_standing.ended_on}: {client.name}'s news (/fyi) comes in "
            "your digest marked former client; anything else is kept, not passed on."
            if now_standing.ended_on is not None
            else kinds_in_words(contract.client, policy.weekly_quota)
        ),
        f"Allowed kinds in specific mode: {client.allowed.replace(',', ', ') or 'none'}",
        f"Weekly quota: {quota}" + (" (your policy)" if client.weekly_quota is None else ""),
        f"Next session: {_when(now_standing.next_session, zone, now=now)}",
        f"Last session: {_when(_last_session(client, now), zone, now=now)}",
        f"Contract: {_period(client)}" + _former_words(now_standing),
        f"Times shown to {client.name} in: {contract.client_timezone}",
        "",
        f"What {client.name} would get right now:",
        preview_text(contract, now),
    ]
    return "\n".join(lines)


def preview_text(contract: Contract, now: datetime) -> str:
    """Every text the client would get now, each under its template key and when it is sent."""
    blocks = [
        f"▸ {key} — {TEMPLATES[key].description}:\n{text}"
        for key, text in preview(contract, now).items()
    ]
    return "\n\n".join(blocks)


def _identities(uow: UnitOfWork, client: Client) -> list[Identity]:
    return uow.identities.of_client(client.id)


def _when(when: datetime | None, zone: str, *, now: datetime) -> str:
    return format_local(when, zone, now) if when is not None else "none"


def _last_session(client: Client, now: datetime) -> datetime | None:
    """The last session: a booked one that has passed counts, as it is no longer the next."""
    if client.next_session is not None and client.next_session <= now:
        return client.next_session
    return client.last_session


def former_words(now_standing: Standing) -> str:
    """`former client since 2026-12-01`, or `` for a current client."""
    since = now_standing.former_since
    return f"former client since {since.isoformat()}" if since is not None else ""


def _former_words(now_standing: Standing) -> str:
    words = former_words(now_standing)
    return f" — {words}" if words else ""


def _period(client: Client) -> str:
    if client.contract_start is None and client.contract_end is None:
        return "no dates set"
    start = client.contract_start.isoformat() if client.contract_start else "…"
    end = client.contract_end.isoformat() if client.contract_end else "open-ended"
    return f"{start} – {end}"


def _today(policy: Policy, now: datetime) -> date:
    return now.astimezone(policy.calendar.tz).date()
