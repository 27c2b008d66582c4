"""A client's data rights, for the coach to carry out: `/export Alex` and `/forget Alex confirm`."""

from __future__ import annotations

from bot.service.commands.args import coach_of, find_client, problem, split_first
from bot.service.commands.registry import CommandSet, Context, Document, Reply, Role
from bot.service.privacy import (
    HASH_KEY,
    client_data,
    export_filename,
    export_json,
    forget,
    hash_key,
)

COMMANDS = CommandSet()

EXPORT_EXAMPLE = "/export Alex"
FORGET_EXAMPLE = "/forget Alex confirm"
CONFIRM = "confirm"


@COMMANDS.add("export", roles={Role.COACH}, usage=EXPORT_EXAMPLE)
def export(ctx: Context, args: str) -> Reply:
    """Everything stored about a client, as one JSON file (for their access request)."""
    name, _ = split_first(args)
    client = find_client(ctx, name, example=EXPORT_EXAMPLE)
    data = client_data(ctx.uow, client)
    content = export_json(data, coach=coach_of(ctx), now=ctx.now)
    filename = export_filename(client)
    return Reply(
        f"Everything stored about {client.name}: {data.counts()}. It is all in {filename}.",
        documents=(Document(filename, content, "application/json"),),
    )


@COMMANDS.add("forget", roles={Role.COACH}, usage=FORGET_EXAMPLE)
def forget_client(ctx: Context, args: str) -> str:
    """Erase a client and everything stored about them; it cannot be undone."""
    name, rest = split_first(args)
    client = find_client(ctx, name, example=FORGET_EXAMPLE)
    data = client_data(ctx.uow, client)
    if not rest:
        return (
            f"This erases {client.name} and everything stored about them ({data.counts()}) "
            f"for good. To go ahead: /forget {client.name} confirm"
        )
    if rest.strip().lower() != CONFIRM:
        raise problem(FORGET_EXAMPLE, f"add the word {CONFIRM} to erase {client.name}")
    key = hash_key(ctx.uow, ctx.services.get(HASH_KEY))
    forget(ctx.uow, coach_of(ctx), data=data, key=key)
    # no name here: this answer is kept like any other, and nothing may name them now
    return "Done: that client and everything stored about them are erased."
