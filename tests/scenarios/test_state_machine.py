"""Invariants, not examples: a random week of contact, checked after every step.

A coach in London (Mon-Fri 09:00-17:00) and three clients (New York, Kolkata, London) talk to
the bot through `Dispatcher.handle`, the entry point every transport uses; the coach changes the
contract as they go and the clock moves across nights, weekends, closures and the 25 Oct 2026
DST change. After every step the scheduler runs what is due, as the running bot would.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytz
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.messages import Attachment
from bot.service.client_flow import ANSWER_WINDOW
from bot.service.notices import HANDLERS
from bot.service.schedule import Scheduler, ensure_timers
from bot.store.db import make_engine, transaction
from bot.store.migrate import upgrade
from bot.store.models import Client, Coach, Message, Outbox, Promise, Timer
from bot.store.policy import contract_for, policy_from_coach
from bot.store.unit import UnitOfWork
from tests.harness import Harness

START = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)  # Tue; London leaves BST on Sun 25 Oct
COACH_CHAT = "100"
CLIENTS = {"alex": "201", "priya": "202", "sam": "203"}
NAMES = {"alex": "Alex", "priya": "Priya", "sam": "Sam"}
CRISIS = "I want to end my life"

client_names = st.sampled_from(sorted(CLIENTS))
words = st.sampled_from(["quick update", "can we talk?", "my goals for May", "had an aha!"])
kinds = st.sampled_from(["plain", "/fyi", "/ask", "/goals", "/reschedule", "photo", "crisis"])


def _brief_just_before_its_session(row: Outbox) -> bool:
    """A brief sent in the hour before its session (`brief:{client}:{session UTC minute}`)."""
    if not row.idempotency_key.startswith("brief:"):
        return False
    stamp = row.idempotency_key.split(":", 2)[2].replace("Z", "+00:00")
    session_at = datetime.fromisoformat(stamp)
    return session_at - timedelta(hours=1) <= row.created_at <= session_at


class Machine(RuleBasedStateMachine):
    """One practice driven by random steps; every @invariant must hold after each of them."""

    def __init__(self) -> None:
        super().__init__()
        self._dir = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(self._dir.name) / 'machine.db'}"
        upgrade(url)
        self.engine = make_engine(url)
        self.clock = ManualClock(START)
        self.h = Harness(self.engine, self.clock)
        self.h.add_coach(
            user_id=COACH_CHAT,
            policy={
                "timezone": "Europe/London",
                "hours": "mon-fri 09:00-17:00",
                "reply_within": "24h",
                "digest_time": "18:00",
            },
        )
        session_at = datetime(2026, 10, 29, 10, 0, tzinfo=UTC)
        self.h.add_client(
            "Alex", user_id="201", timezone="America/New_York", next_session=session_at
        )
        self.h.add_client("Priya", user_id="202", timezone="Asia/Kolkata", mode="specific")
        self.h.add_client("Sam", user_id="203", mode="sessions_only", next_session=session_at)
        self.scheduler = Scheduler(self.engine, self.clock)
        self.judged = 0  # the last coach outbox row checked against the coach's open days
        self.settle()

    def teardown(self) -> None:
        self.engine.dispose()
        self._dir.cleanup()

    # --- the world moving -------------------------------------------------------------------

    def settle(self) -> None:
        """Plan and fire every due timer, as bot/console.py's `settle` does (delivery aside)."""
        for _ in range(20):
            with transaction(self.engine) as session:
                ensure_timers(UnitOfWork(session), self.clock.now())
            if not self.scheduler.run_due():
                return

    @rule(hours=st.integers(min_value=1, max_value=60), minutes=st.sampled_from([0, 17, 45]))
    def clock_moves(self, hours: int, minutes: int) -> None:
        """Time passes; every timer fires at its own due time on the way, as a live bot's would."""
        target = self.clock.now() + timedelta(hours=hours, minutes=minutes)
        for _ in range(200):
            with Session(self.engine) as session:
                due = session.exec(
                    select(Timer.due_at)
                    .where(Timer.status == "pending", col(Timer.due_at) <= target)
                    .order_by(col(Timer.due_at))
                ).first()
            if due is None:
                break
            self.clock.set(max(due, self.clock.now()))
            self.settle()
        self.clock.set(target)
        self.settle()

    # --- clients ---------------------------------------------------------------------------

    @rule(who=client_names, kind=kinds, text=words)
    def client_writes(self, who: str, kind: str, text: str) -> None:
        """A client sends a message of some kind (a crisis phrase now and then)."""
        if kind == "plain":
            self.h.say(who, text)
        elif kind == "photo":
            self.h.say(who, text, attachments=(Attachment("photo", f"file-{text[:5]}"),))
        elif kind == "crisis":
            self.h.say(who, CRISIS)
        else:
            self.h.say(who, f"{kind} {text}")
        self.settle()

    @rule(who=client_names, label=st.sampled_from(["Just an update", "Needs a reply"]))
    def client_presses(self, who: str, label: str) -> None:
        """A client presses a kind button, if they were ever offered one."""
        offered = any(
            c["label"] == label for row in self.h.rows(who) for c in row.payload.get("choices", [])
        )
        if offered:
            self.h.press(who, label)
            self.settle()

    @rule(who=client_names)
    def client_asks_hours(self, who: str) -> None:
        """A client's /hours says they are a former client iff the contract has ended."""
        said = "\n".join(self.h.say(who, "/hours"))
        former = self.is_former(who)
        mentions = "former" in said.lower() or "ended" in said.lower()
        assert mentions == former, f"/hours for {who} (former={former}):\n{said}"

    # --- the coach -------------------------------------------------------------------------

    def coach_says(self, text: str, **kwargs: object) -> list[str]:
        said = self.h.say("melody", text, **kwargs)  # type: ignore[arg-type]
        self.settle()
        return said

    @rule(who=client_names, mode=st.sampled_from(["open_door", "specific", "sessions_only"]))
    def coach_sets_mode(self, who: str, mode: str) -> None:
        self.coach_says(f"/mode {NAMES[who]} {mode}")

    @rule(who=client_names, quota=st.integers(min_value=0, max_value=3))
    def coach_sets_quota(self, who: str, quota: int) -> None:
        self.coach_says(f"/quota {NAMES[who]} {quota}")

    @rule(start=st.integers(min_value=0, max_value=12), length=st.integers(0, 4))
    def coach_closes(self, start: int, length: int) -> None:
        """The coach closes some days ahead (or today)."""
        first = self.local_today() + timedelta(days=start)
        last = first + timedelta(days=length)
        self.coach_says(f"/closed {first.isoformat()} {last.isoformat()} away")

    @rule(who=client_names, days=st.integers(min_value=-2, max_value=10), hour=st.integers(8, 18))
    def coach_books_session(self, who: str, days: int, hour: int) -> None:
        day = self.local_today() + timedelta(days=days)
        self.coach_says(f"/session {NAMES[who]} {day.isoformat()} {hour:02d}:00")

    @rule(who=client_names, ended_days_ago=st.integers(min_value=-3, max_value=5))
    def coach_sets_contract(self, who: str, ended_days_ago: int) -> None:
        """A contract period, often one that already ended (the client becomes a former one)."""
        end = self.local_today() - timedelta(days=ended_days_ago)
        start = end - timedelta(days=90)
        self.coach_says(f"/contract {NAMES[who]} {start.isoformat()} {end.isoformat()}")

    @rule(
        hours=st.sampled_from(
            [
                "mon-fri 09:00-17:00",
                "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00",
                "sat 10:00-12:00",
            ]
        )
    )
    def coach_sets_hours(self, hours: str) -> None:
        self.coach_says(f"/hours {hours}")

    @rule(setting=st.sampled_from(["18:00", "off", "07:30"]))
    def coach_sets_digest(self, setting: str) -> None:
        self.coach_says(f"/digest {setting}")

    @rule(text=words)
    def coach_replies_to_a_forward(self, text: str) -> None:
        """The coach replies to the newest message forwarded to her."""
        with Session(self.engine) as session:
            row = session.exec(
                select(Outbox)
                .where(Outbox.chat_id == COACH_CHAT, col(Outbox.message_id).is_not(None))
                .order_by(col(Outbox.id).desc())
            ).first()
            if row is None:
                return
            if row.platform_message_id is None:
                row.status, row.platform_message_id = "sent", f"p{row.id}"
                session.add(row)
                session.commit()
            platform_id = row.platform_message_id
        self.coach_says(text, reply_to=platform_id)

    @rule(who=client_names, text=words)
    def coach_uses_reply(self, who: str, text: str) -> None:
        self.coach_says(f"/reply {NAMES[who]} {text}")

    @rule(who=client_names)
    def coach_looks_at_client(self, who: str) -> None:
        """The coach's /client NAME says the contract ended iff `is_former_client`."""
        said = "\n".join(self.coach_says(f"/client {NAMES[who]}"))
        former = self.is_former(who)
        contract = [line for line in said.splitlines() if line.startswith("Contract:")]
        mentions = any("ended" in line or "former" in line for line in contract)
        assert mentions == former, f"/client {NAMES[who]} (former={former}):\n{said}"

    # --- helpers ---------------------------------------------------------------------------

    def local_today(self) -> date:
        return self.clock.now().astimezone(pytz.timezone("Europe/London")).date()

    def is_former(self, who: str) -> bool:
        with Session(self.engine) as session:
            client = session.exec(select(Client).where(Client.name == NAMES[who])).one()
            return contract_for(UnitOfWork(session), client).is_former_client(self.clock.now())

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def every_message_has_one_live_path_to_the_coach(self) -> None:
        now = self.clock.now()
        with Session(self.engine) as session:
            coach = session.exec(select(Coach)).one()
            digest_on = coach.policy.get("digest_time") is not None
            pending = session.exec(select(Timer).where(Timer.status == "pending")).all()
            messages = session.exec(select(Message)).all()
            for m in messages:
                # a bundle or a release is one row naming the first message of its batch
                batch = [
                    o.id
                    for o in messages
                    if o.client_id == m.client_id
                    and o.decision == m.decision
                    and o.delivered_at is not None
                    and o.delivered_at == m.delivered_at
                ]
                to_coach = session.exec(
                    select(Outbox).where(
                        col(Outbox.message_id).in_([m.id, *batch]), Outbox.chat_id == COACH_CHAT
                    )
                ).first()
                where = f"message {m.id} ({m.decision}, kind {m.kind}, received {m.received_at})"
                if m.decision == "forward" and m.delivered_at is None:
                    # a burst after a forward waits for its bundle (bot.service.notices.bundle)
                    assert any(
                        t.kind == "bundle" and t.client_id == m.client_id for t in pending
                    ), f"{where}: waits for a bundle but no bundle timer is pending"
                elif m.decision in ("urgent", "forward"):
                    assert m.delivered_at is not None, f"{where}: not delivered"
                    assert to_coach is not None, f"{where}: no outbox row to the coach"
                elif m.decision == "queue":
                    if m.delivered_at is None:
                        assert m.release_at is not None, f"{where}: queued without release_at"
                        assert m.release_at > now, f"{where}: release {m.release_at} overdue"
                        assert any(
                            t.kind == "release"
                            and t.client_id == m.client_id
                            and t.due_at <= m.release_at
                            for t in pending
                        ), f"{where}: no pending release timer by {m.release_at}"
                elif m.decision == "digest":
                    if m.digested_at is None and digest_on:
                        assert any(
                            t.kind == "digest" and t.coach_id == m.coach_id for t in pending
                        ), f"{where}: waits for a digest but no digest timer is pending"
                elif m.decision == "ask":
                    if "undecided" in HANDLERS:
                        # its own timer, or that of the prompt covering its burst
                        prompts = {
                            p.id
                            for p in session.exec(select(Message)).all()
                            if p.client_id == m.client_id
                            and p.decision == "ask"
                            and p.received_at <= m.received_at < p.received_at + ANSWER_WINDOW
                        }
                        assert any(
                            t.kind == "undecided" and t.ref_id in prompts for t in pending
                        ), f"{where}: undecided with no pending 'undecided' timer"
                else:
                    assert m.decision in ("park", "alumni"), f"{where}: no path to the coach"

    @invariant()
    def nothing_non_urgent_reaches_the_coach_on_a_closed_day(self) -> None:
        with Session(self.engine) as session:
            coach = session.exec(select(Coach)).one()
            calendar = policy_from_coach(
                coach, UnitOfWork(session).coaches.closures(coach.id or 0)
            ).calendar
            zone = calendar.tz
            rows = session.exec(
                select(Outbox).where(Outbox.chat_id == COACH_CHAT, col(Outbox.id) > self.judged)
            ).all()
            # Each row is judged once, right after the step that wrote it, by the calendar of
            # that moment: a later /hours or /closed must not make an old forward look wrong.
            self.judged = max([self.judged, *(row.id or 0 for row in rows)])
            for row in rows:
                if row.idempotency_key.startswith("evt:"):
                    continue  # an answer to the coach's own command
                if _brief_just_before_its_session(row):
                    continue  # a session on a day without hours is work she booked
                if row.message_id is not None and row.idempotency_key.endswith(":fwd"):
                    message = session.get(Message, row.message_id)
                    if message is not None and message.decision == "urgent":
                        continue
                day = row.created_at.astimezone(zone).date()
                midnight = zone.localize(datetime.combine(day, time()))
                next_midnight = zone.localize(datetime.combine(day + timedelta(days=1), time()))
                open_day = any(calendar.open_intervals(midnight, next_midnight))
                assert open_day, (
                    f"{row.idempotency_key!r} reached the coach on a closed day"
                    f" ({row.created_at.astimezone(zone):%a %d %b %H:%M %Z}): {row.text[:80]!r}"
                )

    @invariant()
    def reply_by_is_never_before_arrival_and_every_message_is_acknowledged(self) -> None:
        with Session(self.engine) as session:
            for promise, m in session.exec(
                select(Promise, Message).where(Promise.message_id == Message.id)
            ).all():
                assert promise.reply_by >= m.received_at, (
                    f"message {m.id}: reply by {promise.reply_by} before arrival {m.received_at}"
                )
            client_chats = set(CLIENTS.values())
            for m in session.exec(select(Message)).all():
                ack = session.exec(
                    select(Outbox).where(
                        Outbox.message_id == m.id, col(Outbox.chat_id).in_(client_chats)
                    )
                ).first()
                # or folded into the same answer given less than a minute before it arrived
                folded = session.exec(
                    select(Outbox).where(
                        Outbox.client_id == m.client_id,
                        col(Outbox.idempotency_key).like("msg:%:ack:%"),
                        col(Outbox.created_at) > m.received_at - ANSWER_WINDOW,
                        col(Outbox.created_at) <= m.received_at,
                    )
                ).first()
                assert ack is not None or folded is not None, (
                    f"message {m.id} ({m.decision}): client never answered"
                )


Machine.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestWeekOfContact = Machine.TestCase
