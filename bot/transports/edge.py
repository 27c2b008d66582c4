"""What every transport's edge does to what arrives, before any of it is read."""

from __future__ import annotations

import re
from typing import Any

#: The largest body an HTTP edge reads (Slack's events, Telegram's updates are far smaller).
MAX_BODY = 1024 * 1024

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def scrub(value: Any) -> Any:
    """`value` (parsed JSON) with every lone surrogate replaced by U+FFFD.

    JSON may carry `"\\ud800"`, which Python reads into a str that no database or UTF-8
    encoder accepts; a pair is already one character, so whatever surrogate is left is lone.
    """
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value
