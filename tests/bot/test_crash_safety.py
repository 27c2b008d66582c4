"""SIGKILL the bot at random points: every committed message is handled and delivered once."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from bot.store.db import make_engine
from bot.store.models import Message, Outbox, ProcessedEvent, Timer
from tests.bot.factories import seed_practice

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 8
EVENTS = 120
ROUNDS = 5


def write_events(path: Path) -> None:
    """A stream of FYIs (acknowledged) and questions (acknowledged and forwarded)."""
    rng = random.Random(11)
    with path.open("w") as handle:
        for n in range(EVENTS):
            uid = str(200 + rng.randrange(CLIENTS))
            text = f"/ask question {n}" if n % 2 else f"/fyi update {n}"
            handle.write(
                json.dumps(
                    {
                        "platform": "telegram",
                        "user_id": uid,
                        "chat_id": uid,
                        "text": text,
                        "event_id": f"update-{n}",
                        "received_at": datetime.now(UTC).isoformat(),
                    }
                )
                + "\n"
            )


def seed_clients(url: str) -> None:
    """The coach comes from the child's config; the clients are already joined."""
    seed_practice(
        url,
        clients=CLIENTS,
        first_user_id=200,
        policy={"timezone": "Europe/London", "hours": "mon-sun 00:00-24:00"},
    )


def start_child(url: str, events: Path, folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bot.crash_child", url, str(events), str(folder)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def acked(folder: Path) -> int:
    path = folder / "ack"
    return int(path.read_text()) if path.exists() else 0


def kill_rounds(url: str, events: Path, folder: Path) -> list[int]:
    """Kill the child at random moments while it works; return the acks seen at each kill."""
    rng = random.Random(5)
    seen = []
    for _ in range(ROUNDS):
        child = start_child(url, events, folder)
        before = acked(folder)
        deadline = time.monotonic() + 30
        target = before + rng.randint(3, 15)  # kill somewhere after a few more messages
        while acked(folder) < target and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.01))
        child.send_signal(signal.SIGKILL)
        child.wait()
        seen.append(acked(folder))
    return seen


def test_killed_mid_stream_every_message_is_stored_decided_and_delivered_once(
    db_url: str, tmp_path: Path
) -> None:
    seed_clients(db_url)
    events = tmp_path / "events.jsonl"
    write_events(events)

    kills = kill_rounds(db_url, events, tmp_path)
    final = start_child(db_url, events, tmp_path)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err[-2000:]
    assert out.strip() == "done"

    assert kills[-1] < EVENTS, "the kills should land mid-stream"
    engine = make_engine(db_url)
    with Session(engine) as session:
        messages = session.exec(select(Message)).all()
        outbox = session.exec(select(Outbox)).all()
        events_seen = session.exec(select(ProcessedEvent)).all()
        timers = session.exec(select(Timer)).all()
    engine.dispose()
    assert len(events_seen) == EVENTS
    assert sorted(m.text for m in messages) == sorted(
        json.loads(line)["text"].split(" ", 1)[1] for line in events.read_text().splitlines()
    )
    assert Counter(m.decision for m in messages) == {"digest": EVENTS // 2, "forward": EVENTS // 2}
    assert [(r.idempotency_key, r.status, r.last_error) for r in outbox if r.status != "sent"] == []

    delivered = [
        json.loads(line)["key"] for line in (tmp_path / "delivered.jsonl").read_text().splitlines()
    ]
    assert len(delivered) == len(set(delivered)), "a message was delivered twice"
    # Every row went out once. Answers within a minute are folded and forwards bundled, so
    # there are fewer rows than messages: every forward reached the coach or waits in its
    # client's bundle timer, and every client who wrote was answered.
    assert set(delivered) == {r.idempotency_key for r in outbox}
    waiting = {m.client_id for m in messages if m.decision == "forward" and not m.delivered_at}
    assert waiting <= {t.client_id for t in timers if t.kind == "bundle" and t.status == "pending"}
    answered = {r.client_id for r in outbox if ":ack:" in r.idempotency_key}
    assert answered == {m.client_id for m in messages}
