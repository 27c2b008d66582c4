"""The console transport and the scripted demo, read as a newcomer would see them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from bot.config import DatabaseSettings, Settings
from bot.console_main import run_console
from bot.demo import run_demo


def console(tmp_path: Path, script: str) -> str:
    """Run the console on a fresh SQLite file with `script` typed in; return the screen."""
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'console.db'}"))
    out = io.StringIO()
    run_console(settings, io.StringIO(script), out, files_dir=tmp_path / "files")
    return out.getvalue()


def invite_code(screen: str) -> str:
    match = re.search(r"Or send me: /start (\S+)", screen)
    assert match, screen
    return match.group(1)


def test_demo_plays_a_whole_day_as_a_readable_transcript() -> None:
    out = io.StringIO()

    run_demo(out)

    screen = out.getvalue()
    for line in (
        "coach: /invite Alex open_door",
        "Welcome, Alex!",
        "Thanks — noted for Melody's daily round-up, no reply needed.",
        "[1] Just an update",
        "Your daily digest · Mon 23 Nov, 18:00 GMT",
        "Melody is out of the office until Tue 24 Nov, 09:00 GMT",
        "Got it — saved for when Melody is back",
        "Alex · 2 messages while you were closed",
        "Melody: Friday 10:00 works — and yes, bring the journal.",
        "🚨 URGENT — Alex",
        "Samaritans",
        "Attached: voice note — /show",
    ):
        assert line in screen, line


def test_with_no_configuration_the_console_has_a_sample_coach_and_strangers_can_join(
    tmp_path: Path,
) -> None:
    first = console(tmp_path, "coach: /invite Alex open_door\n:quit\n")
    assert "Coaches: coach." in first
    code = invite_code(first)

    screen = console(
        tmp_path,
        f"bob: hello\nalex: /start {code}\nalex: I had a breakthrough\nalex: 1\n:quit\n",
    )

    assert "→ bob: Hello! I pass messages between coaches and their clients." in screen
    assert "Welcome, Alex!" in screen
    assert "[2] Needs a reply" in screen
    assert "Thanks — noted for Melody's daily round-up, no reply needed." in screen


def test_moving_the_clock_fires_what_came_due_and_the_coach_replies_by_number(
    tmp_path: Path,
) -> None:
    first = console(tmp_path, ":time 2030-01-07 19:00\ncoach: /invite Alex open_door\n")
    code = invite_code(first)

    screen = console(
        tmp_path,
        ":time 2030-01-07 20:00\n"  # a Monday evening: closed
        f"alex: /start {code}\n"
        "alex: /ask can we move Thursday?\n"
        ":time 2030-01-08 09:00\n",
    )

    released = re.search(r"→ coach \[#(\d+)\]: Alex · 1 message while you were closed", screen)
    assert released, screen
    assert int(released.group(1)) > 1, "numbers continue from the earlier session"
    assert "(it is now Tue 08 Jan 2030, 09:00 GMT)" in screen
    reply = console(tmp_path, f":time 2030-01-08 09:05\ncoach: >{released.group(1)} Friday works\n")
    assert "→ alex [#" in reply and "Melody: Friday works" in reply
    assert "Sent to Alex. (1 waiting message answered.)" in reply


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("no colon here", "(type `name: text`, or :help)"),
        (":time next tuesday", "(:time needs +30m, +3h, +2d, mon 09:00"),
        (":time 2020-01-01 09:00", "the clock only goes forward"),
        (":help", "Type lines as `name: text`"),
    ],
)
def test_console_explains_lines_it_cannot_use(tmp_path: Path, line: str, answer: str) -> None:
    assert answer in console(tmp_path, line + "\n")
