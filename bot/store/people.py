"""Coaches, their closures, clients, platform accounts and invites."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from bot.store.erasure import ClientRows, delete_rows, rows_about
from bot.store.models import Client, Closure, Coach, FailedJoin, Identity, Invite
from bot.store.repository import Repository

_CLOSURES = (
    select(Closure).where(Closure.coach_id == bindparam("coach")).order_by(col(Closure.start))
)  # built once: it runs for every client message
_CoachAccount = aliased(Identity)
_WHO = (
    select(Identity, Client, Coach, _CoachAccount)
    .outerjoin(Client, col(Client.id) == Identity.client_id)
    .outerjoin(Coach, col(Coach.id) == func.coalesce(Identity.coach_id, Client.coach_id))
    .outerjoin(_CoachAccount, col(_CoachAccount.coach_id) == Coach.id)  # where a forward goes
    .where(Identity.platform == bindparam("platform"), Identity.user_id == bindparam("user"))
    .order_by(col(_CoachAccount.id))
)  # built once: every inbound message runs it, and building it costs more than running it
_COACH_CHATS = (
    select(Identity).where(Identity.coach_id == bindparam("coach")).order_by(col(Identity.id))
)  # built once: every forward runs it


class Coaches(Repository[Coach]):
    """Coaches and their closures."""

    model = Coach

    def all(self) -> list[Coach]:
        """Every coach, in the order they were made."""
        return list(self._session.exec(select(Coach).order_by(col(Coach.id))).all())

    def by_key(self, key: str) -> Coach | None:
        """The coach configured under `key`."""
        return self._session.exec(select(Coach).where(Coach.key == key)).first()

    def to_plan(self, now: datetime) -> list[Coach]:
        """The coaches whose timers need planning: marked by a change, or due again by now."""
        return list(
            self._session.exec(
                select(Coach)
                .where(or_(col(Coach.plan_after).is_(None), col(Coach.plan_after) <= now))
                .order_by(col(Coach.id))
            ).all()
        )

    def replan(self, coach_id: int | None) -> None:
        """Plan this coach's timers at the next pass (one of them just ran)."""
        coach = self.get(coach_id)
        if coach is not None:
            coach.plan_after = None

    def first(self) -> Coach | None:
        """The first coach (the console's only one)."""
        return self._session.exec(select(Coach).order_by(col(Coach.id))).first()

    def closures(self, coach_id: int) -> list[Closure]:
        """A coach's closures, oldest first."""
        return list(self._session.exec(_CLOSURES, params={"coach": coach_id}).all())

    def closure(self, closure_id: int | None, *, coach_id: int | None = None) -> Closure | None:
        """One closure by id (of this coach, when `coach_id` is given)."""
        closure = self._session.get(Closure, closure_id) if closure_id is not None else None
        if closure is None or (coach_id is not None and closure.coach_id != coach_id):
            return None
        return closure

    def closures_touching(self, coach_id: int, first: date, *, last: date) -> list[Closure]:
        """A coach's closures that end on or after `first` and begin by `last`, by id."""
        return list(
            self._session.exec(
                select(Closure)
                .where(Closure.coach_id == coach_id, col(Closure.end) >= first)
                .where(col(Closure.start) <= last)
                .order_by(col(Closure.id))
            ).all()
        )


class Clients(Repository[Client]):
    """A coach's clients."""

    model = Client

    def of_coach(self, coach_id: int) -> list[Client]:
        """A coach's clients, in the order they joined."""
        return list(
            self._session.exec(
                select(Client).where(Client.coach_id == coach_id).order_by(col(Client.id))
            ).all()
        )

    def all(self) -> list[Client]:
        """Every client of every coach, by id."""
        return list(self._session.exec(select(Client).order_by(col(Client.id))).all())

    def by_name(self, coach_id: int, name: str) -> Client | None:
        """A coach's client by name, ignoring case."""
        for client in self.of_coach(coach_id):
            if client.name.casefold() == name.casefold():
                return client
        return None

    def rows_about(self, client: Client) -> ClientRows:
        """Every row about the client (for an export, or to erase them)."""
        return rows_about(self._session, client)

    def erase(self, rows: ClientRows, *, who_hashes: Iterable[str]) -> None:
        """Delete the client and every row about them (`rows`, read in this unit of work)."""
        delete_rows(self._session, rows, who_hashes=who_hashes)

    def with_session_ahead(self, coach_id: int, now: datetime, *, today: date) -> list[Client]:
        """A coach's current clients with a session booked after `now`."""
        return list(
            self._session.exec(
                select(Client)
                .where(Client.coach_id == coach_id, col(Client.next_session) > now)
                .where(or_(col(Client.contract_end).is_(None), col(Client.contract_end) >= today))
                .order_by(col(Client.id))
            ).all()
        )


