"""What a client message is: its kind (by command or contract) and whether it signals a crisis."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from functools import lru_cache

from rules.contract import Kind

_COMMAND_KINDS = {
    "fyi": Kind.FYI,
    "ask": Kind.QUESTION,
    "reschedule": Kind.SCHEDULING,
    "goals": Kind.GOALS,
}

# Phrases are matched as whole words on normalised text (see `normalise`). A few carry a
# guard so everyday idioms do not trip them ("I can't go on holiday", "cut myself shaving").
# A false alarm costs the client one caring message; a miss can cost far more, so when in
# doubt a phrase stays in.
_EVERYDAY = r"(?! (?:in|with|at|near|there|here|abroad|alone|on|by|early|before))"
_ACCIDENT = (
    r"(?! (?:at|on(?! purpose)|in|while|during|playing|running|lifting|training|shaving"
    r"|cooking|skiing|cycling|falling|by accident|accidentally|badly|slightly|a bit))"
)
CRISIS_PATTERNS: tuple[str, ...] = (
    r"suicide",
    r"suicidal",
    r"(?:kill|killing) my ?self",
    r"(?:end|ending|take|taking) my (?:own )?life",
    r"end(?:ing)? it all",
    r"(?:want|wanted|wanting|wanna|ready) (?:to )?die",
    r"(?:want|wanna|wish) to be dead",
    r"wish i (?:was|were) dead",
    r"better off dead",
    r"better off without me",
    r"(?:dont|do not|no longer) want to (?:live|be alive|exist|wake up)" + _EVERYDAY,
    r"(?:dont|do not) want to be here any ?more",
    r"no (?:reason|point) (?:to|in) (?:live|living|going on)",
    r"nothing (?:left )?to live for",
    r"self ?harm(?:ing|ed)?",
    r"(?:hurting|harming|cutting) my ?self",
    r"to (?:hurt|harm|cut) my ?self",
    r"(?:hurt|harm|cut) my ?self" + _ACCIDENT,
    r"(?:slit|cut|cutting) my wrists?",
    r"(?:hang|hanging) my ?self",
    r"overdos(?:e|ed|ing)",
    r"(?:take|taking|took|swallow|swallowed) all (?:of )?(?:the |my )?(?:pills|tablets)",
    r"(?:cant|cannot|can not) (?:go on|carry on)(?= \.| like this| anymore| any more|$)",
    r"(?:cant|cannot|can not) (?:go on|keep) living",
    r"(?:cant|cannot|can not) take (?:it|this) any ?more",
    r"(?:im|i am) not safe",
)

_APOSTROPHES = "'’‘ʼ`"
_SENTENCE_ENDS = ".!?;\n…"
_OTHER_MARKS = "".join(
    c for c in string.punctuation + "–—‐‑‒―“”«»‹›•·¡¿" if c not in _APOSTROPHES + _SENTENCE_ENDS
)


def _table(sentence_end: str) -> dict[int, str | None]:
    """A str.translate table: apostrophes vanish, sentence ends and other marks become spaces."""
    table: dict[int, str | None] = {ord(c): None for c in _APOSTROPHES}
    table.update({ord(c): sentence_end for c in _SENTENCE_ENDS})
    table.update({ord(c): " " for c in _OTHER_MARKS})
    return table


_KEEP_SENTENCES = _table(" . ")
_NO_SENTENCES = _table(" ")
_NOT_WORD = re.compile(r"[^\w. ]+|_+")  # what the tables miss in non-ASCII text


def kind_for_command(name: str) -> Kind | None:
    """The kind a client command picks (`/fyi`, `/ask`, `/reschedule`, `/goals`), else None."""
    return _COMMAND_KINDS.get(name.strip().lstrip("/").lower())


def normalise(text: str, *, keep_sentences: bool = True) -> str:
    """Lower-case words separated by single spaces; sentence ends become ` .` when kept."""
    text = text.lower().translate(_KEEP_SENTENCES if keep_sentences else _NO_SENTENCES)
    if not text.isascii():
        text = _NOT_WORD.sub(" ", text)
    return " ".join(text.split())


def _whole_words(alternatives: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any alternative as whole words."""
    body = "|".join(f"(?:{alt})" for alt in alternatives)
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])")


_CRISIS = _whole_words(CRISIS_PATTERNS)


@lru_cache(maxsize=256)
def _coach_phrases(phrases: tuple[str, ...]) -> re.Pattern[str] | None:
    """The coach's own crisis phrases as one whole-word regex (None when there are none)."""
    words = [normalise(p, keep_sentences=False) for p in phrases]
    words = [re.escape(w) for w in words if w]
    return _whole_words(words) if words else None


def is_crisis(text: str, extra_phrases: Iterable[str] = ()) -> bool:
    """True when the text signals crisis or self-harm (built-in phrases plus the coach's)."""
    if not text:
        return False
    clean = normalise(text)
    if _CRISIS.search(clean):
        return True
    extra = _coach_phrases(tuple(extra_phrases))
    return extra is not None and extra.search(clean.replace(" .", "")) is not None
