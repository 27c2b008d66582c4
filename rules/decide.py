"""What happens to a client message: one decision, with what the client is told at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

from rules.calendar import BusinessCalendar
from rules.classify import is_crisis
from rules.contract import (
    QUOTA_KINDS,
    ClientMessage,
    ClientState,
    Contract,
    Kind,
    Mode,
)
from rules.standing import standing
from rules.templates import contract_values, format_local, queue_values, render
from rules.texts import KIND_WORDS

ParkReason = Literal["kind", "quota", "chosen"]  # chosen: the client asked to save it


class Outcome(StrEnum):
    """What became of a client message, as stored (`Message.decision` holds the value)."""

    NEW = "new"  # stored, not decided yet (inside the transaction that decides it)
    ASK = "ask"  # waiting for the client to pick a kind
    URGENT = "urgent"
    ALUMNI = "alumni"
    PARK = "park"
    DIGEST = "digest"
    FORWARD = "forward"
    QUEUE = "queue"


#: Outcomes that passed a message on to the coach, or will at her opening.
DELIVERED = frozenset({Outcome.FORWARD, Outcome.QUEUE})


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What the rules decided for one client message; `reply` is exactly what the client sees."""

    action: ClassVar[Outcome] = Outcome.NEW
    kind: Kind | None
    reply: str
    reply_by: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Urgent(Decision):
    """The text may signal a crisis: resources to the client and the coach alerted, at once."""

    action: ClassVar[Outcome] = Outcome.URGENT


@dataclass(frozen=True, kw_only=True)
class Alumni(Decision):
    """A former client's message that is not an update: kept, not passed on."""

    action: ClassVar[Outcome] = Outcome.ALUMNI


@dataclass(frozen=True, kw_only=True)
class Park(Decision):
    """Kept for the next session (`session`, None when none is booked)."""

    action: ClassVar[Outcome] = Outcome.PARK
    session: datetime | None = None
    reason: ParkReason = "kind"


@dataclass(frozen=True, kw_only=True)
class Digest(Decision):
    """An update kept for the coach's daily digest; no reply expected."""

    action: ClassVar[Outcome] = Outcome.DIGEST
    former_client: bool = False


@dataclass(frozen=True, kw_only=True)
class Forward(Decision):
    """Passed on to the coach now, to be answered by `reply_by`."""

    action: ClassVar[Outcome] = Outcome.FORWARD
    reply_by: datetime


@dataclass(frozen=True, kw_only=True)
class Queue(Decision):
    """Held until the coach's next opening (`release_at`), to be answered by `reply_by`."""

    action: ClassVar[Outcome] = Outcome.QUEUE
    reply_by: datetime
    release_at: datetime
    brief: bool = False


@dataclass(frozen=True, kw_only=True)
class AskKind(Decision):
    """Plain text under a contract with several kinds: the client picks one with a button.

    A choice whose kind is None keeps the message for the client's next session.
    """

    action: ClassVar[Outcome] = Outcome.ASK
    choices: tuple[tuple[str, Kind | None], ...]


#: Button labels for each kind, in the order the buttons are shown.
KIND_BUTTONS: dict[Kind, str] = {
    kind: KIND_WORDS[kind].button for kind in (Kind.FYI, Kind.QUESTION, Kind.SCHEDULING, Kind.GOALS)
}
SAVE_LABEL = "Save for my session"
OPEN_DOOR_CHOICES: tuple[tuple[str, Kind | None], ...] = (
    (KIND_BUTTONS[Kind.FYI], Kind.FYI),
    (KIND_BUTTONS[Kind.QUESTION], Kind.QUESTION),
)
_NO_HISTORY = ClientState()


def quota_counts(kind: Kind | None) -> bool:
    """Whether a message of this kind counts against the weekly quota (not updates, scheduling)."""
    return kind in QUOTA_KINDS


def uses_quota(decision: Decision) -> bool:
    """Whether the bot should count this decision against the client's weekly quota."""
    return isinstance(decision, Forward | Queue) and quota_counts(decision.kind)


def decide(
    contract: Contract, message: ClientMessage, now: datetime, state: ClientState = _NO_HISTORY
) -> Decision:
    """Decide what happens to a client message arriving at `now` (first matching rule wins)."""
    policy = contract.policy
    if is_crisis(message.text, policy.crisis_phrases):
        return Urgent(kind=message.kind, reply=render(contract, "urgent"))
    if contract.is_former_client(now):
        return _former_client(contract, message.kind)
    if message.for_session:
        return _parked(contract, None, "chosen", now)
    allowed = contract.client.allowed_kinds()
    kind = message.kind
    if kind is None:  # plain text: the client is asked, even when one kind is allowed
        return _ask_kind(contract, allowed, now)
    parked = _park(contract, kind, now, state, allowed)
    if parked is not None:
        return parked
    if kind is Kind.FYI:
        return Digest(kind=kind, reply=render(contract, "digest"))
    return _deliver(contract, kind, now, state)


def _former_client(contract: Contract, kind: Kind | None) -> Decision:
    """Updates (and plain text) from a former client go to the digest; the rest is kept."""
    if kind is None or kind is Kind.FYI:
        return Digest(kind=Kind.FYI, reply=render(contract, "former_fyi"), former_client=True)
    return Alumni(kind=kind, reply=render(contract, "alumni"))


