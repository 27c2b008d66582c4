"""The README's commands, run exactly as a person would type them."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.clock import ManualClock
from bot.config import DatabaseSettings, Settings
from bot.console import run_console

README = Path(__file__).resolve().parents[1] / "README.md"
CODE_PLACEHOLDER = "<the code from the invite>"


def walkthrough() -> list[str]:
    """The lines of the README's console walkthrough, without the `> ` prompt."""
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- console-walkthrough -->", 1)[1].split("```", 2)[1]
    return [line.removeprefix("> ") for line in block.strip().splitlines()]


class Typist(io.StringIO):
    """Types the walkthrough, filling in the invite code from what the screen shows."""

    def __init__(self, lines: list[str], screen: io.StringIO) -> None:
        super().__init__()
        self.lines = list(lines)
        self.screen = screen

    def readline(self, size: int | None = -1) -> str:
        if not self.lines:
            return ""
        line = self.lines.pop(0)
        if CODE_PLACEHOLDER in line:
            code = re.findall(r"Or send me: /start (\S+)", self.screen.getvalue())[-1]
            line = line.replace(CODE_PLACEHOLDER, code)
        return line + "\n"


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 12, 2, 15, 40, tzinfo=UTC),  # a Wednesday afternoon
        datetime(2026, 12, 4, 20, 0, tzinfo=UTC),  # a Friday night
        datetime(2026, 12, 7, 7, 30, tzinfo=UTC),  # a Monday before opening
        datetime(2027, 3, 27, 12, 0, tzinfo=UTC),  # the Saturday before British Summer Time
    ],
)
def test_the_readme_walkthrough_works_verbatim_on_any_day(tmp_path: Path, start: datetime) -> None:
    settings = Settings(database=DatabaseSettings(url=f"sqlite:///{tmp_path / 'c.db'}"))
    screen = io.StringIO()
    lines = walkthrough()

    run_console(
        settings, Typist(lines, screen), stdout=screen, files_dir=tmp_path, clock=ManualClock(start)
    )

    shown = screen.getvalue()
    reply = re.search(r">(\d+) ", lines[-1])
    assert reply is not None
    number = reply.group(1)
    assert f"→ coach [#{number}]: Alex · 1 message while you were closed" in shown, shown
    assert "can we move Thursday?" in shown
    assert "→ alex [#9]: Melody: of course — Friday 10:00?" in shown, shown
    assert "→ coach [#6]: Your daily digest" in shown, shown


def test_run_with_config_after_the_command_starts_the_console(tmp_path: Path) -> None:
    config = tmp_path / "boundarybot.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "b.db"}"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", "run", "--config", str(config)],
        input=":quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "boundarybot console" in done.stdout


def test_version_and_help_answer(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as version:
        main(["--version"])
    assert version.value.code == 0
    assert re.match(r"boundarybot \d+\.\d+", capsys.readouterr().out)
    for command in ("run", "console", "demo", "migrate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "--config" in capsys.readouterr().out, command


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--config", str(tmp_path / "nope.toml")])
    assert "not found" in str(stopped.value.code)


def test_the_readme_urgent_benchmark_runs_as_written() -> None:
    """The fast benchmark the README lists, typed as it says (the others take minutes)."""
    line = ".venv/bin/python -m tests.bench.bench_urgent"
    assert line in README.read_text(encoding="utf-8")
    done = subprocess.run(
        [sys.executable, *line.split()[1:]],
        capture_output=True,
        text=True,
        cwd=README.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "sooner with the lane" in done.stdout
