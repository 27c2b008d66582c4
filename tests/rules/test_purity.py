"""rules/ stays pure: no framework, storage or asyncio on import, and no reading the clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "rules"
FORBIDDEN_MODULES = (
    "sqlmodel",
    "sqlalchemy",
    "telegram",
    "slack_bolt",
    "slack_sdk",
    "asyncio",
    "bot",
)
CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("datetime", "today"),
}
CLOCK_CALLS |= {("time", "time"), ("time", "monotonic"), ("time", "perf_counter")}


def test_importing_rules_pulls_in_no_framework_storage_or_asyncio() -> None:
    script = (
        "import rules, rules.calendar, rules.contract, rules.decide, rules.classify, "
        "rules.templates, rules.texts, sys; "
        f"print(','.join(m for m in {FORBIDDEN_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=RULES.parent
    )
    assert result.stdout.strip() == ""


def _clock_calls(path: Path) -> list[str]:
    """`file:line name.attr` for every call that reads the clock in one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if (owner_name, node.func.attr) in CLOCK_CALLS:
            found.append(f"{path.name}:{node.lineno} {owner_name}.{node.func.attr}")
    return found


def test_no_rules_module_reads_the_clock() -> None:
    sources = sorted(RULES.glob("*.py"))
    assert sources
    assert [call for path in sources for call in _clock_calls(path)] == []


def test_the_clock_check_catches_a_clock_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import datetime, time\nfrom datetime import date\n"
        "a = datetime.datetime.now()\nb = date.today()\nc = time.time()\n"
    )
    assert _clock_calls(sample) == [
        "sample.py:3 datetime.now",
        "sample.py:4 date.today",
        "sample.py:5 time.time",
    ]
