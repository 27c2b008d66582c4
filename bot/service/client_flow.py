"""A client's message: ask the rules, then store it with its decision and what it sets off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.delivery import outbox
from bot.messages import Attachment, Choice, Inbound
from bot.service import coach_texts, schedule, undecided
from bot.store.models import Client, Coach, Message, Outbox, Promise
from bot.store.policy import contract_for
from bot.store.unit import UnitOfWork
from rules.contract import QUOTA_KINDS, ClientMessage, ClientState, Contract, Kind
from rules.decide import (
    DELIVERED,
    Alumni,
    AskKind,
    Decision,
    Digest,
    Forward,
    Outcome,
    Park,
    Queue,
    Urgent,
    decide,
)

MAX_TEXT_BYTES = 16 * 1024
CHOICE_PREFIX = "kind"
SAVE = "session"  # the choice data of "Save for my session"
#: After an answer to a client, the same answer is not said again for this long (see `_to_client`).
ANSWER_WINDOW = timedelta(seconds=60)
#: After a forward to the coach, further forwards of the client wait this long, bundled.
FORWARD_WINDOW = timedelta(seconds=60)
BUNDLE = "bundle"  # the timer kind that sends a bundle (bot.service.notices.bundle)


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
    uow: UnitOfWork, contract: Contract, *, client: Client, now: datetime
) -> ClientState:
    """Quota used this week and the last out-of-office notice, from the client's history."""
    used = 0
    if contract.policy.weekly_quota > 0:  # no quota, nothing to count
        used = uow.messages.count_since(
            client.id,
            since=contract.calendar.week_start(now),
            decisions=DELIVERED,
            kinds=[k.value for k in QUOTA_KINDS],
        )
    return ClientState(quota_used=used, out_of_office_sent_for=client.out_of_office_sent_for)


def attachments_json(incoming: Incoming) -> list[dict[str, object]]:
    """Attachments as stored: the platform handle plus where to copy the original from."""
    return [
        {**a.to_json(), "chat_id": incoming.chat_id, "message_id": incoming.source_message_id}
        for a in incoming.attachments
    ]


@dataclass
class _Job:
    """One message being decided: everything the steps share, read from the database once."""

    uow: UnitOfWork
    message: Message
    client: Client
    coach: Coach
    contract: Contract
    now: datetime
    client_chat: tuple[str, str] | None
    late: bool = False  # decided by the grace timer, not by the client: say why
    recent: list[Outbox] | None = None  # the client's rows of the last minute, read once


def _recent(job: _Job) -> list[Outbox]:
    """What went out about this client in the last folding or bundling window (one query)."""
    if job.recent is None:
        since = job.now - max(ANSWER_WINDOW, FORWARD_WINDOW)
        job.recent = job.uow.outbox.of_client_since(job.client.id, since=since, until=job.now)
    return job.recent


def receive(
    uow: UnitOfWork,
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
        decision=Outcome.NEW,
        received_at=min(inbound.received_at, now),
    )
    job = _Job(
        uow,
        message,
        client,
        coach,
        contract_for(uow, client),
        message.received_at,
        (inbound.platform, inbound.chat_id),
    )
    apply_decision(job, incoming.kind)
    return message


def apply_decision(job: _Job, kind: Kind | None, *, for_session: bool = False) -> Decision:
    """Decide on the job's message as of `job.now` and write everything the decision sets off.

    `for_session`: the client chose to keep it for their next session.
    """
    message = job.message
    state = client_state(job.uow, job.contract, client=job.client, now=job.now)
    asked = ClientMessage(message.text, kind, len(message.attachments), for_session=for_session)
    decision = decide(job.contract, asked, job.now, state)
    message.decision = decision.action
    message.kind = decision.kind.value if decision.kind else None
    match decision:
        case Alumni() | Digest(former_client=True):
            message.former_client = True
        case Park(session=session_at):
            message.session_at = session_at
        case Queue(release_at=release_at):
            message.release_at = release_at
    route = _route(job, decision) if isinstance(decision, Urgent | Forward) else None
    if route is not None and route.now:
        message.delivered_at = job.now  # known before the INSERT: no UPDATE after it
    job.uow.add(message)  # a new message is inserted once, already decided
    job.uow.flush()  # the message id names everything below
    match decision:
        case Urgent():
            _to_coach(job, decision, route=route)
        case Forward(reply_by=reply_by):
            _to_coach(job, decision, route=route)
            _promise(job, reply_by)
        case Queue(reply_by=reply_by):
            _promise(job, reply_by)
            _queue(job, decision)
        case AskKind() if prompt_covering(job) is not None:
            return decision  # the open prompt of this burst labels it too: no prompt, no timer
        case AskKind():
            undecided.plan(job.uow, message=message, now=job.now)
    _to_client(job, decision)
    return decision


