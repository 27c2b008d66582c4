"""Settings, read once from one TOML file and the environment into one frozen object."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Literal

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config_reader import (
    ENV_OVERRIDES,
    KNOWN_KEYS,
    ConfigError,
    Secret,
    Table,
    apply_env,
    read_toml,
    show_value,
)
from rules.calendar import BusinessCalendar
from rules.contract import PROMISE_BOUNDS, ReplyPromise
from rules.localtime import place_for

__all__ = [
    "DEFAULT_DATABASE_URL",
    "ENV_OVERRIDES",
    "KNOWN_KEYS",
    "CoachSettings",
    "ConfigError",
    "DatabaseSettings",
    "PrivacySettings",
    "Secret",
    "Settings",
    "SlackSettings",
    "TelegramSettings",
    "load_settings",
    "redacted_url",
]

DEFAULT_DATABASE_URL = "sqlite:///boundarybot.db"

MIN_HASH_KEY = 32  # characters of a configured hash key

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_COACH_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DIGEST_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def redacted_url(url: str) -> str:
    """The database URL with any password replaced by ***, safe to print or log."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "<unparseable database url>"
    if "password" in parsed.query:  # libpq also takes ?password=...
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the data lives; the URL may hold a password, so repr() redacts it."""

    url: str = field(default=DEFAULT_DATABASE_URL, repr=False)

    def redacted_url(self) -> str:
        """The URL with the password hidden."""
        return redacted_url(self.url)

    def __repr__(self) -> str:
        return f"DatabaseSettings(url={self.redacted_url()!r})"


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram transport (configured only when there is a token)."""

    token: Secret
    base_url: str | None = None  # python-telegram-bot's default when None
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    listen: str = "127.0.0.1"
    port: int = 8443
    secret_token: Secret | None = None


@dataclass(frozen=True)
class SlackSettings:
    """The Slack transport (configured only when there is a bot token)."""

    bot_token: Secret
    signing_secret: Secret | None = None  # HTTP mode
    app_token: Secret | None = None  # Socket Mode
    api_url: str | None = None  # slack_sdk's default when None
    port: int = 3000

    @property
    def socket_mode(self) -> bool:
        """True when Slack is reached over Socket Mode rather than HTTP."""
        return self.app_token is not None


@dataclass(frozen=True)
class CoachSettings:
    """A coach from the file; the policy fields are initial values, given or not."""

    key: str
    name: str
    telegram_user_id: str | None = None
    slack_user_id: str | None = None
    timezone: str | None = None
    hours: str | None = None
    reply_within: str | None = None  # normalised, e.g. "24h"
    digest_time: str | None = None  # "HH:MM", or "off"

    def initial_policy(self) -> dict[str, str | None]:
        """The policy fields this coach's entry gives, in the stored policy's JSON shape."""
        given: dict[str, str | None] = {}
        for name in ("timezone", "hours", "reply_within"):
            value = getattr(self, name)
            if value is not None:
                given[name] = value
        if self.digest_time is not None:
            given["digest_time"] = None if self.digest_time == "off" else self.digest_time
        return given


