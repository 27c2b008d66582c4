"""Settings, read once from one TOML file and the environment into one frozen object."""

from __future__ import annotations

import difflib
import hmac
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, Literal, NoReturn

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rules.calendar import BusinessCalendar
from rules.contract import ReplyPromise

DEFAULT_DATABASE_URL = "sqlite:///boundarybot.db"

#: Environment variables that override a key of the file: (section, key).
ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "BOUNDARYBOT_DATABASE_URL": ("database", "url"),
    "BOUNDARYBOT_TELEGRAM_TOKEN": ("telegram", "token"),
    "BOUNDARYBOT_SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "BOUNDARYBOT_SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "BOUNDARYBOT_SLACK_APP_TOKEN": ("slack", "app_token"),
}

_TOP_KEYS = frozenset({"database", "telegram", "slack", "logging", "retention_days", "coaches"})
_DATABASE_KEYS = frozenset({"url"})
_TELEGRAM_KEYS = frozenset(
    {"token", "base_url", "mode", "webhook_url", "listen", "port", "secret_token"}
)
_SLACK_KEYS = frozenset({"bot_token", "signing_secret", "app_token", "api_url", "port"})
_LOGGING_KEYS = frozenset({"level"})
_COACH_KEYS = frozenset(
    {
        "key",
        "name",
        "telegram_user_id",
        "slack_user_id",
        "timezone",
        "hours",
        "reply_within",
        "digest_time",
    }
)
#: Every key the file may hold, per table ("" is the top level, "coaches" each [[coaches]]).
KNOWN_KEYS: Mapping[str, frozenset[str]] = {
    "": _TOP_KEYS,
    "database": _DATABASE_KEYS,
    "telegram": _TELEGRAM_KEYS,
    "slack": _SLACK_KEYS,
    "logging": _LOGGING_KEYS,
    "coaches": _COACH_KEYS,
}
_SECRET_KEYS = frozenset({"token", "secret_token", "bot_token", "signing_secret", "app_token"})
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_COACH_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_DIGEST_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


class ConfigError(Exception):
    """The configuration is unusable; the message is one line naming the key."""


class Secret:
    """A secret value that never shows itself in repr(), str() or logs; use `.reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


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
class Settings:
    """Everything the operator configured; built once by `load_settings`."""

    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings | None = None
    slack: SlackSettings | None = None
    retention_days: int = 365
    log_level: str = "INFO"
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
    data = _read_toml(path) if path is not None else {}
    top = _Table("", data, _TOP_KEYS)
    sections = {
        name: _Table(f"[{name}]", top.table(name), keys)
        for name, keys in (
            ("database", _DATABASE_KEYS),
            ("telegram", _TELEGRAM_KEYS),
            ("slack", _SLACK_KEYS),
            ("logging", _LOGGING_KEYS),
        )
    }
    _apply_env(sections, env)
    return Settings(
        database=_database(sections["database"]),
        telegram=_telegram(sections["telegram"]),
        slack=_slack(sections["slack"]),
        retention_days=top.positive_int("retention_days", 365),
        log_level=_log_level(sections["logging"]),
        coaches=_coaches(top.tables("coaches", _COACH_KEYS)),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config: file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"config: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config: {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {path} is not valid TOML: {exc}") from None


def _apply_env(sections: Mapping[str, _Table], env: Mapping[str, str]) -> None:
    for var, (section, key) in ENV_OVERRIDES.items():
        value = env.get(var, "").strip()
        if value:  # an empty variable means "not set", as docker-compose's `VAR=` does
            sections[section].data[key] = value
            sections[section].env_names[key] = var


def _database(table: _Table) -> DatabaseSettings:
    url = table.string("url") or DEFAULT_DATABASE_URL
    try:
        make_url(url)
    except ArgumentError:
        # not shown: an unparseable URL cannot be redacted and may hold a password
        table.fail("url", "must be a database URL like sqlite:///boundarybot.db", show=False)
    return DatabaseSettings(url=url)


def _telegram(table: _Table) -> TelegramSettings | None:
    mode = table.choice("mode", ("polling", "webhook"), "polling")
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


def _slack(table: _Table) -> SlackSettings | None:
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


def _log_level(table: _Table) -> str:
    level = (table.string("level") or "INFO").upper()
    if level not in _LOG_LEVELS:
        table.fail("level", "must be one of " + ", ".join(_LOG_LEVELS))
    return level


def _coaches(tables: list[_Table]) -> tuple[CoachSettings, ...]:
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
                f"config: [[coaches]] {attr} {_show(value)} is given twice "
                f"(coaches {_show(seen[value])} and {_show(coach.key)})"
            )
        seen[value] = coach.key


def _coach(table: _Table) -> CoachSettings:
    key = table.required_string("key")
    if not _COACH_KEY_RE.fullmatch(key):
        table.fail("key", "must be 1-64 letters, digits, '.', '_' or '-'")
    table.label = f"[[coaches]] {_show(key)}"
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


def _coach_timezone(table: _Table) -> str | None:
    zone = table.string("timezone")
    if zone is None:
        return None
    try:
        return BusinessCalendar(zone, "mon 09:00-17:00").timezone
    except ValueError:
        table.fail("timezone", "must be an IANA time zone like Europe/London")


def _coach_hours(table: _Table, timezone: str | None) -> str | None:
    hours = table.string("hours")
    if hours is not None:
        try:
            BusinessCalendar(timezone or "UTC", hours, (), None)
        except ValueError as exc:
            table.fail("hours", f"is not valid: {_one_line(exc)}", show=False)
    return hours


def _coach_reply_within(table: _Table) -> str | None:
    text = table.string("reply_within")
    if text is None:
        return None
    try:
        return str(ReplyPromise.parse(text))
    except ValueError:
        table.fail("reply_within", "must be hours of open time like 24h or working days like 2d")


def _coach_digest_time(table: _Table) -> str | None:
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


def _show(value: object) -> str:
    """A value as the message shows it: strings in double quotes, like TOML writes them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


