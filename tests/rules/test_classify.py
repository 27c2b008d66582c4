"""Kinds by command and contract, and crisis detection, as a client would write them."""

from __future__ import annotations

import pytest

from rules.classify import is_crisis, kind_for_command, normalise
from rules.contract import Kind


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("fyi", Kind.FYI),
        ("ask", Kind.QUESTION),
        ("reschedule", Kind.SCHEDULING),
        ("goals", Kind.GOALS),
        ("/FYI", Kind.FYI),
        (" Ask ", Kind.QUESTION),
    ],
)
def test_client_commands_pick_their_kind(command: str, kind: Kind) -> None:
    assert kind_for_command(command) is kind


@pytest.mark.parametrize("command", ["hours", "start", "question", "", "fyi2"])
def test_other_commands_pick_no_kind(command: str) -> None:
    assert kind_for_command(command) is None


def test_normalising_drops_case_apostrophes_and_punctuation() -> None:
    assert normalise("  I CAN’T   go-on,\tRight?? ") == "i cant go on right . ."
    assert normalise("Self-harm!", keep_sentences=False) == "self harm"


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "i've been thinking about SUICIDE",
        "Feeling suicidal tonight.",
        "I just want to end my life",
        "I want to die",
        "self harm again",
        "The self-harm started again",
        "I keep hurting myself",
        "I hurt myself on purpose last night",
        "I've started cutting myself",
        "thinking of taking an overdose",
        "there's no reason to live",
        "Everyone would be better off dead... I mean me",
        "I want to take my own life",
        "I can't go on",
        "I can’t go on like this.",
        "I cant go on. Please help",
        "I cannot take it anymore",
        "I don't want to live anymore",
        "nothing left to live for",
        "   KILL   MY SELF   ",
    ],
)
def test_crisis_phrases_are_recognised(text: str) -> None:
    assert is_crisis(text)


@pytest.mark.parametrize(
    "text",
    [
        "This deadline is killing me",
        "I'm a die-hard fan of the method",
        "I'd kill for a coffee right now",
        "dead tired after the workshop",
        "I'm dying to tell you about the new job!",
        "I can't go on holiday this year",
        "I can't go on Thursday, can we move it?",
        "I hurt myself at the gym",
        "cut myself shaving, ha",
        "I don't want to live in London any more",
        "the battery died",
        "",
    ],
)
def test_everyday_phrases_are_not_a_crisis(text: str) -> None:
    assert not is_crisis(text)


def test_coach_phrases_count_whatever_the_case_and_punctuation() -> None:
    phrases = ["Hopeless", "give up on everything"]
    assert is_crisis("Feeling HOPELESS!!", phrases)
    assert is_crisis("I want to give up... on everything", phrases)
    assert not is_crisis("Feeling hope-less", phrases)
    assert not is_crisis("hopelessly optimistic", phrases)


def test_blank_coach_phrases_match_nothing() -> None:
    assert not is_crisis("an ordinary update", ["", "  ", "!!"])
