"""A client's message: ask the rules, then store it with its decision and what it sets off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from bot import coach_texts, outbox, schedule
from bot.messages import Attachment, Choice, Inbound
from bot.store.models import Client, Coach, Message, Promise
from bot.store.policy import contract_for
from bot.store.queries import client_chat, coach_chat
from rules.contract import NEEDS_REPLY, ClientMessage, ClientState, Contract, Kind
from rules.decide import AskKind, Decision, Park, Queue, decide

MAX_TEXT_BYTES = 16 * 1024
CHOICE_PREFIX = "kind"


@dataclass(frozen=True)
class Incoming:
    """A client message after command parsing: text, chosen kind, attachments."""

    text: str
    kind: Kind | None
    attachments: tuple[Attachment, ...]
    chat_id: str
    source_message_id: str | None


def truncate(text: str) -> tuple[str, bool]:
    """Keep at most 16 kB of a text, with a marker saying how much was cut."""
    raw = text.encode("utf-8")
    if len(raw) <= MAX_TEXT_BYTES:
        return text, False
    kept = raw[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")
    return f"{kept}\n[… truncated: {len(raw) // 1024} kB sent, the first 16 kB kept]", True


def client_state(
    session: Session, contract: Contract, client: Client, now: datetime
) -> ClientState:
    """Quota used this week and the last out-of-office notice, from the client's history."""
    week_start = contract.calendar.week_start(now)
    used = session.exec(
        select(func.count(col(Message.id))).where(
            Message.client_id == client.id,
            col(Message.decision).in_(["forward", "queue"]),
            col(Message.kind).in_([k.value for k in NEEDS_REPLY]),
            Message.received_at >= week_start,
        )
    ).one()
    return ClientState(quota_used=int(used), out_of_office_sent_for=client.out_of_office_sent_for)


def attachments_json(incoming: Incoming) -> list[dict[str, object]]:
    """Attachments as stored: the platform handle plus where to copy the original from."""
    return [
        {**a.to_json(), "chat_id": incoming.chat_id, "message_id": incoming.source_message_id}
        for a in incoming.attachments
    ]


def receive(
    session: Session,
    *,
    client: Client,
    coach: Coach,
    inbound: Inbound,
    incoming: Incoming,
    now: datetime,
) -> Message:
    """Store a new client message, decide on it as of its arrival and carry the decision out.

    A redelivered update is decided as of when the client sent it; a platform timestamp
    ahead of our clock is taken as now, so nothing waits on another machine's clock.
    """
    text, truncated = truncate(incoming.text)
    message = Message(
        coach_id=coach.id or 0,
        client_id=client.id or 0,
        platform=inbound.platform,
        text=text,
        truncated=truncated,
        attachments=attachments_json(incoming),
        kind=incoming.kind.value if incoming.kind else None,
        decision="new",
        received_at=min(inbound.received_at, now),
    )
    session.add(message)
    session.flush()
    apply_decision(
        session,
        message=message,
        client=client,
        coach=coach,
        kind=incoming.kind,
        now=message.received_at,
    )
    return message


def apply_decision(
    session: Session,
    *,
    message: Message,
    client: Client,
    coach: Coach,
    kind: Kind | None,
    now: datetime,
) -> Decision:
    """Decide on `message` as of `now` and write everything the decision sets off."""
    contract = contract_for(session, client)
    state = client_state(session, contract, client, now)
    count = len(message.attachments)
    decision = decide(contract, ClientMessage(message.text, kind, count), now, state)
    message.decision = decision.action
    message.kind = decision.kind.value if decision.kind else None
    message.former_client = getattr(decision, "former_client", False) or decision.action == "alumni"
    if isinstance(decision, Park):
        message.session_at = decision.session
    session.add(message)
    session.flush()
    _carry_out(session, decision=decision, message=message, client=client, coach=coach, now=now)
    return decision


