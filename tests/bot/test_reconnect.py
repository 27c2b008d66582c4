"""PostgreSQL drops the bot's connections (a restart, a failover): nothing is lost, though no
statement is spent checking a connection before each message (no pre-ping)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.db import make_engine, unreachable
from bot.store.models import Message
from tests.harness import Harness


def drop_the_bots_connections(engine: Engine) -> None:
    """What a server restart does to the pool's connections: they are gone under it."""
    side = make_engine(engine.url.render_as_string(hide_password=False))
    with side.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        conn.commit()
    side.dispose()


def test_a_message_after_the_server_dropped_the_connections_is_kept_once(
    engine: Engine, clock: ManualClock
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a PostgreSQL server dropping connections")
    h = Harness(engine, clock)
    h.add_coach()
    h.add_client("Alex", user_id="201")
    h.say("alex", "/fyi before")
    drop_the_bots_connections(engine)

    failures = 0
    for _ in range(3):  # the platform delivers again what was not kept
        try:
            h.say("alex", "/fyi after")
            break
        except Exception as error:
            assert unreachable(error), error
            failures += 1
    assert failures <= 1  # one message meets the dead connection; the pool starts afresh
    with Session(engine) as session:
        texts = [m.text for m in session.exec(select(Message)).all()]
    assert texts == ["before", "after"]
