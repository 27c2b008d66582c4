"""Logging set-up: our own lines as written, the libraries' lines without what they carry.

The libraries log what people wrote and the secrets that reach them: slack_bolt logs the whole
body of a request whose signature fails (INFO) and of unhandled requests (WARNING), slack_sdk
logs request and response bodies (DEBUG), python-telegram-bot logs request parameters (DEBUG),
httpx and httpcore log URLs, and Telegram's carry the bot token (INFO), SQLAlchemy logs query
parameters (INFO), aiohttp logs request lines and tracebacks. So, whatever `[logging] level`
says:

- each of those loggers stops below WARNING (`FLOORS`), and
- a record from any logger outside `bot.*` keeps only its static format string (its arguments
  are dropped) or, if it was formatted beforehand (an f-string), only a note that it was
  withheld; its exception keeps only its type name. This is done when the record is made, so
  every handler, present or added later, sees the same clean record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: The logger handed to slack_bolt and slack_sdk (their records are libraries' records).
SDK_LOGGER = "bot.transports.slack.sdk"

#: Library loggers that log payloads, URLs or parameters below WARNING.
FLOORS = {
    "slack_bolt": logging.WARNING,
    "slack_sdk": logging.WARNING,
    SDK_LOGGER: logging.WARNING,
    "boundarybot": logging.WARNING,  # bolt's logger named after the app
    "telegram": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp": logging.WARNING,
    "aiohttp.access": logging.CRITICAL,  # request lines: paths may carry a secret
    "sqlalchemy": logging.WARNING,
    "alembic": logging.WARNING,
    "asyncio": logging.WARNING,
}

WITHHELD = "(message withheld: library messages may carry what people wrote, or a token)"


def configure_logging(level: str | int) -> None:
    """Log to stderr at `level`, with every library's records cleaned (see the module doc)."""
    logging.basicConfig(level=level, format=FORMAT)
    logging.getLogger().setLevel(level)  # also when handlers were there already
    quiet_libraries()


def quiet_libraries() -> None:
    """Floor the payload-carrying loggers and clean every library record as it is made."""
    for name, floor in FLOORS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(floor, logger.level))
    current = logging.getLogRecordFactory()
    if not getattr(current, "cleans_library_records", False):
        logging.setLogRecordFactory(_cleaning(current))


def ours(name: str) -> bool:
    """True for the bot's own loggers, whose lines never hold message text or secrets."""
    own = name == "bot" or name.startswith("bot.")
    return own and not (name == SDK_LOGGER or name.startswith(SDK_LOGGER + "."))


def clean(record: logging.LogRecord) -> logging.LogRecord:
    """A library record reduced to what the code says, not what it was handed."""
    if ours(record.name):
        return record
    if record.args:
        record.msg = f"{record.msg} [arguments withheld]"
        record.args = None
    elif not isinstance(record.msg, str) or record.msg.strip():
        record.msg = WITHHELD
    if record.exc_info:
        kind = record.exc_info[0]
        record.msg = f"{record.msg} [{kind.__name__ if kind else 'error'}]"
    record.exc_info, record.exc_text, record.stack_info = None, None, None
    return record


def _cleaning(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return clean(factory(*args, **kwargs))

    make.cleans_library_records = True  # type: ignore[attr-defined]
    return make
