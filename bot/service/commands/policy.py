"""The coach's policy commands: time zone, hours, reply promise, holidays, digest, billing."""

from __future__ import annotations

import difflib
import functools
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.numbers import get_territory_currencies

from bot.service.commands.args import (
    coach_of,
    out_of_range,
    parse_count,
    parse_time,
    parse_zone,
    problem,
    rules_error,
    shown,
)
from bot.service.commands.client import availability, set_display_zone
from bot.service.commands.registry import CommandSet, Context, Role, UsageError, words
from bot.service.commands.views import billing_words, policy_text
from bot.store.policy import coach_policy, coach_setting, set_policy_field
from rules.calendar import BusinessCalendar, parse_hours
from rules.contract import BillingTerms, Policy, PromiseOutOfRange, ReplyPromise
from rules.templates import format_local

COMMANDS = CommandSet()

HOURS_EXAMPLE = "/hours mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00"
ZONE_EXAMPLE = "/timezone Europe/London"
REPLY_EXAMPLE = "/reply_within 24h"
_PROMISE_WORDS = {
    "h": ("hours of open time", REPLY_EXAMPLE),
    "d": ("working days", "/reply_within 2d"),
}
HOLIDAYS_EXAMPLE = "/holidays GB"
DIGEST_EXAMPLE = "/digest 18:00"
DIGEST_DAYS = {"daily": True, "every": True, "working": False, "workdays": False}
BILLING_EXAMPLE = "/billing 5 60 GBP 15"
OFF = {"off", "none", "no"}
MIN_RATE, MAX_RATE = Decimal("0.01"), Decimal(100_000)


def set_field(ctx: Context, command: str, *, field: str, value: Any) -> Policy:
    """Validate and store one policy field as set in chat; return the new policy."""
    coach = coach_of(ctx)
    before, chat_set = dict(coach.policy), list(coach.chat_set)
    try:
        set_policy_field(coach, field, value=value, from_chat=True)
        policy = coach_policy(ctx.uow, coach)
        policy.calendar.next_open(ctx.now)  # the schedule still has open time
    except ValueError as error:
        coach.policy, coach.chat_set = before, chat_set  # the change is not kept
        raise rules_error(command, error) from None
    ctx.uow.add(coach)
    return policy


@COMMANDS.add("policy", roles={Role.COACH}, usage="/policy")
def show_policy(ctx: Context, args: str) -> str:
    """Your settings, and exactly what a client would be told right now."""
    return policy_text(ctx.uow, coach_of(ctx), now=ctx.now)


@COMMANDS.add("timezone", roles={Role.COACH, Role.CLIENT}, usage=ZONE_EXAMPLE)
def timezone(ctx: Context, args: str) -> str:
    """The time zone your hours are in (for a client: the zone times are shown in)."""
    if ctx.actor.role is Role.CLIENT:
        return set_display_zone(ctx, args)
    policy = coach_policy(ctx.uow, coach_of(ctx))
    if not args.strip():
        return f"Your time zone is {policy.timezone}. Change it like this: {ZONE_EXAMPLE}"
    zone = parse_zone(args.strip(), ZONE_EXAMPLE)
    policy = set_field(ctx, "timezone", field="timezone", value=zone)
    return (
        f"Time zone set: {policy.timezone}. It is {format_local(ctx.now, policy.timezone)} "
        f"there; your hours ({policy.calendar.describe_hours()}) are read in it."
    )


@COMMANDS.add("hours", roles={Role.COACH, Role.CLIENT}, usage=HOURS_EXAMPLE)
def hours(ctx: Context, args: str) -> str:
    """Set your weekly hours; days not named are closed."""
    if ctx.actor.role is Role.CLIENT:
        return availability(ctx)
    if not args.strip():
        policy = coach_policy(ctx.uow, coach_of(ctx))
        return (
            f"Your hours: {policy.calendar.describe_hours()} ({policy.timezone}). "
            f"Change them like this: {HOURS_EXAMPLE}"
        )
    try:
        weekly = parse_hours(args)
    except ValueError as error:
        raise rules_error("hours", error) from None
    policy = set_field(ctx, "hours", field="hours", value=str(weekly))
    return f"Hours set: {weekly.describe()} ({policy.timezone})."


@COMMANDS.add("reply_within", roles={Role.COACH}, usage="/reply_within 24h|2d")
def reply_within(ctx: Context, args: str) -> str:
    """How soon you reply: hours of open time (24h) or working days (2d)."""
    if not args.strip():
        policy = coach_policy(ctx.uow, coach_of(ctx))
        return f"You reply {policy.reply_within.describe()}. Change it like this: {REPLY_EXAMPLE}"
    try:
        promise = ReplyPromise.parse(args)
    except PromiseOutOfRange as wide:
        what, example = _PROMISE_WORDS[wide.unit]
        low, high = f"1{wide.unit}", f"{wide.high}{wide.unit}"
        raise out_of_range(example, args, low=low, high=high, what=what) from None
    except ValueError:
        raise problem(REPLY_EXAMPLE + " or 2d", f"'{shown(args)}' is not a reply time") from None
    set_field(ctx, "reply_within", field="reply_within", value=promise)
    return f"Reply promise set: {promise.describe()} ({promise})."


@COMMANDS.add("holidays", roles={Role.COACH}, usage="/holidays GB|off")
def holidays(ctx: Context, args: str) -> str:
    """Close on the public holidays of a country (GB, or GB-SCT), or off."""
    spec = args.strip()
    if not spec:
        current = coach_policy(ctx.uow, coach_of(ctx)).holidays or "off"
        return f"Public holidays: {current}. Change it like this: {HOLIDAYS_EXAMPLE} (or off)"
    if spec.lower() in OFF:
        set_field(ctx, "holidays", field="holidays", value=None)
        return "Public holidays off: you are open on them unless you add a /closed date."
    if len(spec) > 12 or " " in spec:
        raise problem(HOLIDAYS_EXAMPLE, f"'{shown(spec)}' is not a country code")
    policy = set_field(ctx, "holidays", field="holidays", value=spec.upper())
    upcoming = next_holiday(policy.calendar, ctx.now)
    after = f" The next one: {upcoming}." if upcoming else ""
    return f"Public holidays set: {policy.holidays}. You are closed on them.{after}"


