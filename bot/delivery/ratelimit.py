"""Pacing for the outbox: a message a chat per interval, a cap a platform per second, retries.

Everything here runs on the times it is given (the injected clock's), so tests move fake time
instead of sleeping. The state lives in one worker's memory: with several workers each keeps its
own pace, and a platform's HTTP 429 (honoured by the outbox) covers what they overshoot together.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.ports import DeliveryError

_MAX_WAIT = 86400.0  # the longest retry_after honoured, in seconds
_SWEEP_EVERY = 1024  # chats remembered before the per-chat memory is swept


class RateLimiter:
    """When a message may go: `per_chat_interval` apart in a chat, `cap` a second per platform.

    An urgent message skips the platform cap (it still counts towards it, so the others yield),
    but keeps the chat's interval and any wait a 429 asked for in that chat (`hold`).
    """

    def __init__(self, *, per_chat_interval: float = 1.0, window: float = 1.0) -> None:
        if per_chat_interval < 0 or window <= 0:
            raise ValueError("per_chat_interval must be >= 0 and window > 0")
        self._interval = timedelta(seconds=per_chat_interval)
        self._window = timedelta(seconds=window)
        self._window_seconds = window
        self._last: dict[tuple[str, str], datetime] = {}
        self._recent: dict[str, deque[datetime]] = {}
        self._held: dict[tuple[str, str], datetime] = {}  # a 429's retry_after, by chat
        self._sweep_above = _SWEEP_EVERY  # doubles while the chats are all still recent

    def next_slot(
        self, platform: str, chat_id: str, *, cap: float, now: datetime, urgent: bool = False
    ) -> datetime:
        """The earliest time a message to this chat may go; `now` when it may go at once."""
        slot = now
        last = self._last.get((platform, chat_id))
        if last is not None:
            slot = max(slot, last + self._interval)
        held = self._held.get((platform, chat_id))
        if held is not None:
            if held > now:
                slot = max(slot, held)
            else:
                del self._held[(platform, chat_id)]
        if urgent:
            return slot
        recent = self._pruned(platform, now)
        allowed = max(1, math.floor(cap * self._window_seconds))
        if len(recent) >= allowed:
            # the window frees a place when the oldest of the last `allowed` sends leaves it
            slot = max(slot, recent[len(recent) - allowed] + self._window)
        return slot

    def room(self, platform: str, *, cap: float, now: datetime) -> int:
        """How many more messages the platform's cap lets out at `now` (urgent ones aside)."""
        allowed = max(1, math.floor(cap * self._window_seconds))
        return max(0, allowed - len(self._pruned(platform, now)))

    def frees_at(self, platform: str, *, cap: float, now: datetime) -> datetime:
        """When the platform's cap next lets a message out (`now` if it does now)."""
        recent = self._pruned(platform, now)
        allowed = max(1, math.floor(cap * self._window_seconds))
        return now if len(recent) < allowed else recent[len(recent) - allowed] + self._window

    def hold(self, platform: str, chat_id: str, *, until: datetime) -> None:
        """Send nothing to this chat before `until`: the platform answered 429 with retry_after."""
        key = (platform, chat_id)
        self._held[key] = max(until, self._held.get(key, until))

    def take(self, platform: str, chat_id: str, *, now: datetime) -> None:
        """Count a message to this chat as going out at `now`."""
        self._last[(platform, chat_id)] = now
        self._recent.setdefault(platform, deque()).append(now)
        if len(self._last) > self._sweep_above:
            self._sweep(now)

    def _pruned(self, platform: str, now: datetime) -> deque[datetime]:
        recent = self._recent.setdefault(platform, deque())
        while recent and recent[0] + self._window <= now:
            recent.popleft()
        return recent

    def _sweep(self, now: datetime) -> None:
        self._last = {
            chat: last for chat, last in self._last.items() if last + self._interval > now
        }
        # a sweep that frees little is not repeated at every take: amortised O(1) a take
        self._sweep_above = max(_SWEEP_EVERY, 2 * len(self._last))


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `base`·2^(n-1) seconds up to `cap`, stretched by up to `jitter`."""

    base: float = 10.0
    cap: float = 1800.0
    jitter: float = 0.25  # below 1, so each wait is still longer than the one before (until cap)

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """The wait after the `attempt`-th failed try (1-based)."""
        exponent = min(max(attempt - 1, 0), 60)
        raw = min(self.cap, self.base * 2.0**exponent)
        return timedelta(seconds=raw * (1 + self.jitter * rng.random()))


@dataclass(frozen=True)
class Retry:
    """What becomes of a row after a failed send: given up, or tried again `at`."""

    give_up: bool
    reason: str  # one line for last_error; never message text
    attempts: int  # failed attempts so far (a 429 is not one)
    throttled: int  # 429s met so far
    at: datetime | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Permanent errors fail at once, 429s wait `retry_after`, other errors back off."""

    max_attempts: int = 8
    max_throttled: int = 20  # 429s are not failed attempts, but they do not go on for ever
    backoff: Backoff = field(default_factory=Backoff)

    def after(
        self,
        error: DeliveryError,
        *,
        attempts: int,
        throttled: int,
        now: datetime,
        rng: random.Random,
    ) -> Retry:
        """The fate of a row that had `attempts` failures and `throttled` 429s before `error`."""
        reason = " ".join(str(error.reason).split())[:200] or "unknown error"
        if error.permanent:
            return Retry(True, reason, attempts + 1, throttled)
        if error.retry_after is not None:
            if throttled + 1 > self.max_throttled:
                return Retry(
                    True, f"rate limited {throttled + 1} times: {reason}", attempts, throttled + 1
                )
            wait = timedelta(seconds=min(max(error.retry_after, 0.0), _MAX_WAIT))
            return Retry(False, reason, attempts, throttled + 1, now + wait)
        if attempts + 1 >= self.max_attempts:
            return Retry(
                True, f"gave up after {attempts + 1} attempts: {reason}", attempts + 1, throttled
            )
        at = now + self.backoff.delay(attempts + 1, rng)
        return Retry(False, reason, attempts + 1, throttled, at)