def _carry_out(
    session: Session,
    *,
    decision: Decision,
    message: Message,
    client: Client,
    coach: Coach,
    now: datetime,
) -> None:
    key = f"msg:{message.id}"
    if decision.action in ("urgent", "forward"):
        _to_coach(session, message=message, client=client, coach=coach, decision=decision, now=now)
    if decision.action in ("forward", "queue") and decision.reply_by is not None:
        promise = Promise(
            message_id=message.id or 0,
            coach_id=coach.id or 0,
            client_id=client.id or 0,
            reply_by=decision.reply_by,
        )
        session.add(promise)
        session.flush()
        schedule.plan_reminder(
            session, promise=promise, calendar=contract_for(session, client).calendar
        )
    if isinstance(decision, Queue):
        message.release_at = decision.release_at
        schedule.plan_release(
            session,
            coach_id=coach.id or 0,
            client_id=client.id or 0,
            release_at=decision.release_at,
        )
        if not decision.brief:
            client.out_of_office_sent_for = decision.release_at
            session.add(client)
    choices: tuple[Choice, ...] = ()
    if isinstance(decision, AskKind):
        choices = tuple(
            Choice(label, f"{CHOICE_PREFIX}:{message.id}:{kind.value}")
            for label, kind in decision.choices
        )
    _to_client(
        session,
        message=message,
        client=client,
        text=decision.reply,
        choices=choices,
        key=f"{key}:ack:{decision.action}",
        now=now,
    )


def _to_client(
    session: Session,
    *,
    message: Message,
    client: Client,
    text: str,
    choices: tuple[Choice, ...],
    key: str,
    now: datetime,
) -> None:
    chat = client_chat(session, client.id or 0, prefer=message.platform)
    if chat is None:
        return
    outbox.enqueue(
        session,
        key=key,
        platform=chat[0],
        chat_id=chat[1],
        text=text,
        now=now,
        choices=choices,
        client_id=client.id,
        message_id=message.id,
    )


def _to_coach(
    session: Session,
    *,
    message: Message,
    client: Client,
    coach: Coach,
    decision: Decision,
    now: datetime,
) -> None:
    chat = coach_chat(session, coach.id or 0, prefer=message.platform)
    if chat is None:
        return
    zone = contract_for(session, client).policy.timezone
    text = coach_texts.forwarded(
        client=client.name,
        kind=message.kind,
        text=message.text,
        attachments=message.attachments,
        reply_by=decision.reply_by,
        zone=zone,
        urgent=decision.action == "urgent",
    )
    message.delivered_at = now
    outbox.enqueue(
        session,
        key=f"msg:{message.id}:fwd",
        platform=chat[0],
        chat_id=chat[1],
        text=text,
        now=now,
        copy_from=tuple(
            (str(a["chat_id"]), str(a["message_id"]))
            for a in message.attachments
            if a.get("message_id")
        ),
        coach_id=coach.id,
        client_id=client.id,
        message_id=message.id,
    )


def parse_choice(data: str) -> tuple[int, Kind] | None:
    """`kind:42:fyi` -> (42, Kind.FYI); None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != CHOICE_PREFIX or not parts[1].isdigit():
        return None
    try:
        return int(parts[1]), Kind(parts[2])
    except ValueError:
        return None


def answer_choice(
    session: Session, *, client: Client, coach: Coach, data: str, now: datetime
) -> str | None:
    """Apply a pressed kind button; return a line for the client when nothing new happens."""
    parsed = parse_choice(data)
    message = session.get(Message, parsed[0]) if parsed else None
    if parsed is None or message is None or message.client_id != client.id:
        return "That button no longer belongs to a message of yours."
    if message.decision != "ask":
        return "Already sorted — that message was handled when you first chose."
    # The coach learns of the message only once its kind is known, so promises count from now.
    apply_decision(session, message=message, client=client, coach=coach, kind=parsed[1], now=now)
    return None
