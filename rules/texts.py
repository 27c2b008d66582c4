"""The default texts a client sees, with the placeholders each may use and when it is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from types import MappingProxyType

from rules.contract import ClientTerms, Contract, Kind, Mode
from rules.localtime import time_zone
from rules.standing import week_hours

#: The one home of day and month names (fixed English, until texts follow the locale).
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_ABBREVIATIONS: tuple[str, ...] = tuple(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
)
MONTH_NAMES: tuple[str, ...] = (
    *("January", "February", "March", "April", "May", "June", "July"),
    *("August", "September", "October", "November", "December"),
)
_DAYS = DAY_NAMES


@dataclass(frozen=True)
class TemplateSpec:
    """One client-facing text: its default wording, its placeholders and when it is sent."""

    text: str
    placeholders: tuple[str, ...]
    description: str


#: What each placeholder becomes when a text is sent; times are in the client's zone.
PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "coach": "the coach's name",
        "client": "the client's name",
        "next_open": "when the coach is next in the office",
        "reply_by": "the time the client will hear back by",
        "reply_promise": "the reply promise in words, e.g. within 24 open hours",
        "next_session": "the next session, or `not booked yet`",
        "hours": "the weekly hours",
        "status": "whether the coach is in right now, e.g. back Mon 09:00",
        "kinds": "what the client may send between sessions, in words",
        "quota": "the weekly number of messages that get a reply",
        "billing": "the billing terms as a sentence (empty when there are none)",
        "crisis": "the crisis resources text",
        "away": "`out of the office`, or `away (Christmas break)` in a closure or holiday",
        "reason": "the closure note or holiday name; for park_no_session, why it was parked",
        "ended_on": "the last day of a former client's contract, e.g. Mon 30 Nov 2026",
    }
)

DEFAULT_CRISIS_TEXT = (
    "• If you are in danger or might act on these thoughts, call your local emergency "
    "number now (112 in Europe, 999 in the UK, 911 in the US and Canada).\n"
    "• Samaritans, any time: 116 123 (UK and Ireland).\n"
    "• 988 Suicide & Crisis Lifeline: call or text 988 (US).\n"
    "• Elsewhere: findahelpline.com lists free, confidential helplines in your country."
)

_COMMON = ("coach", "client")
_CONTRACT = (*_COMMON, "hours", "status", "reply_promise", "kinds", "next_session", "billing")


def _spec(text: str, extra: tuple[str, ...], description: str) -> TemplateSpec:
    """A spec whose placeholders are the common ones plus `extra`."""
    names = extra if extra[:2] == _COMMON else (*_COMMON, *extra)
    return TemplateSpec(text, names, description)


_DEFAULTS = {
    "forward": _spec(
        "Thanks — {coach} has your message and will reply by {reply_by}. {billing}",
        ("reply_by", "reply_promise", "billing"),
        "a message inside hours, passed on to the coach now",
    ),
    "queue": _spec(
        "{coach} is {away} until {next_open}; you'll hear back by {reply_by}. "
        "Your message is saved and will be passed on then. {billing}",
        ("next_open", "reply_by", "reply_promise", "away", "reason", "billing"),
        "the first message after hours or in a closure (the out-of-office notice)",
    ),
    "queue_brief": _spec(
        "Got it — saved for when {coach} is back ({next_open}); you'll hear back by {reply_by}.",
        ("next_open", "reply_by"),
        "later messages in the same closed period (a short acknowledgement)",
    ),
    "digest": _spec(
        "Thanks — noted for {coach}'s daily round-up, no reply needed.",
        (),
        "an update (fyi): kept for the coach's daily digest",
    ),
    "park": _spec(
        "Between-session messages like this aren't part of your contract; "
        "I've saved this for your session on {next_session}.",
        ("next_session",),
        "a kind the contract does not allow: kept for the next session",
    ),
    "park_quota": _spec(
        "You've reached this week's limit of messages that get a reply between sessions "
        "({quota}), so I've saved this for your session on {next_session}.",
        ("next_session", "quota"),
        "the weekly quota is used: kept for the next session",
    ),
    "park_chosen": _spec(
        "It's saved for your session on {next_session}; {coach} will see it then.",
        ("next_session",),
        "the client chose to keep a message for the next session",
    ),
    "park_no_session": _spec(
        "{reason} I've saved this for your next session with {coach}, once one is booked.",
        ("reason",),
        "kept for the next session when none is booked yet",
    ),
    "alumni": _spec(
        "Your coaching contract with {coach} has ended, so I can't pass messages on for a "
        "reply any more; I've kept this one on record. To share news, or to ask about "
        "working together again, send it with /fyi and {coach} will see it in the daily "
        "round-up.",
        (),
        "a former client's message that is not an update: kept, not passed on",
    ),
    "ended": _spec(
        "Your coaching contract with {coach} ended on {ended_on}, so messages aren't passed "
        "on for a reply any more; anything you send is kept on record. To share news, send "
        "it with /fyi and {coach} will see it in the daily round-up.",
        ("ended_on",),
        "a former client's /hours, welcome and Slack Home: coaching has ended",
    ),
    "former_fyi": _spec(
        "Thanks for the news — I've added it to {coach}'s daily round-up. No reply needed.",
        (),
        "a former client's update: kept for the digest, marked former client",
    ),
    "urgent": _spec(
        "It sounds like things are really hard right now. I've told {coach} straight away, "
        "but {coach} may not be able to answer at once, so please reach out now:\n{crisis}",
        ("crisis",),
        "the text may signal a crisis: resources at once, coach alerted",
    ),
    "ask_kind": _spec(
        "So I can pass this on the right way: what kind of message is it?",
        (),
        "plain text when the contract allows several kinds (buttons follow)",
    ),
    "welcome": _spec(
        "Welcome, {client}! I pass your messages to {coach} and tell you straight away "
        "when to expect a reply.\n\n"
        "{coach}'s hours: {hours}.\n{status}\n{coach} replies {reply_promise}.\n"
        "{kinds}\nNext session: {next_session}.\n{billing}",
        _CONTRACT,
        "after joining with an invite code: the contract in plain words",
    ),
    "availability": _spec(
        "{coach}'s hours: {hours}.\n{status}\n{coach} replies {reply_promise}.\n"
        "{kinds}\nNext session: {next_session}.\n{billing}",
        _CONTRACT,
        "the client's /hours: availability, reply promise and next session",
    ),
}

#: Every client-facing text by key.
TEMPLATES: Mapping[str, TemplateSpec] = MappingProxyType(_DEFAULTS)


@dataclass(frozen=True)
class KindWords:
    """Every way a kind of message is named, for whoever reads it."""

    label: str  # the coach's view of one: "Alex · update"
    button: str  # the client's button for it
    counted: tuple[str, str]  # one, many: "1 goals message" (the pre-session brief)
    tallied: tuple[str, str]  # one, many: "1 goals" (the monthly report)
    taken_as: str  # "I've taken your message as an update"
    allowed: str  # "you can send updates (/fyi, no reply needed)"


#: The one home of kind names; `UNSORTED_LABEL` names a message with no kind yet.
KIND_WORDS: Mapping[Kind, KindWords] = MappingProxyType(
    {
        Kind.FYI: KindWords(
            label="update",
            button="Just an update",
            counted=("update", "updates"),
            tallied=("update", "updates"),
            taken_as="as an update",
            allowed="updates (/fyi, no reply needed)",
        ),
        Kind.QUESTION: KindWords(
            label="question",
            button="Needs a reply",
            counted=("question", "questions"),
            tallied=("question", "questions"),
            taken_as="as a message that needs a reply",
            allowed="questions (/ask)",
        ),
        Kind.SCHEDULING: KindWords(
            label="scheduling",
            button="Scheduling",
            counted=("scheduling message", "scheduling messages"),
            tallied=("scheduling", "scheduling"),
            taken_as="as a scheduling message",
            allowed="scheduling (/reschedule)",
        ),
        Kind.GOALS: KindWords(
            label="goals",
            button="Goals",
            counted=("goals message", "goals messages"),
            tallied=("goals", "goals"),
            taken_as="as a goals message",
            allowed="goals (/goals)",
        ),
    }
)
UNSORTED_LABEL = "message"
#: The order kinds are listed in when the client may send some of them.
_ALLOWED_ORDER = (Kind.FYI, Kind.QUESTION, Kind.GOALS, Kind.SCHEDULING)


def kind_label(kind: str | None) -> str:
    """`update`, `question`...: a stored kind as the coach reads it (`message` if none)."""
    try:
        return KIND_WORDS[Kind(kind)].label if kind is not None else UNSORTED_LABEL
    except ValueError:  # a kind this version does not know: shown as stored
        return kind or UNSORTED_LABEL


def _join(words: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def kinds_in_words(client: ClientTerms, weekly_quota: int = 0) -> str:
    """What the client may send between sessions, in plain words, with the weekly quota."""
    if client.mode is Mode.OPEN_DOOR:
        text = (
            "Between sessions you can send updates any time with /fyi (no reply needed) "
            "and questions with /ask."
        )
    else:
        allowed = client.allowed_kinds()
        kinds = [KIND_WORDS[kind].allowed for kind in _ALLOWED_ORDER if kind in allowed]
        only = " only" if client.mode is Mode.SESSIONS_ONLY else ""
        text = (
            f"Between sessions you can send {_join(kinds)}{only}; anything else is saved "
            "for your next session."
            if kinds
            else "Messages between sessions are saved for your next session."
        )
    if weekly_quota > 0:
        one = weekly_quota == 1
        text += (
            f" Up to {weekly_quota} {'message' if one else 'messages'} a week that "
            f"{'needs a reply is' if one else 'need a reply are'} passed on (scheduling aside); "
            "more are saved for your next session."
        )
    return text


zone = time_zone  # the one zone lookup (rules.localtime)


def day_words(day: date) -> str:
    """`Mon 23 Nov` for a date."""
    return f"{DAY_NAMES[day.weekday()]} {day.day} {MONTH_ABBREVIATIONS[day.month - 1]}"


def weekday_name(weekday: int) -> str:
    """`Mon` for 0 … `Sun` for 6 (fixed English names, whatever the locale)."""
    return _DAYS[weekday]


def _zone_label(zone_name: str) -> str:
    """`London time` for Europe/London; `UTC` as is."""
    if "/" not in zone_name:
        return zone_name
    return zone_name.rsplit("/", 1)[1].replace("_", " ") + " time"


def _day_ranges(intervals: Sequence[tuple[datetime, datetime]], zone_name: str) -> list[str]:
    """Per weekday (Monday first), the `09:00–17:00` texts of the intervals seen in `zone_name`."""
    tz = zone(zone_name)
    days: list[list[str]] = [[] for _ in _DAYS]
    for opens, closes in intervals:
        start, end = opens.astimezone(tz), closes.astimezone(tz)
        midnight = end.date() > start.date() and end.time() == time(0)
        end_text = "24:00" if midnight else f"{end:%H:%M}"
        days[start.weekday()].append(f"{start:%H:%M}–{end_text}")
    return [", ".join(ranges) for ranges in days]


def hours_in(intervals: Sequence[tuple[datetime, datetime]], zone_name: str) -> str:
    """`Mon–Thu 09:00–12:00, 13:00–17:00; Fri 09:00–13:00` for intervals seen in `zone_name`.

    A run of days with the same hours that wraps the week reads `Sat–Mon`, not split in two.
    """
    days = _day_ranges(intervals, zone_name)
    first = 0
    if days[6] and days[6] == days[0] and len(set(days)) > 1:
        while days[first - 1] == days[0]:  # start where the wrapping run starts
            first -= 1
    runs: list[tuple[int, int, str]] = []
    for offset in range(7):
        day = (first + offset) % 7
        if not days[day]:
            continue
        if runs and runs[-1][1] == (day - 1) % 7 and runs[-1][2] == days[day]:
            runs[-1] = (runs[-1][0], day, days[day])
        else:
            runs.append((day, day, days[day]))
    return "; ".join(f"{_DAYS[a]}{'' if a == b else '–' + _DAYS[b]} {r}" for a, b, r in runs)


def hours_for_client(contract: Contract, now: datetime) -> str:
    """The weekly hours in the client's zone, named: `Mon–Fri 04:00–12:00 New York time`."""
    zone_name = contract.client_timezone
    intervals = week_hours(contract, now)
    if not intervals:
        return "no regular hours at the moment"
    return f"{hours_in(intervals, zone_name)} {_zone_label(zone_name)}"
