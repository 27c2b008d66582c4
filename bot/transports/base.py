"""What the outbox needs from a transport, and how a transport says a send went wrong."""

from __future__ import annotations

from typing import Protocol

from bot.messages import Outgoing


class DeliveryError(Exception):
    """A send failed. `permanent` means retrying cannot help (bot blocked, chat gone)."""

    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after  # seconds the platform asked us to wait (HTTP 429)


class Transport(Protocol):
    """A platform the bot can send through; `send` returns the platform's message id."""

    platform: str
    max_per_second: float  # the platform's global cap (Telegram: 30)

    async def send(self, message: Outgoing) -> str: ...
