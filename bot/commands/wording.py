"""The coach's own wording: `/message KEY text|default` and `/crisis text|default`."""

from __future__ import annotations

from bot.commands import REGISTRY
from bot.commands.args import clean, coach_of, problem, rules_error, shown, split_first
from bot.commands.policy import set_field
from bot.commands.registry import Context, Role
from bot.commands.views import coach_policy, sample_contract
from rules.decide import preview
from rules.templates import TEMPLATES, crisis_resources, template_help, validate_template

MESSAGE_EXAMPLE = "/message digest Thanks, {coach} will read this tonight."
CRISIS_EXAMPLE = "/crisis Call 999 or Samaritans on 116 123, any time."
MAX_TEXT = 1500
DEFAULT = "default"


@REGISTRY.add("message", roles={Role.COACH}, usage="/message KEY text|default")
def message(ctx: Context, args: str) -> str:
    """Your own wording for a text clients get; no arguments lists them and their placeholders."""
    policy = coach_policy(ctx.session, coach_of(ctx))
    key, text = split_first(args)
    if not key:
        return "The texts clients get (/message KEY text sets one):\n\n" + template_help(policy)
    key = key.lower()
    if key not in TEMPLATES:
        raise problem(MESSAGE_EXAMPLE, f"'{shown(key)}' is not a text; /message lists them")
    if not text:
        current = policy.templates.get(key, TEMPLATES[key].text)
        names = " ".join("{" + p + "}" for p in TEMPLATES[key].placeholders)
        return f"{key} now reads:\n{current}\n\nPlaceholders: {names}"
    templates = dict(policy.templates)
    if text.lower() == DEFAULT:
        templates.pop(key, None)
    else:
        text = clean(text)
        if len(text) > MAX_TEXT:
            raise problem(MESSAGE_EXAMPLE, f"the text is longer than {MAX_TEXT} characters")
        try:
            validate_template(key, text)
        except ValueError as error:
            raise rules_error("message", error) from None
        templates[key] = text
    policy = set_field(ctx, "message", "templates", templates)
    done = "back to the default" if text.lower() == DEFAULT else "set"
    sample = preview(sample_contract(policy), ctx.now)[key]
    return f"{key} {done}. A client would now get:\n{sample}"


@REGISTRY.add("crisis", roles={Role.COACH}, usage="/crisis text|default")
def crisis(ctx: Context, args: str) -> str:
    """The crisis resources a client gets at once when a message may signal a crisis."""
    text = clean(args)
    if not text:
        policy = coach_policy(ctx.session, coach_of(ctx))
        return (
            f"Crisis resources sent to a client in crisis:\n{crisis_resources(policy)}\n\n"
            f"Change them like this: {CRISIS_EXAMPLE} (or /crisis default)"
        )
    if len(text) > MAX_TEXT:
        raise problem(CRISIS_EXAMPLE, f"the text is longer than {MAX_TEXT} characters")
    value = None if text.lower() == DEFAULT else text
    policy = set_field(ctx, "crisis", "crisis_text", value)
    sample = preview(sample_contract(policy), ctx.now)["urgent"]
    done = "back to the default" if value is None else "set"
    return f"Crisis resources {done}. A client in crisis now gets:\n{sample}"
