"""The crisis answer always carries help: the coach's wording and phrases cannot take it away."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.models import Coach
from rules.templates import DEFAULT_CRISIS_TEXT
from tests.harness import Harness


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody, a coach, with one joined client, Alex (open door)."""
    harness = Harness(chat_engine, clock)
    harness.add_coach()
    harness.add_client("Alex", user_id="201")
    return harness


def stored(h: Harness) -> dict[str, object]:
    with Session(h.engine) as session:
        return dict(session.exec(select(Coach).where(Coach.key == "melody")).one().policy)


def test_urgent_text_without_the_crisis_placeholder_is_refused(h: Harness) -> None:
    said = h.say("melody", "/message urgent I'm sorry, I will call you tomorrow.")
    assert len(said) == 1
    assert said[0].startswith("/message: the urgent text must keep {crisis}")
    assert "urgent" not in stored(h).get("templates", {})


def test_urgent_text_with_the_crisis_placeholder_is_kept(h: Harness) -> None:
    said = h.say("melody", "/message urgent I'm so sorry. {crisis}")
    assert said[0].startswith("urgent set. A client would now get:\nI'm so sorry. ")
    assert stored(h)["templates"] == {"urgent": "I'm so sorry. {crisis}"}


@pytest.mark.parametrize("blank", ["\u200b", "\u200b \u2060", "\u200b\ufeff"])
def test_crisis_resources_cannot_be_emptied(h: Harness, blank: str) -> None:
    h.say("melody", "/crisis Call 999.")
    said = h.say("melody", f"/crisis {blank}")
    assert said == [
        "/crisis: the crisis resources cannot be empty (/crisis default); "
        "use /crisis Call 999 or Samaritans on 116 123, any time."
    ]
    assert stored(h)["crisis_text"] == "Call 999."


def test_crisis_default_restores_the_default_resources(h: Harness) -> None:
    h.say("melody", "/crisis Call 999.")
    said = h.say("melody", "/crisis default")
    assert said[0].startswith("Crisis resources back to the default.")
    assert stored(h)["crisis_text"] is None
    assert DEFAULT_CRISIS_TEXT in h.say("melody", "/crisis")[0]


def test_crisis_phrases_are_listed_added_and_removed(h: Harness) -> None:
    assert h.say("melody", "/crisis_phrases")[0].startswith("You have no crisis phrases")
    assert "Your crisis phrases: none (the built-in list only)" in h.say("melody", "/policy")[0]
    said = h.say("melody", "/crisis_phrases add  Drowning   IN it ")
    assert said == [
        "Crisis phrase added: 'drowning in it'. A message with it now gets the crisis answer."
    ]
    assert stored(h)["crisis_phrases"] == ["drowning in it"]
    listed = h.say("melody", "/crisis_phrases")[0]
    assert "- drowning in it" in listed
    policy = h.say("melody", "/policy")[0]
    assert "Your crisis phrases: “drowning in it” — /crisis_phrases" in policy
    said = h.say("melody", "/crisis_phrases remove drowning in it")
    assert said[0].startswith("Crisis phrase removed: 'drowning in it'.")
    assert stored(h)["crisis_phrases"] == []


def test_a_coach_phrase_makes_a_client_message_urgent(h: Harness) -> None:
    h.say("melody", "/crisis_phrases add drowning in it")
    said = h.say("alex", "Honestly I am drowning in it this week")
    assert any(DEFAULT_CRISIS_TEXT in text for text in said)
    assert any("URGENT" in text for text in h.inbox("melody"))


def test_a_duplicate_crisis_phrase_is_refused_in_one_line(h: Harness) -> None:
    h.say("melody", "/crisis_phrases add no way out")
    said = h.say("melody", "/crisis_phrases add No  way OUT!")
    assert len(said) == 1 and "is already a crisis phrase" in said[0]
    assert stored(h)["crisis_phrases"] == ["no way out"]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        ("add", "give a phrase of one or more words"),
        ("add !!!", "give a phrase of one or more words"),
        ("add " + "word " * 20, "a phrase is at most 60 characters"),
        ("remove never added", "'never added' is not one of your phrases"),
        ("drop this", "'drop' is not add or remove"),
    ],
)
def test_bad_crisis_phrase_commands_get_one_line(h: Harness, args: str, line: str) -> None:
    said = h.say("melody", f"/crisis_phrases {args}")
    assert len(said) == 1 and line in said[0]
    assert stored(h).get("crisis_phrases", []) == []