class Identities(Repository[Identity]):
    """Platform accounts and the chats the bot reaches people in."""

    model = Identity

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._coach_accounts: dict[int, list[Identity]] = {}  # read with a sender, by `who`

    def of_account(self, platform: str, user_id: str) -> Identity | None:
        """The identity row of a platform account, if the bot knows it."""
        return self._session.exec(
            select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
        ).first()

    def who(
        self, platform: str, user_id: str
    ) -> tuple[Identity, Client | None, Coach | None] | None:
        """An account with the client it is and the coach it is or belongs to (one query).

        The coach's own accounts come with it, so a forward later in this unit of work reads
        no more to find her chat (`of_coach`).
        """
        rows = self._session.exec(_WHO, params={"platform": platform, "user": user_id}).all()
        if not rows:
            return None
        identity, client, coach, _ = rows[0]
        if coach is not None and coach.id is not None:
            self._coach_accounts[coach.id] = [r[3] for r in rows if r[3] is not None]
        return identity, client, coach

    def of_client(self, client_id: int | None) -> list[Identity]:
        """A client's accounts, newest first."""
        return list(
            self._session.exec(
                select(Identity)
                .where(Identity.client_id == client_id)
                .order_by(col(Identity.id).desc())
            ).all()
        )

    def of_coach(self, coach_id: int | None) -> list[Identity]:
        """A coach's accounts, oldest first (as `who` read them in this unit of work, if it did)."""
        known = self._coach_accounts.get(coach_id) if coach_id is not None else None
        if known is not None:
            return list(known)
        return list(self._session.exec(_COACH_CHATS, params={"coach": coach_id}).all())

    def coaches_on(self, platform: str) -> list[Identity]:
        """Every coach's account on `platform`."""
        return list(
            self._session.exec(
                select(Identity).where(
                    Identity.platform == platform, col(Identity.coach_id).is_not(None)
                )
            ).all()
        )

    def coach_chat(self, coach_id: int, prefer: str | None = None) -> tuple[str, str] | None:
        """The (platform, chat id) to reach a coach, preferring the platform `prefer`."""
        return _chat(self.of_coach(coach_id), prefer)

    def client_chat(self, client_id: int, prefer: str | None = None) -> tuple[str, str] | None:
        """The (platform, chat id) to reach a client: `prefer` if linked there, else the newest."""
        return _chat(self.of_client(client_id), prefer)


def _chat(rows: Sequence[Identity], prefer: str | None) -> tuple[str, str] | None:
    for row in rows:
        if row.platform == prefer:
            return row.platform, row.chat_id
    return (rows[0].platform, rows[0].chat_id) if rows else None


class Invites(Repository[Invite]):
    """Invite codes (only their hashes) and the wrong codes tried."""

    model = Invite

    def by_code_hash(self, code_hash: str) -> Invite | None:
        """The invite whose code hashes to `code_hash`."""
        return self._session.exec(select(Invite).where(Invite.code_hash == code_hash)).first()

    def unused(self, coach_id: int, *, valid_at: datetime | None = None) -> list[Invite]:
        """A coach's unused invites (those still valid at `valid_at`, when given), by id."""
        stmt = select(Invite).where(Invite.coach_id == coach_id, col(Invite.used_at).is_(None))
        if valid_at is not None:
            stmt = stmt.where(Invite.expires_at > valid_at)
        return list(self._session.exec(stmt.order_by(col(Invite.id))).all())

    def use(self, invite: Invite, now: datetime) -> bool:
        """Mark the invite used now, unless someone did a moment ago; True when this did."""
        taken = self._session.execute(
            update(Invite)
            .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
            .values(used_at=now)
        )
        return bool(taken.rowcount == 1)  # type: ignore[attr-defined]

    def of_client(self, client_id: int | None) -> list[Invite]:
        """The invites a client joined with."""
        return list(self._session.exec(select(Invite).where(Invite.client_id == client_id)).all())

    def delete(self, invite_ids: Sequence[int]) -> None:
        """Delete these invites."""
        self._session.execute(delete(Invite).where(col(Invite.id).in_(list(invite_ids))))

    def failure_times(self, *, since: datetime, who_hash: str | None = None) -> list[datetime]:
        """When wrong codes were tried after `since` (by one account, when `who_hash` given)."""
        stmt = select(FailedJoin.at).where(FailedJoin.at > since)
        if who_hash is not None:
            stmt = stmt.where(FailedJoin.who_hash == who_hash)
        return list(self._session.exec(stmt).all())

    def forget_failures(self, *, before: datetime | None = None, who: Sequence[str] = ()) -> None:
        """Forget wrong codes tried before `before`, or by these account hashes."""
        stmt = delete(FailedJoin)
        if before is not None:
            stmt = stmt.where(col(FailedJoin.at) < before)
        if who:
            stmt = stmt.where(col(FailedJoin.who_hash).in_(who))
        self._session.execute(stmt)
