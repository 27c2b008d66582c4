"""Decisions per second for `decide` over a seeded, realistic mix (run with -m; not a test)."""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from rules.contract import (
    BillingTerms,
    ClientMessage,
    ClientState,
    ClientTerms,
    Closure,
    Contract,
    Kind,
    Mode,
    Policy,
    ReplyPromise,
)
from rules.decide import Decision, decide

START = datetime(2026, 11, 16, tzinfo=UTC)
TEXTS = (
    "Had a real aha moment today about my manager",
    "Can we move Thursday's session to Friday?",
    "Here are my three goals for the quarter: ...",
    "Quick question about the exercise you gave me",
    "Sent you a poem that resonated with me",
    "This deadline is killing me but I'm coping",
    "Got the new job!!!",
    "I can't go on like this",  # crisis
    "",
)


def coaches() -> list[Policy]:
    """A few coaches with different zones, hours, promises, closures, quotas and billing."""
    billing = BillingTerms(5, Decimal(60), "GBP")
    christmas = (Closure(date(2026, 12, 24), date(2027, 1, 2), "Christmas break"),)
    return [
        Policy("Melody", "Europe/London", "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00",
               christmas, "GB", ReplyPromise(24, "h"), billing=billing),
        Policy("Sam", "America/New_York", "mon-fri 08:00-18:00", (), "US",
               ReplyPromise(2, "d"), weekly_quota=3),
        Policy("Asha", "Asia/Kathmandu", "sun-thu 10:00-16:00", christmas, None,
               ReplyPromise(8, "h"), crisis_phrases=("hopeless",)),
    ]  # fmt: skip


def contracts(rng: random.Random) -> list[Contract]:
    """Open-door, specific and sessions-only clients of every coach, some in other zones."""
    result = []
    zones = (None, "America/Los_Angeles", "Australia/Sydney", "Europe/Berlin")
    for policy in coaches():
        for i, mode in enumerate(list(Mode) * 3):
            session = START + timedelta(days=rng.randint(-3, 20), hours=rng.randint(8, 17))
            end = date(2026, 12, rng.randint(1, 31)) if i % 4 == 0 else None
            client = ClientTerms(
                f"client{i}", mode, contract_end=end, next_session=session, timezone=zones[i % 4]
            )
            result.append(Contract(policy, client))
    return result


def workload(n: int, seed: int) -> list[tuple[Contract, ClientMessage, datetime, ClientState]]:
    """`n` seeded messages over four weeks, in and out of hours."""
    rng = random.Random(seed)
    people = contracts(rng)
    kinds = (None, None, Kind.FYI, Kind.FYI, Kind.QUESTION, Kind.SCHEDULING, Kind.GOALS)
    items = []
    for _ in range(n):
        now = START + timedelta(minutes=rng.randrange(28 * 24 * 60))
        state = ClientState(quota_used=rng.randint(0, 4))
        message = ClientMessage(rng.choice(TEXTS), rng.choice(kinds), rng.randint(0, 1))
        items.append((rng.choice(people), message, now, state))
    return items


def run(n: int, seed: int = 7) -> tuple[float, dict[str, int]]:
    """Decide every message once; return decisions/s and how many of each action."""
    items = workload(n, seed)
    counts: dict[str, int] = {}
    started = time.perf_counter()
    decisions: list[Decision] = [decide(c, m, now, s) for c, m, now, s in items]
    elapsed = time.perf_counter() - started
    for decision in decisions:
        counts[decision.action] = counts.get(decision.action, 0) + 1
    return n / elapsed, counts


def main() -> None:
    """Print decisions/s: a warm-up pass (fills the calendar caches), then the timed pass."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000, help="messages (default 10,000)")
    args = parser.parse_args()
    run(2_000, seed=1)
    rate, counts = run(args.n)
    mix = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"decide: {rate:,.0f} decisions/s ({args.n:,} messages, mixed: {mix})")


if __name__ == "__main__":
    main()
