"""The coach's own wording: `/message KEY text|default`, `/crisis text|default`, crisis phrases."""

from __future__ import annotations

from bot.service.commands.args import clean, coach_of, problem, rules_error, shown, split_first
from bot.service.commands.policy import set_field
from bot.service.commands.registry import CommandSet, Context, Role
from bot.service.commands.views import sample_contract
from bot.store.policy import coach_policy
from rules.classify import normalise
from rules.decide import preview
from rules.templates import TEMPLATES, crisis_resources, template_help, validate_template

COMMANDS = CommandSet()

MESSAGE_EXAMPLE = "/message digest Thanks, {coach} will read this tonight."
CRISIS_EXAMPLE = "/crisis Call 999 or Samaritans on 116 123, any time."
PHRASES_EXAMPLE = "/crisis_phrases add can't go on"
MAX_TEXT = 1500
MAX_PHRASE = 60
MAX_PHRASES = 50
DEFAULT = "default"
CRISIS_KEY = "urgent"  # the text a client in crisis gets: it must carry the resources


def visible(text: str) -> bool:
    """True when the text has something a reader sees (not only spaces or invisible marks)."""
    return any(
        ch.isprintable() and not ch.isspace() and ch not in "\u200b\u200c\u200d\u2060\ufeff"
        for ch in text
    )


@COMMANDS.add("message", roles={Role.COACH}, usage="/message KEY text|default")
def message(ctx: Context, args: str) -> str:
    """Your own wording for a text clients get; no arguments lists them and their placeholders."""
    policy = coach_policy(ctx.uow, coach_of(ctx))
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
        if key == CRISIS_KEY and "{crisis}" not in text:
            raise problem(
                "/message urgent I'm sorry you're struggling. {crisis}",
                "the urgent text must keep {crisis}, so a client in crisis always gets the "
                "resources",
            )
        try:
            validate_template(key, text)
        except ValueError as error:
            raise rules_error("message", error) from None
        templates[key] = text
    policy = set_field(ctx, "message", field="templates", value=templates)
    done = "back to the default" if text.lower() == DEFAULT else "set"
    sample = preview(sample_contract(policy), ctx.now)[key]
    return f"{key} {done}. A client would now get:\n{sample}"


@COMMANDS.add("crisis", roles={Role.COACH}, usage="/crisis text|default")
def crisis(ctx: Context, args: str) -> str:
    """The crisis resources a client gets at once when a message may signal a crisis."""
    text = clean(args)
    if not text:
        policy = coach_policy(ctx.uow, coach_of(ctx))
        return (
            f"Crisis resources sent to a client in crisis:\n{crisis_resources(policy)}\n\n"
            f"Change them like this: {CRISIS_EXAMPLE} (or /crisis default)"
        )
    if not visible(text):
        raise problem(CRISIS_EXAMPLE, "the crisis resources cannot be empty (/crisis default)")
    if len(text) > MAX_TEXT:
        raise problem(CRISIS_EXAMPLE, f"the text is longer than {MAX_TEXT} characters")
    value = None if text.lower() == DEFAULT else text
    policy = set_field(ctx, "crisis", field="crisis_text", value=value)
    sample = preview(sample_contract(policy), ctx.now)["urgent"]
    done = "back to the default" if value is None else "set"
    return f"Crisis resources {done}. A client in crisis now gets:\n{sample}"


@COMMANDS.add("crisis_phrases", roles={Role.COACH}, usage="/crisis_phrases [add|remove PHRASE]")
def crisis_phrases(ctx: Context, args: str) -> str:
    """Your own words that mark a message as a possible crisis, beside the built-in ones."""
    policy = coach_policy(ctx.uow, coach_of(ctx))
    action, rest = split_first(args)
    action = action.lower()
    phrases = list(policy.crisis_phrases)
    if not action:
        return _phrase_list(phrases)
    if action not in ("add", "remove"):
        raise problem(PHRASES_EXAMPLE, f"'{shown(action)}' is not add or remove")
    phrase = phrase_of(rest)
    key = normalise(phrase, keep_sentences=False)
    known = [normalise(p, keep_sentences=False) for p in phrases]
    if action == "add":
        if key in known:
            raise problem(PHRASES_EXAMPLE, f"'{shown(phrase)}' is already a crisis phrase")
        if len(phrases) >= MAX_PHRASES:
            raise problem(PHRASES_EXAMPLE, f"you have {MAX_PHRASES} phrases; remove one first")
        phrases.append(phrase)
        done = f"Crisis phrase added: '{phrase}'. A message with it now gets the crisis answer."
    else:
        if key not in known:
            raise problem(
                "/crisis_phrases remove PHRASE", f"'{shown(phrase)}' is not one of your phrases"
            )
        phrase = phrases.pop(known.index(key))
        done = f"Crisis phrase removed: '{phrase}'. The built-in phrases still apply."
    set_field(ctx, "crisis_phrases", field="crisis_phrases", value=tuple(phrases))
    return done


def phrase_of(text: str) -> str:
    """A crisis phrase as stored: lower case, single spaces, printable, bounded length."""
    phrase = " ".join("".join(ch for ch in clean(text) if ch.isprintable()).lower().split())
    if not normalise(phrase, keep_sentences=False):
        raise problem(PHRASES_EXAMPLE, "give a phrase of one or more words")
    if len(phrase) > MAX_PHRASE:
        raise problem(PHRASES_EXAMPLE, f"a phrase is at most {MAX_PHRASE} characters")
    return phrase


def _phrase_list(phrases: list[str]) -> str:
    if not phrases:
        head = "You have no crisis phrases of your own; the built-in ones always apply."
    else:
        head = "Your crisis phrases (beside the built-in ones):\n" + "\n".join(
            f"- {p}" for p in phrases
        )
    return f"{head}\nAdd or remove one like this: {PHRASES_EXAMPLE}"
