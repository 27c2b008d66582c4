"""Which coaches' timers need planning: marked in the same flush as the change that needs it.

A coach's digest, briefs and closure notices depend on their policy, their closures and their
clients (sessions, contracts); any change to one of those rows, however it is made, clears
`Coach.plan_after` in the same transaction, and the scheduler plans only coaches so marked (and
each again after a few hours, as the dates move on). An idle tick then reads one index.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import attributes

from bot.store.models import Client, Closure, Coach

#: Coach fields whose change does not touch the timers (the mark itself among them).
_NOT_PLANNED_ON = frozenset({"plan_after", "telegram_user_id", "slack_user_id"})


def _coach_changed(coach: Coach) -> bool:
    state = attributes.instance_state(coach)
    return any(
        state.attrs[name].history.has_changes()
        for name in state.mapper.column_attrs.keys()  # noqa: SIM118 (a mapper, not a dict)
        if name not in _NOT_PLANNED_ON
    )


def _mark(session: OrmSession, *_: Any) -> None:
    coach_ids: set[int] = set()
    for row in chain(session.new, session.dirty, session.deleted):
        if isinstance(row, Coach):
            if row in session.new or _coach_changed(row):
                row.plan_after = None
        elif isinstance(row, Client | Closure) and row.coach_id is not None:
            if row in session.dirty and not session.is_modified(row):
                continue
            coach_ids.add(row.coach_id)
    for coach_id in coach_ids:
        with session.no_autoflush:
            coach = session.get(Coach, coach_id)
        if coach is not None and coach.plan_after is not None:
            coach.plan_after = None


def watch_changes() -> None:
    """Mark coaches whose timers a flush changes the ground of (once per process)."""
    if not event.contains(OrmSession, "before_flush", _mark):
        event.listen(OrmSession, "before_flush", _mark)


watch_changes()
