"""A bot process for the crash test, run as `python -m tests.bot.crash_child DB EVENTS DIR`.

It plays a platform that redelivers until acknowledged: events come from a JSONL file and the
acknowledged offset is written only after the Dispatcher committed. Deliveries go to a JSONL
file through a transport that, like a platform with idempotency keys, remembers the keys it has
delivered across restarts. The parent kills this process with SIGKILL at random points.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from bot.app import build_app
from bot.config import CoachSettings, DatabaseSettings, Settings
from bot.delivery.worker import OutboxOptions
from bot.messages import Inbound, Outgoing
from bot.store.models import Outbox

LEASE_SECONDS = 2.0
COACH = CoachSettings(
    key="melody",
    name="Melody",
    telegram_user_id="100",
    timezone="Europe/London",
    hours="mon-sun 00:00-24:00",
    reply_within="24h",
)


class FileTransport:
    """Appends every delivery to a file (fsynced) and drops a key it has delivered before."""

    platform = "telegram"
    max_per_second = 100_000.0

    def __init__(self, folder: Path) -> None:
        self.delivered = folder / "delivered.jsonl"
        self.attempts = folder / "attempts.jsonl"
        self.keys: dict[str, str] = {}
        if self.delivered.exists():
            for line in self.delivered.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.keys[row["key"]] = row["id"]

    async def send(self, message: Outgoing) -> str:
        """Deliver once per idempotency key."""
        _append(self.attempts, {"key": message.idempotency_key})
        if message.idempotency_key in self.keys:
            return self.keys[message.idempotency_key]
        message_id = str(len(self.keys) + 1)
        _append(
            self.delivered,
            {"key": message.idempotency_key, "id": message_id, "chat": message.chat_id},
        )
        self.keys[message.idempotency_key] = message_id
        return message_id


def _pending(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
        ).one()


def _append(path: Path, row: dict[str, str]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(row) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _ack(path: Path, offset: int) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(offset))
    os.replace(tmp, path)


async def main(url: str, events_path: Path, folder: Path) -> None:
    """Handle every unacknowledged event, then deliver everything."""
    settings = Settings(database=DatabaseSettings(url=url), coaches=(COACH,))
    app = build_app(
        settings,
        transports={"telegram": FileTransport(folder)},
        outbox=OutboxOptions(per_chat_interval=0, lease_seconds=LEASE_SECONDS),
    )
    ack_path = folder / "ack"
    start = int(ack_path.read_text()) if ack_path.exists() else 0
    events = events_path.read_text().splitlines()
    for offset in range(start, len(events)):
        raw = json.loads(events[offset])
        raw["received_at"] = datetime.fromisoformat(raw["received_at"])
        app.dispatcher.handle(Inbound(**raw))
        _ack(ack_path, offset + 1)
        await app.outbox.deliver_due()
    # Rows a killed worker had claimed come free when its lease runs out: wait for them.
    deadline = time.monotonic() + 10 * LEASE_SECONDS
    while _pending(app.engine) and time.monotonic() < deadline:
        if not await app.outbox.deliver_due():
            await asyncio.sleep(0.1)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
