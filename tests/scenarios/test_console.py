"""The console transport and the scripted demo, read as a newcomer would see them."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DatabaseSettings, Settings
from bot.console import run_console
from bot.demo import run_demo


def console(tmp_path: Path, script: str) -> str:
    """Run the console on a fresh SQLite file with `script` typed in; return the screen."""
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'console.db'}"))
    out = io.StringIO()
    run_console(settings, io.StringIO(script), stdout=out, files_dir=tmp_path / "files")
    return out.getvalue()


def invite_code(screen: str) -> str:
    match = re.search(r"Or send me: /start (\S+)", screen)
    assert match, screen
    return match.group(1)


def demo(files: Path) -> str:
    """The demo's transcript, with its files written to `files`."""
    out = io.StringIO()
    run_demo(out, files)
    return out.getvalue()


def test_demo_plays_a_scripted_week_as_a_readable_transcript(tmp_path: Path) -> None:
    screen = demo(tmp_path / "first")

    days = re.findall(r"^# (\w+day) \d+ Nov\b", screen, re.M)
    assert days == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Monday"]
    for seen in (
        # three clients, three contracts, three zones
        "Welcome, Alex!",
        "Welcome, Sam!",
        "Welcome, Lena!",
        "Times are now shown to you in America/New_York",
        "Times are now shown to you in Europe/Berlin",
        # the closure, and its notice reaching every client in their own zone
        "Closed: #1 2026-11-27 Training day.",
        "→ alex [#25]: Heads-up: Melody is away on Fri 27 Nov (Training day), "
        "back Mon 30 Nov, 09:00 GMT.",
        "→ sam [#26]: Heads-up: Melody is away on Fri 27 Nov London time (Training day), "
        "back Mon 30 Nov, 04:00 EST.",
        "→ lena [#27]: Heads-up: Melody is away on Fri 27 Nov London time (Training day), "
        "back Mon 30 Nov, 10:00 CET.",
        "Melody is away (Training day) until Mon 30 Nov, 10:00 CET",
        # open door: an update for the digest, which comes in the evening
        "Thanks — noted for Melody's daily round-up, no reply needed.",
        "Your daily digest · Mon 23 Nov, 18:00 GMT",
        # sessions only: a question is parked for the session, and the brief comes before it
        "I've saved this for your session on Thu 26 Nov, 15:00 CET.",
        "Before your session with Lena · Thu 26 Nov, 14:30 GMT",
        "Kept for this session (1):",
        # the weekly quota, which scheduling never uses up
        "You've reached this week's limit of messages that get a reply between sessions (2).",
        "→ coach [#23]: Sam · 2 more messages · reply by Thu 26 Nov, 10:00 GMT",  # one bundle
        # a crisis goes through at once, whatever the contract
        "🚨 URGENT — Alex",
        "Samaritans",
        # the reply promise: a reminder before it, the digest once it is broken
        "Reminder: Sam is waiting for a reply by Thu 26 Nov, 10:00 GMT",
        "Overdue replies (3)",
        "Sent to Sam. (3 waiting messages answered.)",
        # a former client's news
        "Thanks for the news — I've added it to Melody's daily round-up. No reply needed.",
        "Alex (former client) · 1 message",
        # billable time and the month's report
        "Logged 45 min for Sam: 45 min billable, 45.00 GBP.",
        "Since Lena joined: 2 messages — 1 question, 1 scheduling message.",
        "Report for November 2026",
    ):
        assert seen in screen, seen
    saved = re.search(r"\(file: report-2026-11\.png, \d+ kB, saved as (.+)\)", screen)
    assert saved, screen
    picture = Path(saved.group(1))
    assert picture.parent == tmp_path / "first"
    assert picture.read_bytes().startswith(b"\x89PNG")
    assert f"# The report's picture is in {tmp_path / 'first'}" in screen
    # every line was understood: no usage hints, no invite code missed
    assert "; use /" not in screen and "missing-code" not in screen


def test_demo_is_the_same_every_time(tmp_path: Path) -> None:
    def steady(screen: str, files: Path) -> str:
        codes = re.findall(r"Or send me: /start (\S+)", screen)
        assert len(codes) == 3
        for number, code in enumerate(codes):
            screen = screen.replace(code, f"CODE{number}")
        return screen.replace(str(files), "FILES")

    first, second = tmp_path / "a", tmp_path / "b"
    assert steady(demo(first), first) == steady(demo(second), second)


def test_the_readme_demo_command_writes_the_picture_into_the_current_folder(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "demo"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "saved as boundarybot-demo-files/" in done.stdout
    pictures = list((tmp_path / "boundarybot-demo-files").glob("*-report-2026-11.png"))
    assert len(pictures) == 1 and pictures[0].read_bytes().startswith(b"\x89PNG")


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

    assert "→ bob [#2]: Hello! I pass messages between coaches and their clients." in screen
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
    assert "(it is now Tue 8 Jan 2030, 09:00 GMT)" in screen
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


def test_a_long_clock_move_sends_each_thing_at_its_own_time(tmp_path: Path) -> None:
    """`:time +3d` is three days of a live bot: digests at 18:00, a reminder before the promise."""
    first = console(tmp_path, ":time 2030-01-07 08:00\ncoach: /invite Alex open_door\n")
    code = invite_code(first)

    screen = console(
        tmp_path,
        f":time 2030-01-07 08:30\nalex: /start {code}\n"
        "alex: I ran 5k\nalex: 1\n"  # an update for Monday's digest
        ":time 2030-01-07 10:00\nalex: /ask can we move Thursday?\n"  # 24 open hours: Thu 10:00
        ":time +3d\n",
    )

    # Monday's digest went out at 18:00 on Monday, printed under that time, with the update
    monday = screen.index("  (Mon 7 Jan 2030, 18:00 GMT)\n")
    assert screen[monday:].split("\n")[1].endswith("Your daily digest · Mon 7 Jan, 18:00 GMT")
    assert "I ran 5k" in screen[monday:]
    # the reminder came an hour before the promise, not after it
    reminder = screen.index("Reminder: Alex is waiting for a reply by Thu 10 Jan, 10:00 GMT")
    assert screen.rindex("  (Thu 10 Jan 2030, 09:00 GMT)\n", 0, reminder) > monday
    # and each working day had its own evening digest, none at the moment the move ended
    assert "Your daily digest · Tue 8 Jan, 18:00 GMT" in screen
    assert "Your daily digest · Wed 9 Jan, 18:00 GMT" in screen
    assert "digest · Thu 10 Jan, 10:00" not in screen
    assert screen.rstrip("> \n").endswith("(it is now Thu 10 Jan 2030, 10:00 GMT)")
