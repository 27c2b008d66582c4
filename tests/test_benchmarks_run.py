"""Each benchmark the README lists runs: the paired ones with `--quick`, as the README says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
QUICK = ("bench_digest", "bench_scheduler", "bench_pipeline")  # bench_telegram: 12 s more


@pytest.mark.parametrize("name", QUICK)
def test_a_readme_benchmark_runs_quick(name: str) -> None:
    line = f".venv/bin/python -m tests.bench.{name}"
    assert re.search(rf"{re.escape(line)}$", README.read_text(encoding="utf-8"), re.M)
    done = subprocess.run(
        [sys.executable, "-m", f"tests.bench.{name}", "--quick"],
        capture_output=True,
        text=True,
        cwd=README.parent,
        timeout=300,
        env={"PATH": "/usr/bin:/bin"},  # no BOUNDARYBOT_BENCH_DATABASE_URL: SQLite only
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ratio" in done.stdout or "ms/tick" in done.stdout, done.stdout[-2000:]
