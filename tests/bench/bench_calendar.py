"""Throughput of the business calendar: `.venv/bin/python -m tests.bench.bench_calendar`."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from time import perf_counter

import pytz

from rules.calendar import BusinessCalendar

CALLS = 200_000
SEED = 20261123
HOURS = "mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00"
CLOSURES = (
    (date(2026, 4, 6), date(2026, 4, 10), "Easter break"),
    (date(2026, 8, 3), date(2026, 8, 21), "Summer"),
    (date(2026, 12, 24), date(2027, 1, 1), "Christmas break"),
    (date(2027, 7, 26), date(2027, 8, 13), "Summer"),
)
START = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 2 * 365 * 86400


def rate(name: str, detail: str, calls: int, run: Callable[[], object]) -> None:
    """Time `run` (which makes `calls` calls) and print calls per second."""
    began = perf_counter()
    run()
    per_second = calls / (perf_counter() - began)
    print(f"{name}: {per_second:,.0f} calls/s ({detail})")


def bench_zone(zone: str, holidays: str) -> None:
    """Warm calls for one coach: arrivals over two years, in UTC and the coach's own zone."""
    rng = random.Random(SEED)
    calendar = BusinessCalendar(zone, HOURS, CLOSURES, holidays)
    tz = pytz.timezone(zone)
    whens = [START + timedelta(seconds=rng.randrange(SPAN_SECONDS)) for _ in range(CALLS)]
    local_whens = [when.astimezone(tz) for when in whens]
    deltas = [timedelta(seconds=rng.randrange(7 * 86400 + 1)) for _ in range(CALLS)]
    pairs = list(zip(whens, deltas, strict=True))
    where = f"{zone}, {holidays} holidays, {len(CLOSURES)} closures"
    for when, delta in pairs[:5000]:  # warm the per-date and block caches, as a bot would be
        calendar.add_business_time(when, delta)

    rate(
        "add_business_time",
        f"deltas up to 7 days, {where}",
        CALLS,
        lambda: [calendar.add_business_time(w, d) for w, d in pairs],
    )
    local_pairs = list(zip(local_whens, deltas, strict=True))
    rate(
        "add_business_time",
        f"local-zone arrivals, deltas up to 7 days, {where}",
        CALLS,
        lambda: [calendar.add_business_time(w, d) for w, d in local_pairs],
    )
    rate("next_open", where, CALLS, lambda: [calendar.next_open(w) for w in whens])
    rate("is_open", where, CALLS, lambda: [calendar.is_open(w) for w in whens])
    rate(
        "business_days_after",
        f"n = 2, {where}",
        CALLS // 4,
        lambda: [calendar.business_days_after(w, 2) for w in whens[: CALLS // 4]],
    )


def bench_cold(zone: str, holidays: str) -> None:
    """A fresh calendar per call: construction plus the first reply-by computation."""
    rng = random.Random(SEED)
    calls = 200
    whens = [START + timedelta(seconds=rng.randrange(SPAN_SECONDS)) for _ in range(calls)]

    def run() -> None:
        for when in whens:
            calendar = BusinessCalendar(zone, HOURS, CLOSURES, holidays)
            calendar.add_business_time(when, timedelta(hours=24))

    rate("new calendar + first add_business_time", f"{zone}, {holidays} holidays", calls, run)


def main() -> None:
    """Print the figures, one clear line each."""
    bench_zone("Europe/London", "GB-ENG")
    bench_zone("Pacific/Chatham", "NZ")
    bench_cold("Europe/London", "GB-ENG")


if __name__ == "__main__":
    main()