def _promise(job: _Job, reply_by: datetime) -> None:
    promise = Promise(
        message_id=job.message.id or 0,
        coach_id=job.coach.id or 0,
        client_id=job.client.id or 0,
        reply_by=reply_by,
    )
    job.uow.add(promise)
    job.uow.flush()
    schedule.plan_reminder(job.uow, promise=promise, calendar=job.contract.calendar)


def _queue(job: _Job, decision: Queue) -> None:
    schedule.plan_release(
        job.uow,
        coach_id=job.coach.id or 0,
        client_id=job.client.id or 0,
        release_at=decision.release_at,
    )
    if not decision.brief:
        job.client.out_of_office_sent_for = decision.release_at
        job.uow.add(job.client)


def prompt_covering(job: _Job) -> Message | None:
    """The still-unlabelled message whose kind buttons, sent in the last minute, cover this one.

    A client typing a burst of plain messages is asked once: the buttons under the first one
    label every message of the burst (see `burst`), rather than a prompt under each.
    """
    since = job.now - ANSWER_WINDOW
    shown = job.uow.outbox.open_prompt(
        job.client.id, since=since, until=job.now, excluding=job.message.id
    )
    return job.uow.messages.get(shown)


def burst(uow: UnitOfWork, first: Message) -> list[Message]:
    """The unlabelled messages the kind buttons under `first` also label, oldest first.

    They are the client's messages still waiting for a kind that arrived within a minute of
    `first` (none of them was given buttons of its own: `prompt_covering`).
    """
    return uow.messages.burst_after(first, ANSWER_WINDOW)


def _said_lately(job: _Job, action: str) -> bool:
    """True when this client was given the `action` answer less than a minute ago."""
    since, ack = job.now - ANSWER_WINDOW, f":ack:{action}"
    return any(
        row.created_at > since
        and row.idempotency_key.startswith("msg:")
        and row.idempotency_key.endswith(ack)
        for row in _recent(job)
    )


def _to_client(job: _Job, decision: Decision) -> None:
    """Queue the answer to the client, unless the same answer went to them in the last minute.

    Someone sending a burst ("ok", "so", "about Thursday...") reads one answer as the answer to
    the burst; the same sentence under each line reads like a machine stuck in a loop. So the
    first answer of a kind says it and, for a minute, further messages that would get the same
    answer are stored and decided without one. A different answer (the quota ran out, the
    message was kept for the session) is still said, once. Crisis answers are never folded;
    kind buttons are asked once a burst by `apply_decision` instead.
    """
    folds = not isinstance(decision, Urgent | AskKind)  # a burst's prompt: `prompt_covering`
    if folds and _said_lately(job, decision.action):
        return
    chat = job.client_chat or job.uow.identities.client_chat(
        job.client.id or 0, prefer=job.message.platform
    )
    if chat is None:
        return
    choices: tuple[Choice, ...] = ()
    if isinstance(decision, AskKind):
        choices = tuple(
            Choice(label, f"{CHOICE_PREFIX}:{job.message.id}:{kind.value if kind else SAVE}")
            for label, kind in decision.choices
        )
    text = decision.reply
    if job.late:
        text = f"{undecided.why_line(decision.kind, decision.action)} {text}"
    outbox.enqueue(
        job.uow,
        key=f"msg:{job.message.id}:ack:{decision.action}",
        platform=chat[0],
        chat_id=chat[1],
        text=text,
        now=job.now,
        choices=choices,
        fresh=True,
        coach_id=job.coach.id,  # a failed acknowledgement shows in the coach's digest
        client_id=job.client.id,
        message_id=job.message.id,
        urgent=decision.action == Outcome.URGENT,  # the crisis resources go out ahead of everything
    )


def _bundle_due(job: _Job) -> datetime | None:
    """When a forward now joins a bundle: the end of the window of the client's last forward.

    None when nothing went to the coach for this client in the last `FORWARD_WINDOW`.
    """
    since = job.now - FORWARD_WINDOW
    forwards = [
        row.created_at
        for row in _recent(job)
        if row.created_at > since
        and row.coach_id == job.coach.id
        and (
            (row.idempotency_key.startswith("msg:") and row.idempotency_key.endswith(":fwd"))
            or row.idempotency_key.startswith(f"{BUNDLE}:")
        )
    ]
    return max(forwards) + FORWARD_WINDOW if forwards else None


@dataclass(frozen=True)
class _Route:
    """Where a message for the coach goes: her chat, and the bundle it waits for, if any."""

    chat: tuple[str, str] | None
    bundle_due: datetime | None

    @property
    def now(self) -> bool:
        """It goes to the coach at once."""
        return self.chat is not None and self.bundle_due is None


