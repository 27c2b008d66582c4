"""Strangers get the polite join line for anything they send; nothing of theirs is stored."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.models import Message
from rules.lines import STRANGER_LINE
from tests.harness import Harness


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    harness = Harness(chat_engine, clock)
    harness.add_coach()
    return harness


@pytest.mark.parametrize(
    "text",
    ["/ask hi", "/fyi news", "/hours", "/timezone Europe/Paris", "/policy", "/quota Alex 3",
     "/report", "/nosuch", "hello"],
)  # fmt: skip
def test_a_stranger_gets_the_join_line_for_any_command(h: Harness, text: str) -> None:
    assert h.say("stranger", text) == [STRANGER_LINE]
    with Session(h.engine) as session:
        assert session.exec(select(Message)).all() == []


def test_a_stranger_is_never_told_a_command_is_for_coaches(h: Harness) -> None:
    assert "coaches." not in " ".join(h.say("stranger", "/billing 5 60 GBP"))