class _Table:
    """One TOML table being read: typed getters whose errors name the key."""

    def __init__(self, label: str, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
        self.label = label
        self.data = dict(data)
        self.env_names: dict[str, str] = {}  # keys whose value came from the environment
        for key in self.data:
            if key not in allowed:
                self._unknown(key, allowed)

    def _unknown(self, key: str, allowed: frozenset[str]) -> NoReturn:
        where = f"{self.label} " if self.label else ""
        hint = difflib.get_close_matches(key, sorted(allowed), n=1)
        suggestion = f" (did you mean {_show(hint[0])}?)" if hint else ""
        raise ConfigError(f"config: unknown key {where}{_show(key)}{suggestion}")

    def fail(self, key: str, expected: str, *, show: bool = True) -> NoReturn:
        """Raise the one-line error for `key`, showing its value unless it is secret."""
        where = f"{self.label} " if self.label else ""
        name = self.env_names.get(key, f"{where}{key}")
        message = f"config: {name} {expected}"
        if show and key in self.data and key not in _SECRET_KEYS:
            message += f", not {_show(self.data[key])}"
        raise ConfigError(message)

    def get(self, key: str) -> Any:
        """The raw value of `key`, or None."""
        return self.data.get(key)

    def string(self, key: str) -> str | None:
        """A string value, stripped; None when absent."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(key, "must be a string")
        return value.strip() or None

    def required_string(self, key: str) -> str:
        """A string that must be given."""
        value = self.string(key)
        if value is None:
            self.fail(key, "is required", show=False)
        return value

    def secret(self, key: str) -> Secret | None:
        """A secret string; None when absent or empty."""
        value = self.string(key)
        return None if value is None else Secret(value)

    def url(self, key: str) -> str | None:
        """An http(s) URL."""
        value = self.string(key)
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            self.fail(key, "must be an http:// or https:// URL")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str) -> str:
        """One of `options`."""
        value = self.string(key) or default
        if value not in options:
            self.fail(key, "must be " + " or ".join(_show(o) for o in options))
        return value

    def integer(self, key: str, default: int) -> int:
        """An integer (TOML's, not a string or a bool)."""
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, "must be an integer")
        return int(value)

    def positive_int(self, key: str, default: int) -> int:
        """An integer of at least 1."""
        value = self.integer(key, default)
        if value < 1:
            self.fail(key, "must be at least 1")
        return value

    def port(self, key: str, default: int) -> int:
        """A TCP port number."""
        value = self.integer(key, default)
        if not 1 <= value <= 65535:
            self.fail(key, "must be a port number between 1 and 65535")
        return value

    def user_id(self, key: str) -> str | None:
        """A numeric platform user id, given as an integer or a string of digits."""
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, str) and re.fullmatch(r"\s*\d+\s*", value):
            return value.strip()
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(key, "must be a numeric user id like 123456789")
        return str(value)

    def table(self, key: str) -> dict[str, Any]:
        """A sub-table ({} when absent)."""
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"must be a table ([{key}])")
        return value

    def tables(self, key: str, allowed: frozenset[str]) -> list[_Table]:
        """An array of tables ([[key]]), each checked for unknown keys."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, f"must be an array of tables ([[{key}]])", show=False)
        return [_Table(_item_label(key, n, v), v, allowed) for n, v in enumerate(value, 1)]


def _item_label(array: str, number: int, item: Mapping[str, Any]) -> str:
    """`[[coaches]] "melody"` when the item has a key, else `[[coaches]] #2`."""
    key = item.get("key")
    return f"[[{array}]] {_show(key)}" if isinstance(key, str) else f"[[{array}]] #{number}"