def _route(job: _Job, decision: Decision) -> _Route:
    """While a forward for this client went out less than a minute ago, further ones wait for
    a bundle timer at that minute's end (bot.service.notices.bundle): one message for the coach,
    whose reply answers everything in it. A crisis always goes alone and at once."""
    chat = job.uow.identities.coach_chat(job.coach.id or 0, prefer=job.message.platform)
    if chat is None:
        return _Route(None, None)
    due = _bundle_due(job) if decision.action != Outcome.URGENT else None
    return _Route(chat, due)


def _to_coach(job: _Job, decision: Decision, *, route: _Route | None) -> None:
    """Forward the message to the coach now, or into the bundle of its client's burst."""
    message = job.message
    route = route or _route(job, decision)
    chat, due = route.chat, route.bundle_due
    if chat is None:
        return
    if due is not None:
        job.uow.timers.put(
            key=f"{BUNDLE}:{job.client.id}:{due.astimezone(UTC).isoformat(timespec='seconds')}",
            kind=BUNDLE,
            due_at=due,
            coach_id=job.coach.id,
            client_id=job.client.id,
            on_conflict="rearm",  # a redelivered message dated into a window already sent
        )
        return  # delivered_at stays empty until the bundle goes out
    text = coach_texts.forwarded(
        client=job.client.name,
        kind=message.kind,
        text=message.text,
        attachments=message.attachments,
        reply_by=decision.reply_by,
        zone=job.contract.policy.timezone,
        urgent=decision.action == Outcome.URGENT,
    )
    if message.delivered_at != job.now:  # a new message has it from before its INSERT
        message.delivered_at = job.now
    outbox.enqueue(
        job.uow,
        key=f"msg:{message.id}:fwd",
        platform=chat[0],
        chat_id=chat[1],
        text=text,
        now=job.now,
        copy_from=tuple(
            (str(a["chat_id"]), str(a["message_id"]))
            for a in message.attachments
            if a.get("message_id")
        ),
        attachments=outbox.shared_files([message]),
        coach_id=job.coach.id,
        client_id=job.client.id,
        message_id=message.id,
        fresh=True,
        urgent=decision.action == Outcome.URGENT,  # its own lane: ahead of the chat and the cap
    )


def parse_choice(data: str) -> tuple[int, Kind | None] | None:
    """`kind:42:fyi` -> (42, Kind.FYI), `kind:42:session` -> (42, None); None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != CHOICE_PREFIX or not parts[1].isdigit():
        return None
    if parts[2] == SAVE:
        return int(parts[1]), None
    try:
        return int(parts[1]), Kind(parts[2])
    except ValueError:
        return None


def answer_choice(
    uow: UnitOfWork, *, client: Client, coach: Coach, data: str, now: datetime
) -> str | None:
    """Apply a pressed kind button; return a line for the client when nothing new happens."""
    parsed = parse_choice(data)
    message = uow.messages.get(parsed[0]) if parsed else None
    if parsed is None or message is None or message.client_id != client.id:
        return "That button no longer belongs to a message of yours."
    if message.decision != Outcome.ASK:
        return "Already sorted — that message was handled when you first chose."
    # The coach learns of the message only once its kind is known, so promises count from now.
    contract = contract_for(uow, client)
    others = burst(uow, message)
    for each in (message, *others):
        job = _Job(uow, each, client, coach, contract, now, None)
        apply_decision(job, parsed[1], for_session=parsed[1] is None)
    if others:
        count = len(others)
        which = "the message" if count == 1 else f"the {count} messages"
        return f"That goes for {which} you sent after it too."
    return None


def decide_late(
    uow: UnitOfWork,
    *,
    message: Message,
    client: Client,
    coach: Coach,
    kind: Kind | None,
    now: datetime,
    for_session: bool = False,
) -> Decision:
    """Decide a message whose kind the client never picked, as of `now`, telling them why.

    The messages its buttons also covered (`burst`) are decided with it, each with its own
    default kind; the client hears each different outcome once (`_to_client`).
    """
    contract = contract_for(uow, client)
    others = burst(uow, message)
    job = _Job(uow, message, client, coach, contract, now, None, late=True)
    decision = apply_decision(job, kind, for_session=for_session)
    for each in others:
        asked = decide(contract, ClientMessage(each.text, None, len(each.attachments)), now)
        each_kind, each_session = (
            undecided.default_choice(asked.choices)
            if isinstance(asked, AskKind)
            else (asked.kind, False)
        )
        job = _Job(uow, each, client, coach, contract, now, None, late=True)
        apply_decision(job, each_kind, for_session=each_session)
    return decision
