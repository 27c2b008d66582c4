"""Local wall-clock time and UTC instants, as integer microseconds since the Unix epoch.

Pure: no clock, no I/O. DST: a wall time that falls in a gap (clocks go forward) moves to the
first instant after the gap; in a repeated hour (clocks go back) the caller picks the earlier or
the later instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pytz

MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=512)
def time_zone(name: str) -> pytz.BaseTzInfo:
    """The pytz zone for an IANA name, looked up once; ValueError naming the bad one.

    The one zone lookup of the bot: everything else asks here.
    """
    try:
        return pytz.timezone(name.strip())
    except (pytz.UnknownTimeZoneError, AttributeError):
        raise ValueError(
            f"timezone: '{name}' is not a time zone; use an IANA name like Europe/London"
        ) from None


_ZONE_FOR = {
    "EST": "America/New_York", "EDT": "America/New_York", "EST5EDT": "America/New_York",
    "CST": "America/Chicago", "CDT": "America/Chicago", "CST6CDT": "America/Chicago",
    "MST": "America/Denver", "MDT": "America/Denver", "MST7MDT": "America/Denver",
    "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles", "PST8PDT": "America/Los_Angeles",
    "HST": "Pacific/Honolulu", "GMT": "Europe/London", "BST": "Europe/London",
    "WET": "Europe/Lisbon", "CET": "Europe/Paris", "CEST": "Europe/Paris", "MET": "Europe/Paris",
    "EET": "Europe/Athens", "IST": "Asia/Kolkata", "JST": "Asia/Tokyo",
    "AEST": "Australia/Sydney",
}  # fmt: skip
_OFFSET = re.compile(
    r"(?:etc/)?(?:gmt|utc|uct)\s*[+\-−]\s*\d{1,2}(?::?\d{2})?|[+-]\d{1,2}(?::?\d{2})?"
)


_KNOWN_NAMES = frozenset(name.upper() for name in pytz.all_timezones)


def zone_refusal(text: str) -> str | None:
    """Why `text` is not a place's zone (an abbreviation or a fixed offset), else None.

    Only IANA place names (Area/City) and UTC itself are accepted: a fixed offset or an
    abbreviation ignores daylight saving, so hours read in it would drift twice a year.
    """
    name = text.strip()
    place = place_for(name)
    if place is None:
        return None
    what = "a fixed offset" if _is_offset(name) else "an abbreviation"
    return f"{name} is {what}, not a place: use a zone like {place}"


def place_for(name: str) -> str | None:
    """The place's zone to use instead of an abbreviation or offset `name`; None if `name` is fine.

    Names that are no zone at all are None too: `time_zone` says what is wrong with them.
    """
    upper = name.strip().upper()
    if upper in {"UTC", "ETC/UTC"}:
        return None
    if _is_offset(name):
        return "Europe/London"
    if upper not in _ZONE_FOR and upper not in _KNOWN_NAMES:
        return None
    if "/" not in upper or upper.startswith("SYSTEMV/"):
        return _ZONE_FOR.get(upper, "Europe/London")
    return None


def _is_offset(name: str) -> bool:
    text = name.strip()
    return bool(_OFFSET.fullmatch(text.lower())) or text.upper().startswith("ETC/")


def to_us(when: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    try:
        return (when - _EPOCH) // MICROSECOND
    except TypeError:
        raise ValueError(
            f"calendar: {when.isoformat()} has no time zone; pass an aware datetime"
        ) from None


def from_us(t: int) -> datetime:
    """The aware UTC datetime at `t` microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=t)


def local_to_us(tz: pytz.BaseTzInfo, naive: datetime, *, earliest: bool) -> int:
    """The UTC instant of a local wall time: gap → first instant after; repeat → earliest/latest."""
    try:
        return to_us(tz.localize(naive, is_dst=None))
    except pytz.AmbiguousTimeError:
        both = (to_us(tz.localize(naive, is_dst=True)), to_us(tz.localize(naive, is_dst=False)))
        return min(both) if earliest else max(both)
    except pytz.NonExistentTimeError:
        return _end_of_gap(tz, naive)


def _end_of_gap(tz: pytz.BaseTzInfo, naive: datetime) -> int:
    """The first instant whose local wall time is past `naive`, which lies in a DST gap."""
    # Read with the offsets before and after the jump, `naive` gives two instants that bracket
    # the transition; bisect the whole seconds between them.
    lo, hi = sorted(
        (to_us(tz.localize(naive, is_dst=True)), to_us(tz.localize(naive, is_dst=False)))
    )
    lo_s, hi_s = lo // 1_000_000, -(-hi // 1_000_000)
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if from_us(mid * 1_000_000).astimezone(tz).replace(tzinfo=None) > naive:
            hi_s = mid
        else:
            lo_s = mid
    return hi_s * 1_000_000