@dataclass(frozen=True)
class PrivacySettings:
    """The HMAC key for hashes of platform ids; None: one is made and kept in the database."""

    hash_key: Secret | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the operator configured; built once by `load_settings`."""

    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings | None = None
    slack: SlackSettings | None = None
    retention_days: int = 365
    log_level: str = "INFO"
    privacy: PrivacySettings = PrivacySettings()
    coaches: tuple[CoachSettings, ...] = ()

    def transports(self) -> tuple[str, ...]:
        """The configured transports; empty means the console transport."""
        names = []
        if self.telegram is not None:
            names.append("telegram")
        if self.slack is not None:
            names.append("slack")
        return tuple(names)


def load_settings(path: Path | None, env: Mapping[str, str]) -> Settings:
    """Read the TOML file at `path` (None: no file) and the environment into Settings."""
    data = read_toml(path) if path is not None else {}
    top = Table("", data, allowed=KNOWN_KEYS[""])
    sections = {
        name: Table(f"[{name}]", top.table(name), allowed=KNOWN_KEYS[name])
        for name in ("database", "telegram", "slack", "logging", "privacy")
    }
    apply_env(sections, env)
    return Settings(
        database=_database(sections["database"]),
        telegram=_telegram(sections["telegram"]),
        slack=_slack(sections["slack"]),
        retention_days=top.positive_int("retention_days", 365),
        log_level=_log_level(sections["logging"]),
        privacy=_privacy(sections["privacy"]),
        coaches=_coaches(top.tables("coaches", KNOWN_KEYS["coaches"])),
    )


def _database(table: Table) -> DatabaseSettings:
    url = table.string("url") or DEFAULT_DATABASE_URL
    try:
        make_url(url)
    except ArgumentError:
        # not shown: an unparseable URL cannot be redacted and may hold a password
        table.fail("url", "must be a database URL like sqlite:///boundarybot.db", show=False)
    return DatabaseSettings(url=url)


def _telegram(table: Table) -> TelegramSettings | None:
    mode = table.choice("mode", ("polling", "webhook"), default="polling")
    settings = TelegramSettings(
        token=table.secret("token") or Secret(""),
        base_url=table.url("base_url"),
        mode="webhook" if mode == "webhook" else "polling",
        webhook_url=table.url("webhook_url"),
        listen=table.string("listen") or "127.0.0.1",
        port=table.port("port", 8443),
        secret_token=table.secret("secret_token"),
    )
    if settings.mode == "webhook" and settings.webhook_url is None:
        table.fail("webhook_url", 'is required when mode = "webhook"', show=False)
    return settings if settings.token.reveal() else None


def _slack(table: Table) -> SlackSettings | None:
    api_url = table.url("api_url")
    if api_url is not None and not api_url.endswith("/api/"):
        table.fail("api_url", "must end with /api/ (slack_sdk's base URL)")
    port = table.port("port", 3000)
    signing_secret, app_token = table.secret("signing_secret"), table.secret("app_token")
    bot_token = table.secret("bot_token")
    if bot_token is None:
        return None
    if signing_secret is None and app_token is None:
        raise ConfigError(
            "config: [slack] needs signing_secret (HTTP mode) or app_token (Socket Mode) "
            "besides bot_token"
        )
    return SlackSettings(bot_token, signing_secret, app_token, api_url, port)


def _log_level(table: Table) -> str:
    level = (table.string("level") or "INFO").upper()
    if level not in _LOG_LEVELS:
        table.fail("level", "must be one of " + ", ".join(_LOG_LEVELS))
    return level


def _privacy(table: Table) -> PrivacySettings:
    key = table.secret("hash_key")
    if key is not None and len(key.reveal()) < MIN_HASH_KEY:
        table.fail("hash_key", f"must be at least {MIN_HASH_KEY} characters")
    return PrivacySettings(hash_key=key)


def _coaches(tables: list[Table]) -> tuple[CoachSettings, ...]:
    coaches = tuple(_coach(table) for table in tables)
    _refuse_duplicates(coaches, "key")
    _refuse_duplicates(coaches, "telegram_user_id")
    _refuse_duplicates(coaches, "slack_user_id")
    return coaches


def _refuse_duplicates(coaches: tuple[CoachSettings, ...], attr: str) -> None:
    seen: dict[str, str] = {}
    for coach in coaches:
        value = getattr(coach, attr)
        if value is None:
            continue
        if value in seen:
            raise ConfigError(
                f"config: [[coaches]] {attr} {show_value(value)} is given twice "
                f"(coaches {show_value(seen[value])} and {show_value(coach.key)})"
            )
        seen[value] = coach.key


def _coach(table: Table) -> CoachSettings:
    key = table.required_string("key")
    if not _COACH_KEY_RE.fullmatch(key):
        table.fail("key", "must be 1-64 letters, digits, '.', '_' or '-'")
    table.label = f"[[coaches]] {show_value(key)}"
    timezone = _coach_timezone(table)
    return CoachSettings(
        key=key,
        name=table.required_string("name"),
        telegram_user_id=table.user_id("telegram_user_id"),
        slack_user_id=table.string("slack_user_id"),
        timezone=timezone,
        hours=_coach_hours(table, timezone),
        reply_within=_coach_reply_within(table),
        digest_time=_coach_digest_time(table),
    )


def _coach_timezone(table: Table) -> str | None:
    zone = table.string("timezone")
    if zone is None:
        return None
    place = place_for(zone)
    if place is not None:  # an offset or abbreviation would drift with daylight saving
        table.fail("timezone", f"must name a place, like {place}")
    try:
        return BusinessCalendar(zone, "mon 09:00-17:00").timezone
    except ValueError:
        table.fail("timezone", "must be an IANA time zone like Europe/London")


def _coach_hours(table: Table, timezone: str | None) -> str | None:
    hours = table.string("hours")
    if hours is not None:
        try:
            BusinessCalendar(timezone or "UTC", hours, (), None)
        except ValueError as exc:
            table.fail("hours", f"is not valid: {_one_line(exc)}", show=False)
    return hours


def _coach_reply_within(table: Table) -> str | None:
    text = table.string("reply_within")
    if text is None:
        return None
    try:
        return str(ReplyPromise.parse(text))
    except ValueError:
        table.fail(
            "reply_within",
            f"must be hours of open time like 24h (at most {PROMISE_BOUNDS['h']}h) "
            f"or working days like 2d (at most {PROMISE_BOUNDS['d']}d)",
        )


def _coach_digest_time(table: Table) -> str | None:
    value = table.get("digest_time")
    if value is None:
        return None
    if isinstance(value, time) and value.tzinfo is None:  # TOML's local time: 18:00:00
        return value.strftime("%H:%M")
    if isinstance(value, str):
        match = _DIGEST_RE.fullmatch(value.strip())
        if match:
            return f"{int(match.group(1)):02d}:{match.group(2)}"
        if value.strip().lower() == "off":
            return "off"
    table.fail("digest_time", 'must be a time like "18:00" or "off"')


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