def next_holiday(calendar: BusinessCalendar, now: datetime) -> str | None:
    """`Fri 25 Dec (Christmas Day)`: the next public holiday within a year (never a closure)."""
    found = calendar.next_holiday(now.astimezone(calendar.tz).date())
    if found is None:
        return None
    day, name = found
    return f"{day:%a} {day.day} {day:%b} ({name})"


@COMMANDS.add("digest", roles={Role.COACH}, usage="/digest 18:00 [daily|working]|off")
def digest(ctx: Context, args: str) -> str:
    """When your daily digest comes (your time): on working days, or daily; or off."""
    parts = words(args)
    if not parts:
        policy = coach_policy(ctx.uow, coach_of(ctx))
        current = policy.digest_time.strftime("%H:%M") if policy.digest_time else "off"
        days = _digest_days(bool(coach_setting(coach_of(ctx), "digest_daily")))
        shown_days = f" {days}" if policy.digest_time else ""
        return (
            f"Daily digest: {current}{shown_days}. "
            f"Change it like this: {DIGEST_EXAMPLE} (or daily, or off)"
        )
    if len(parts) == 1 and parts[0].lower() in OFF:
        set_field(ctx, "digest", field="digest_time", value=None)
        return "Daily digest off. Updates are still kept; /digest 18:00 turns it back on."
    if len(parts) > 2:
        raise problem(DIGEST_EXAMPLE + " daily", "give a time, then daily or working")
    at = parse_time(parts[0], DIGEST_EXAMPLE)
    daily = bool(coach_setting(coach_of(ctx), "digest_daily"))
    if len(parts) == 2:
        every = parts[1].lower()
        if every not in DIGEST_DAYS:
            raise problem(DIGEST_EXAMPLE + " daily", f"'{shown(parts[1])}' is not daily or working")
        daily = DIGEST_DAYS[every]
        set_field(ctx, "digest", field="digest_daily", value=daily)
    policy = set_field(ctx, "digest", field="digest_time", value=at)
    return (
        f"Daily digest at {at:%H:%M} ({policy.timezone}) {_digest_days(daily)}, "
        "when there is something in it."
    )


def _digest_days(daily: bool) -> str:
    return "every day" if daily else "on your working days"


@COMMANDS.add("billing", roles={Role.COACH}, usage="/billing 5 60 GBP [15]|off")
def billing(ctx: Context, args: str) -> str:
    """Bill between-session work: free minutes, hourly rate, currency, increment; or off."""
    parts = words(args)
    if not parts:
        policy = coach_policy(ctx.uow, coach_of(ctx))
        return f"Billing: {billing_words(policy)}. Change it like this: {BILLING_EXAMPLE} (or off)"
    if len(parts) == 1 and parts[0].lower() in OFF:
        set_field(ctx, "billing", field="billing", value=None)
        return "Billing off: logged time is kept but not billed."
    terms = parse_billing(parts, ctx.now.date())
    policy = set_field(ctx, "billing", field="billing", value=terms)
    return f"Billing set: {billing_words(policy)}."


def parse_billing(parts: list[str], today: date) -> BillingTerms:
    """`5 60 GBP [15]` as billing terms (the currency one in use on `today`)."""
    if not 3 <= len(parts) <= 4:
        raise problem(BILLING_EXAMPLE, "give free minutes, hourly rate and currency")
    free = parse_count(parts[0], BILLING_EXAMPLE, what="free minutes", high=600)
    rate = parse_rate(parts[1])
    currency = parse_currency(parts[2], today)
    increment = 15
    if len(parts) == 4:
        increment = parse_count(parts[3], BILLING_EXAMPLE, what="an increment in minutes", high=240)
        if increment == 0:
            raise problem(BILLING_EXAMPLE, "the increment must be at least 1 minute")
    return BillingTerms(free, rate, currency, increment)


def parse_rate(text: str) -> Decimal:
    """An hourly rate above zero: `60` or `62.50`."""
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or rate != rate.quantize(Decimal("0.01")):
        raise problem(BILLING_EXAMPLE, f"'{shown(text)}' is not an hourly rate like 60 or 62.50")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise out_of_range(
            BILLING_EXAMPLE, text, low=MIN_RATE, high=MAX_RATE, what="an hourly rate"
        )
    return rate


def parse_currency(text: str, today: date) -> str:
    """An ISO 4217 code of a currency in use on `today` (`gbp` reads as GBP)."""
    code = text.strip().upper()
    known = currencies(today)
    if code in known:
        return code
    swapped = [c for c in sorted(known) if sorted(c) == sorted(code)]  # GPB for GBP
    close = swapped or difflib.get_close_matches(code, sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "use a code like GBP, EUR or USD"
    raise UsageError(f"/billing: '{shown(text)}' is not a currency in use (ISO 4217); {hint}")


@functools.lru_cache(maxsize=4)
def currencies(today: date) -> frozenset[str]:
    """The ISO 4217 codes legal tender somewhere on `today`, from CLDR (Babel)."""
    territories = (
        t for t in Locale("en").territories if isinstance(t, str) and len(t) == 2 and t.isalpha()
    )
    return frozenset(
        code
        for territory in territories
        for code in get_territory_currencies(territory, start_date=today, tender=True)
    )
