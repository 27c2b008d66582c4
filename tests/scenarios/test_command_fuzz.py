"""Random commands from a coach, a client and a stranger: never an exception, one answer each."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from bot.app import build_commands
from bot.clock import ManualClock
from bot.service.dispatch import STRANGER_WINDOW
from tests.harness import Harness

COMMANDS = build_commands()


#: Text people might type: anything but NUL and lone surrogates, which no platform delivers.
TYPED = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
WORDS = st.sampled_from(
    [
        "Alex",
        "alex",
        "Alx",
        "Jo",
        "none",
        "off",
        "default",
        "2026-12-03",
        "2026-02-30",
        "2020-01-01",
        "9999-12-31",
        "10:00",
        "24:00",
        "20m",
        "1h30m",
        "90",
        "0",
        "-1",
        "1e9",
        "NaN",
        "Infinity",
        "GB",
        "GB-SCT",
        "Europe/London",
        "Etc/GMT+14",
        "open_door",
        "goals,scheduling",
        "mon-fri",
        "09:00-17:00",
        "fri 22:00-02:00",
        "{coach}",
        "{",
        "}}",
        "forward",
        "urgent",
        "24h",
        "2d",
        "#1",
        '"',
        "'",
        ";",
        "\n",
    ]
)
ARGS = st.lists(st.one_of(WORDS, st.text(TYPED, max_size=12)), max_size=5).map(" ".join)
NAMES = st.one_of(st.sampled_from(sorted(COMMANDS.names())), st.text(TYPED, min_size=1, max_size=8))
#: More examples for a deeper run: BOUNDARYBOT_FUZZ_EXAMPLES=5000 pytest tests/scenarios/...
EXAMPLES = int(os.environ.get("BOUNDARYBOT_FUZZ_EXAMPLES", "200"))
WHO = st.sampled_from(["melody", "alex", "stranger"])


def test_any_command_gets_exactly_one_answer_and_never_an_exception(
    engine: Engine, clock: ManualClock
) -> None:
    h = Harness(engine, clock)  # one chat for every example: state builds up, as in life
    h.add_coach()
    h.add_client("Alex", user_id="201")

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(who=WHO, name=NAMES, args=ARGS)
    def one_command(who: str, name: str, args: str) -> None:
        clock.advance(STRANGER_WINDOW)  # the same answer is said once a window (dispatch)
        said = h.say(who, f"/{name} {args}")
        assert len(said) == 1, said
        assert said[0].strip()
        for person in ("melody", "alex"):  # side effects on others are not answers
            h.inbox(person)

    one_command()
