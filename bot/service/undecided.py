"""Plain text whose kind the client never picked: decided with the contract's default after a grace.

When the rules ask "update or needs a reply?", a timer is planned for the message; if it is still
undecided when the timer fires, it is decided with the default kind the contract allows, through
the same path as a pressed button, and the client is told why.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.store.models import Message, Timer
from bot.store.unit import UnitOfWork
from rules.contract import ClientMessage, Kind
from rules.decide import Outcome
from rules.texts import KIND_WORDS

GRACE = timedelta(hours=2)  # how long the buttons wait before the default kind is applied
TIMER_KIND = "undecided"
#: With no choice made, the kind that asks least of the coach comes first.
DEFAULT_ORDER = (Kind.FYI, Kind.GOALS, Kind.SCHEDULING, Kind.QUESTION)
_AS = {kind: words.taken_as for kind, words in KIND_WORDS.items()}


def plan(uow: UnitOfWork, *, message: Message, now: datetime) -> None:
    """Plan the grace timer of a message whose kind the client is asked for (idempotent)."""
    uow.timers.put(
        key=f"{TIMER_KIND}:{message.id}",
        kind=TIMER_KIND,
        due_at=now + GRACE,
        coach_id=message.coach_id,
        client_id=message.client_id,
        ref_id=message.id,
    )


def default_choice(choices: tuple[tuple[str, Kind | None], ...]) -> tuple[Kind | None, bool]:
    """What to apply when the client chose none, as (kind, for_session).

    Keeping it for the session when that is offered, else the kind that asks least of the coach.
    """
    offered = [kind for _, kind in choices]
    if None in offered:
        return None, True
    for kind in DEFAULT_ORDER:
        if kind in offered:
            return kind, False
    return (offered[0] if offered else None), False


def why_line(kind: Kind | None, action: str) -> str:
    """The sentence before the decision's reply, saying why the bot chose for the client."""
    if action == Outcome.PARK or kind is None:
        return "You didn't pick a kind, so I've kept your message."
    return f"You didn't pick a kind, so I've taken your message {_AS.get(kind, 'as it is')}."


def decide_late(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Timer handler: decide a message still waiting for its kind, and tell the client."""
    from bot.service import client_flow  # client_flow plans these timers: import late
    from bot.service.notices import Skip
    from bot.store.policy import contract_for
    from rules.decide import AskKind, decide

    message = uow.messages.get(timer.ref_id)
    if message is None:
        raise Skip("message gone")
    if message.decision != Outcome.ASK:
        return  # the client pressed a button in time
    client = uow.clients.get(message.client_id)
    coach = uow.coaches.get(message.coach_id)
    if client is None or coach is None:
        raise Skip("client gone")
    contract = contract_for(uow, client)
    count = len(message.attachments)
    asked = decide(contract, ClientMessage(message.text, None, count), now)
    kind, for_session = (
        default_choice(asked.choices) if isinstance(asked, AskKind) else (asked.kind, False)
    )
    client_flow.decide_late(
        uow,
        message=message,
        client=client,
        coach=coach,
        kind=kind,
        now=now,
        for_session=for_session,
    )
