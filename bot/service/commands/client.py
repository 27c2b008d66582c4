"""A client's side of the shared `/hours` and `/timezone` commands."""

from __future__ import annotations

from bot.service.commands.args import parse_zone
from bot.service.commands.registry import Context, UsageError
from bot.store.policy import contract_for
from rules.templates import describe_contract, format_local

CLIENT_ZONE_EXAMPLE = "/timezone Europe/Paris"
DEFAULT = {"default", "off", "none"}


def _client(ctx: Context) -> None:
    if ctx.actor.client is None:
        raise UsageError("That command is for clients.")


def availability(ctx: Context) -> str:
    """The client's `/hours`: the contract in plain words, in their time zone."""
    _client(ctx)
    assert ctx.actor.client is not None
    return describe_contract(contract_for(ctx.uow, ctx.actor.client), ctx.now)


def set_display_zone(ctx: Context, args: str) -> str:
    """The client's `/timezone Zone`: the zone times are shown to them in."""
    _client(ctx)
    client = ctx.actor.client
    assert client is not None
    text = args.strip()
    if not text:
        zone = contract_for(ctx.uow, client).client_timezone
        return f"I show you times in {zone}. Change it like this: {CLIENT_ZONE_EXAMPLE}"
    client.timezone = None if text.lower() in DEFAULT else parse_zone(text, CLIENT_ZONE_EXAMPLE)
    ctx.uow.add(client)
    zone = contract_for(ctx.uow, client).client_timezone
    return f"Times are now shown to you in {zone}: it is {format_local(ctx.now, zone)} there."
