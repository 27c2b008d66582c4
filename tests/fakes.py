"""Fakes shared by the tests: a transport that records what it is asked to send.

`RecordingTransport` plays any platform. It keeps every call (`calls`) and every message that
actually went out (`sent`, with the fake clock's time), returns message ids "1", "2", ..., and
honours `Outgoing.idempotency_key` like a careful platform would: a second send with a key
already delivered returns the first id and delivers nothing new (it still shows in `calls`, so
a test can tell a duplicate send from a duplicate delivery). It can be scripted to fail::

    transport.fail_next(2, DeliveryError("timeout"))         # the next two sends, any chat
    transport.fail_next(1, RuntimeError("boom"), chat_id="7")  # an unexpected error, one chat
    transport.throttle(retry_after=5)                        # HTTP 429 on the next send
    transport.block("7")                                     # chat 7 blocked the bot: permanent
    transport.crash_after_send()                             # delivered, then the worker "dies"

It is safe to share between threads (and event loops), for concurrency tests.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.messages import Outgoing
from bot.ports import DeliveryError


class WorkerCrash(BaseException):
    """Raised by `crash_after_send`: like a killed process, nothing catches it on the way up."""


@dataclass(frozen=True)
class Delivery:
    """One message that reached a chat: what, when (fake time, if a clock was given), its id."""

    message: Outgoing
    at: datetime | None
    message_id: str


@dataclass
class _Failure:
    error: BaseException
    chat_id: str | None  # None: whichever chat is sent to next
    remaining: int


class RecordingTransport:
    """A transport that records sends instead of making them, and fails when told to."""

    def __init__(
        self,
        platform: str = "console",
        max_per_second: float = 30,
        *,
        clock: Clock | None = None,
        honour_keys: bool = True,
        delay: float = 0.0,
    ) -> None:
        self.platform = platform
        self.max_per_second = max_per_second
        self.calls: list[Outgoing] = []
        self.sent: list[Delivery] = []
        self._clock = clock
        self._honour_keys = honour_keys
        self._delay = delay  # real seconds each send takes, to make concurrent sends overlap
        self._ids_by_key: dict[str, str] = {}
        self._blocked: dict[str, str] = {}
        self._failures: list[_Failure] = []
        self._crash = False
        self._lock = threading.Lock()

    def fail_next(self, n: int, error: BaseException, *, chat_id: str | None = None) -> None:
        """Make the next `n` sends (to `chat_id`, or to any chat) raise `error`."""
        with self._lock:
            self._failures.append(_Failure(error, chat_id, n))

    def throttle(self, retry_after: float, n: int = 1, *, chat_id: str | None = None) -> None:
        """Answer the next `n` sends with HTTP 429 asking to wait `retry_after` seconds."""
        error = DeliveryError("Too Many Requests", retry_after=retry_after)
        self.fail_next(n, error, chat_id=chat_id)

    def block(self, chat_id: str, reason: str = "Forbidden: bot was blocked by the user") -> None:
        """Make every send to `chat_id` fail permanently, as when a user blocks the bot."""
        with self._lock:
            self._blocked[chat_id] = reason

    def crash_after_send(self) -> None:
        """Deliver the next message, then raise WorkerCrash before the worker can record it."""
        with self._lock:
            self._crash = True

    async def send(self, message: Outgoing) -> str:
        """Record `message`, or raise whatever failure is scripted for it."""
        if self._delay:
            await asyncio.sleep(self._delay)
        with self._lock:
            self.calls.append(message)
            self._raise_scripted(message.chat_id)
            message_id = self._deliver(message)
            crash, self._crash = self._crash, False
        if crash:
            raise WorkerCrash
        return message_id

    def texts(self, chat_id: str | None = None) -> list[str]:
        """The texts delivered (to `chat_id`, or to every chat), in order."""
        return [d.message.text for d in self.sent if chat_id in (None, d.message.chat_id)]

    def _raise_scripted(self, chat_id: str) -> None:
        if chat_id in self._blocked:
            raise DeliveryError(self._blocked[chat_id], permanent=True)
        for failure in self._failures:
            if failure.remaining > 0 and failure.chat_id in (None, chat_id):
                failure.remaining -= 1
                raise failure.error

    def _deliver(self, message: Outgoing) -> str:
        key = message.idempotency_key
        if self._honour_keys and key in self._ids_by_key:
            return self._ids_by_key[key]
        message_id = str(len(self.sent) + 1)
        self._ids_by_key.setdefault(key, message_id)
        at = self._clock.now() if self._clock else None
        self.sent.append(Delivery(message, at, message_id))
        return message_id