def _ask_kind(contract: Contract, allowed: frozenset[Kind], now: datetime) -> Decision:
    """Ask which kind plain text is: update or reply for open door, else each allowed kind
    and "Save for my session" (what a contract that keeps everything else for sessions offers).
    """
    if contract.client.mode is Mode.OPEN_DOOR:
        choices = OPEN_DOOR_CHOICES
    else:
        offered = tuple((label, kind) for kind, label in KIND_BUTTONS.items() if kind in allowed)
        if not offered:  # a contract that allows nothing between sessions
            return _parked(contract, None, "kind", now)
        choices = (*offered, (SAVE_LABEL, None))
    return AskKind(kind=None, reply=render(contract, "ask_kind"), choices=choices)


def _park(
    contract: Contract, kind: Kind, now: datetime, state: ClientState, allowed: frozenset[Kind]
) -> Park | None:
    """Park the message if its kind is not allowed or the weekly quota is used, else None."""
    quota = contract.policy.weekly_quota
    if kind not in allowed:
        return _parked(contract, kind, "kind", now)
    if quota > 0 and quota_counts(kind) and state.quota_used >= quota:
        return _parked(contract, kind, "quota", now)
    return None


def _park_reason_text(contract: Contract, reason: ParkReason) -> str:
    """Why a message is parked, as one sentence for `park_no_session`."""
    if reason == "quota":
        return (
            "You've reached this week's limit of messages that get a reply between sessions "
            f"({contract.policy.weekly_quota})."
        )
    if reason == "chosen":
        return ""
    return "Between-session messages like this aren't part of your contract."


def _parked(contract: Contract, kind: Kind | None, reason: ParkReason, now: datetime) -> Park:
    """A Park decision, told with the next session when one is booked."""
    session = contract.client.next_session
    if session is None or session <= now:
        reason_text = _park_reason_text(contract, reason)
        reply = render(contract, "park_no_session", reason=reason_text).strip()
        return Park(kind=kind, reply=reply, session=None, reason=reason)
    when = format_local(session, contract.client_timezone, now)
    key = {"kind": "park", "quota": "park_quota", "chosen": "park_chosen"}[reason]
    reply = render(contract, key, next_session=when)
    return Park(kind=kind, reply=reply, session=session, reason=reason)


def _deliver(contract: Contract, kind: Kind, now: datetime, state: ClientState) -> Decision:
    """Forward inside hours; otherwise queue until the next opening."""
    calendar = contract.calendar
    reply_by = contract.policy.reply_within.reply_by(calendar, now)
    zone_name = contract.client_timezone
    if calendar.is_open(now):
        told = render(contract, "forward", reply_by=format_local(reply_by, zone_name, now))
        return Forward(kind=kind, reply=told, reply_by=reply_by)
    release_at = calendar.next_open(now)
    brief = state.out_of_office_sent_for == release_at
    values = queue_values(contract, now, release_at, reply_by, note=not brief)
    told = render(contract, "queue_brief" if brief else "queue", **values)
    return Queue(kind=kind, reply=told, reply_by=reply_by, release_at=release_at, brief=brief)


def _closing_or_now(calendar: BusinessCalendar, now: datetime) -> datetime:
    """When the current open stretch ends; `now` for a coach who never closes."""
    try:
        return calendar.next_close(now)
    except ValueError:
        return now


def preview(contract: Contract, now: datetime) -> dict[str, str]:
    """Every text this client would be sent right now, by template key (for `/policy`)."""
    calendar = contract.calendar
    zone_name = contract.client_timezone
    arrival = now if not calendar.is_open(now) else _closing_or_now(calendar, now)
    release_at = calendar.next_open(arrival)
    reply_by = contract.policy.reply_within.reply_by(calendar, now)
    queued_by = contract.policy.reply_within.reply_by(calendar, arrival)
    session = standing(contract, now).next_session  # a session that has passed is not next
    session_text = format_local(session, zone_name, now) if session else "(next session)"
    queued = queue_values(contract, arrival, release_at, queued_by, note=True)
    details = contract_values(contract, now)
    return {
        "forward": render(contract, "forward", reply_by=format_local(reply_by, zone_name, now)),
        "queue": render(contract, "queue", **queued),
        "queue_brief": render(contract, "queue_brief", **queued),
        "digest": render(contract, "digest"),
        "park": render(contract, "park", next_session=session_text),
        "park_quota": render(
            contract,
            "park_quota",
            next_session=session_text,
            quota=contract.policy.weekly_quota or "your weekly limit",
        ),
        "park_chosen": render(contract, "park_chosen", next_session=session_text),
        "park_no_session": render(
            contract, "park_no_session", reason=_park_reason_text(contract, "kind")
        ),
        "alumni": render(contract, "alumni"),
        "former_fyi": render(contract, "former_fyi"),
        "ended": render(
            contract, "ended", **{**details, "ended_on": details["ended_on"] or "(its last day)"}
        ),
        "urgent": render(contract, "urgent"),
        "ask_kind": render(contract, "ask_kind"),
        "welcome": render(contract, "welcome", **details),
        "availability": render(contract, "availability", **details),
    }


__all__ = [
    "DELIVERED",
    "OPEN_DOOR_CHOICES",
    "Alumni",
    "AskKind",
    "Decision",
    "Digest",
    "Forward",
    "Outcome",
    "Park",
    "Queue",
    "Urgent",
    "decide",
    "preview",
    "quota_counts",
    "uses_quota",
]
