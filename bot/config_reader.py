"""Reading the settings file: the known keys, TOML, environment overrides and typed getters.

Every error is a one-line `ConfigError` naming the key (or the environment variable) and what it
must be; secret values are never shown.
"""

from __future__ import annotations

import difflib
import hmac
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

#: Environment variables that override a key of the file: (section, key).
ENV_OVERRIDES: Mapping[str, tuple[str, str]] = {
    "BOUNDARYBOT_DATABASE_URL": ("database", "url"),
    "BOUNDARYBOT_TELEGRAM_TOKEN": ("telegram", "token"),
    "BOUNDARYBOT_SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "BOUNDARYBOT_SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
    "BOUNDARYBOT_SLACK_APP_TOKEN": ("slack", "app_token"),
    "BOUNDARYBOT_HASH_KEY": ("privacy", "hash_key"),
}

_TOP_KEYS = frozenset(
    {"database", "telegram", "slack", "logging", "privacy", "retention_days", "coaches"}
)
_DATABASE_KEYS = frozenset({"url"})
_TELEGRAM_KEYS = frozenset(
    {"token", "base_url", "mode", "webhook_url", "listen", "port", "secret_token"}
)
_SLACK_KEYS = frozenset({"bot_token", "signing_secret", "app_token", "api_url", "port"})
_LOGGING_KEYS = frozenset({"level"})
_PRIVACY_KEYS = frozenset({"hash_key"})
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
    "privacy": _PRIVACY_KEYS,
    "coaches": _COACH_KEYS,
}
_SECRET_KEYS = frozenset(
    {"token", "secret_token", "bot_token", "signing_secret", "app_token", "hash_key"}
)


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


def read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML file at `path`; ConfigError if it is missing, unreadable or not TOML."""
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


def apply_env(sections: Mapping[str, Table], env: Mapping[str, str]) -> None:
    """Put each set `ENV_OVERRIDES` variable into its section, remembering where it came from."""
    for var, (section, key) in ENV_OVERRIDES.items():
        value = env.get(var, "").strip()
        if value:  # an empty variable means "not set", as docker-compose's `VAR=` does
            sections[section].data[key] = value
            sections[section].env_names[key] = var


def show_value(value: object) -> str:
    """A value as the message shows it: strings in double quotes, like TOML writes them."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


class Table:
    """One TOML table being read: typed getters whose errors name the key."""

    def __init__(self, label: str, data: Mapping[str, Any], *, allowed: frozenset[str]) -> None:
        self.label = label
        self.data = dict(data)
        self.env_names: dict[str, str] = {}  # keys whose value came from the environment
        for key in self.data:
            if key not in allowed:
                self._unknown(key, allowed)

    def _unknown(self, key: str, allowed: frozenset[str]) -> NoReturn:
        where = f"{self.label} " if self.label else ""
        hint = difflib.get_close_matches(key, sorted(allowed), n=1)
        suggestion = f" (did you mean {show_value(hint[0])}?)" if hint else ""
        raise ConfigError(f"config: unknown key {where}{show_value(key)}{suggestion}")

    def fail(self, key: str, expected: str, *, show: bool = True) -> NoReturn:
        """Raise the one-line error for `key`, showing its value unless it is secret."""
        where = f"{self.label} " if self.label else ""
        name = self.env_names.get(key, f"{where}{key}")
        message = f"config: {name} {expected}"
        if show and key in self.data and key not in _SECRET_KEYS:
            message += f", not {show_value(self.data[key])}"
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

    def choice(self, key: str, options: tuple[str, ...], *, default: str) -> str:
        """One of `options`."""
        value = self.string(key) or default
        if value not in options:
            self.fail(key, "must be " + " or ".join(show_value(o) for o in options))
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

    def tables(self, key: str, allowed: frozenset[str]) -> list[Table]:
        """An array of tables ([[key]]), each checked for unknown keys."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, f"must be an array of tables ([[{key}]])", show=False)
        return [
            Table(_item_label(key, n, item=v), v, allowed=allowed) for n, v in enumerate(value, 1)
        ]


def _item_label(array: str, number: int, *, item: Mapping[str, Any]) -> str:
    """`[[coaches]] "melody"` when the item has a key, else `[[coaches]] #2`."""
    key = item.get("key")
    return f"[[{array}]] {show_value(key)}" if isinstance(key, str) else f"[[{array}]] #{number}"
