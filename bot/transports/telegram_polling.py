"""Long polling with our own offset: Telegram is told an update arrived only once it is kept.

getUpdates with offset N confirms every update below N. PTB's Updater asks for the next batch
(confirming this one) before its handlers run, so a crash loses the batch in flight; here the
offset moves past an update only after the Dispatcher committed it. The offset lives in memory:
after a restart Telegram redelivers what was not confirmed, and the ProcessedEvent table makes
the redelivery harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

from telegram import Bot
from telegram.error import InvalidToken, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from bot.transports.telegram_receive import Outcome, Receiver

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member", "channel_post")
_T = TypeVar("_T")
# We call getUpdates through do_api_request on purpose (see Poller._fetch); PTB suggests
# get_updates each time, so that one suggestion is silenced.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)
_READ_MARGIN = 5.0  # seconds beyond the long poll's own timeout before the read gives up


class Stopped(Exception):
    """`stop` was set while waiting."""


async def until_stop(awaitable: Awaitable[_T], stop: asyncio.Event) -> _T:
    """Await `awaitable`, or cancel it and raise Stopped as soon as `stop` is set."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise Stopped


async def pause(seconds: float, stop: asyncio.Event) -> None:
    """Sleep `seconds`, or less if `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class Poller:
    """Fetches updates and confirms each only after it was committed."""

    def __init__(
        self, bot: Bot, receiver: Receiver, *, timeout: float = 25.0, retry_delay: float = 1.0
    ) -> None:
        self._bot = bot
        self._receiver = receiver
        self._timeout = timeout
        self.offset: int | None = None  # the first update not yet confirmed
        self._first_delay = self._backoff = retry_delay

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, then confirm what was committed."""
        while not stop.is_set():
            try:
                updates = await until_stop(self._fetch(self._timeout), stop)
            except Stopped:
                break
            except TimedOut:
                continue  # a long poll that outlived its read timeout: just ask again
            except InvalidToken:
                raise
            except TelegramError as error:
                log.warning("telegram: getUpdates failed (%s); retrying", type(error).__name__)
                await self._wait(stop)
                continue
            if await self._handle(updates, stop):
                self._backoff = self._first_delay
            else:
                await self._wait(stop)
        await self._confirm()

    async def _fetch(self, timeout: float) -> list[dict[str, Any]]:
        """getUpdates, unparsed: PTB's get_updates fails the whole batch (and logs it, text
        and all) when one update does not parse, which would block the bot on it forever."""
        kwargs: dict[str, Any] = {"timeout": timeout, "allowed_updates": list(ALLOWED_UPDATES)}
        if self.offset is not None:
            kwargs["offset"] = self.offset
        raw = await self._bot.do_api_request(
            "getUpdates", api_kwargs=kwargs, read_timeout=timeout + _READ_MARGIN
        )
        return [item for item in raw if isinstance(item, dict)] if isinstance(raw, list) else []

    async def _handle(self, batch: Sequence[dict[str, Any]], stop: asyncio.Event) -> bool:
        """Carry out a batch in order; False when one could not be kept (retry from it)."""
        await self._receiver.prepare(batch)
        for raw in batch:
            if stop.is_set():
                return True
            update_id = raw.get("update_id")
            if not isinstance(update_id, int):
                continue
            if await self._receiver.process_raw(raw) is not Outcome.DONE:
                return False
            self.offset = update_id + 1
        return True

    async def _wait(self, stop: asyncio.Event) -> None:
        await pause(self._backoff, stop)
        self._backoff = min(self._backoff * 2, 30.0)

    async def _confirm(self) -> None:
        """Tell Telegram, on the way out, which updates are kept (else they come again)."""
        if self.offset is None:
            return
        try:
            await self._bot.do_api_request(
                "getUpdates", api_kwargs={"offset": self.offset, "timeout": 0, "limit": 1}
            )
        except TelegramError as error:
            log.info("telegram: last confirmation not sent (%s)", type(error).__name__)
