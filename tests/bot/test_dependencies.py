"""Declared dependencies do what they are declared for."""

from __future__ import annotations

import asyncio
import sys

import httpcore._synchronization as synchronization


def test_httpcore_finds_sniffio_instead_of_failing_an_import_on_every_lock() -> None:
    async def probe() -> str:
        return synchronization.current_async_library()

    assert asyncio.run(probe()) == "asyncio"
    assert "sniffio" in sys.modules  # found and kept: no failed import per lock
