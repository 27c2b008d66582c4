"""A client's data rights: `/export` sends everything in one JSON file, `/forget` leaves nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, String, Text, inspect
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col, select

from bot.clock import ManualClock
from bot.config import ConfigError, Secret, load_settings
from bot.messages import Attachment
from bot.service.privacy import hash_key, who_hash
from bot.store.models import Client, Document, FailedJoin, Outbox
from bot.store.unit import UnitOfWork
from tests.harness import Harness

ALEX_ID, SAM_ID = "770011", "880022"  # distinctive: a scan for them finds only them
POLICY = {"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00", "reply_within": "24h"}


@pytest.fixture
def chat(engine: Engine, clock: ManualClock) -> Harness:
    """Melody with Alex and Sam; Alex has written, been answered, logged, exported, reported."""
    h = Harness(engine, clock)
    h.add_coach(policy=POLICY)
    h.add_client("Alex", user_id=ALEX_ID)
    h.add_client("Sam", user_id=SAM_ID)
    h.say("melody", "/billing 5 60 GBP")
    h.say("alex", "/ask Can we move Thursday?")
    h.say("alex", "/fyi Ran 5k!", attachments=(Attachment("photo", "file-abc"),))
    h.say("sam", "/fyi Sam's own news")
    clock.advance(timedelta(hours=2))
    h.say("melody", "/reply Alex Sure, Friday works")
    h.say("melody", "/log Alex 20m call notes")
    h.say("melody", "/show 2")
    h.say("melody", "/invite Alex")  # a second account for Alex: an invite naming them
    h.say("melody", "/report")
    with Session(engine) as session:
        session.add(FailedJoin(who_hash=alex_hash(session), at=clock.now()))
        session.commit()
    return h


def alex_hash(session: Session) -> str:
    """How Alex's Telegram account is hashed (with the key made at first use)."""
    return who_hash(hash_key(UnitOfWork(session)), "telegram", user_id=ALEX_ID)


def documents_sent(h: Harness, who: str) -> list[Document]:
    """The files attached to what `who` was sent, in order."""
    with Session(h.engine) as session:
        ids = [i for row in h.rows(who) for i in row.payload.get("documents", [])]
        return [session.get(Document, i) for i in ids if session.get(Document, i)]  # type: ignore[misc]


def test_export_sends_one_json_file_with_everything_stored_about_the_client(
    chat: Harness,
) -> None:
    [answer] = chat.say("melody", "/export Alex")
    assert answer == (
        "Everything stored about Alex: 2 messages, 1 reply promise, 1 time entry, "
        "1 chat account, 1 invite, 5 bot messages, 1 timer. It is all in alex-export.json."
    )
    export = documents_sent(chat, "melody")[-1]
    assert (export.filename, export.mime_type) == ("alex-export.json", "application/json")
    data = json.loads(export.content)
    assert data["client"]["name"] == "Alex" and data["coach"] == "Melody"
    assert [i["user_id"] for i in data["identities"]] == [ALEX_ID]
    assert [m["text"] for m in data["messages"]] == ["Can we move Thursday?", "Ran 5k!"]
    assert data["messages"][1]["attachments"][0]["file_id"] == "file-abc"
    assert data["promises"][0]["on_time"] is True
    assert data["time_entries"][0] == data["time_entries"][0] | {
        "minutes": 20,
        "billable_minutes": 30,
        "amount": "30.00",
        "currency": "GBP",
        "note": "call notes",
    }
    assert {row["chat_id"] for row in data["outbox"]} == {ALEX_ID}
    assert "Melody: Sure, Friday works" in [row["text"] for row in data["outbox"]]
    assert [i["client_name"] for i in data["invites"]] == ["Alex"]
    assert "code_hash" not in data["invites"][0]
    assert "Sam's own news" not in export.content.decode()


def test_forget_without_confirm_says_what_goes_and_erases_nothing(chat: Harness) -> None:
    [answer] = chat.say("melody", "/forget Alex")
    assert answer == (
        "This erases Alex and everything stored about them (2 messages, 1 reply promise, "
        "1 time entry, 1 chat account, 1 invite, 5 bot messages, 1 timer) for good. "
        "To go ahead: /forget Alex confirm"
    )
    assert chat.say("melody", "/forget Alex please") == [
        "/forget: add the word confirm to erase Alex; use /forget Alex confirm"
    ]
    with Session(chat.engine) as session:
        assert session.exec(select(Client).where(Client.name == "Alex")).first() is not None


def mentions(engine: Engine, needles: list[str], client_id: int) -> list[str]:
    """Every table.column whose value names a needle, or points at the client by client_id."""
    found = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            for row in conn.execute(table.select()).mappings():
                found += [f"{table.name}.{c}" for c in _hits(table, row, needles, client_id)]
    return found


def _hits(table: Any, row: Any, needles: list[str], client_id: int) -> list[str]:
    hits = []
    for column in table.columns:
        value = row[column.name]
        if column.name == "client_id" and value == client_id:
            hits.append(column.name)
        elif isinstance(column.type, JSON | Text | String | LargeBinary) and value is not None:
            raw = value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False)
            blob = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            if any(n.casefold() in blob.casefold() for n in needles):
                hits.append(column.name)
    return hits


def test_forget_confirm_leaves_no_row_that_names_or_points_at_the_client(chat: Harness) -> None:
    chat.say("melody", "/export Alex")
    with Session(chat.engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        needles = ["Alex", ALEX_ID, alex_hash(session), "file-abc"]
    assert mentions(chat.engine, needles, alex.id or 0)  # the scan does find them before

    chat.say("melody", "/forget Alex confirm")
    # (the harness counts rows to tell what is new; the erased /show copy was one of them)
    assert chat.rows("melody")[-1].text == (
        "Done: that client and everything stored about them are erased."
    )

    assert mentions(chat.engine, needles, alex.id or 0) == []
    with Session(chat.engine) as session:  # Sam and the coach's own history are untouched
        assert session.exec(select(Client).where(Client.name == "Sam")).one()
        assert mentions(chat.engine, ["Sam's own news"], -1) == ["message.text"]
        report = documents_sent(chat, "melody")
        assert [d.filename for d in report] == ["report-2026-11.png"]  # no name in it: kept
    assert chat.say("sam", "/fyi still here")  # Sam goes on as before
    assert chat.say("melody", "/clients")[0].startswith("Your clients (1):")


def test_every_table_was_scanned(engine: Engine) -> None:
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert names == set(SQLModel.metadata.tables)


def test_forget_unnames_what_the_coach_is_still_to_get_and_drops_what_they_got(
    chat: Harness,
) -> None:
    with Session(chat.engine, expire_on_commit=False) as session:
        pending = session.exec(
            select(Outbox).where(col(Outbox.text).contains("Logged 20 min for Alex"))
        ).one()
        sent = session.exec(
            select(Outbox).where(Outbox.text == "Sent to Alex. (1 waiting message answered.)")
        ).one()
        sent.status = "sent"
        session.add(sent)
        session.commit()
    chat.say("melody", "/forget Alex confirm")
    with Session(chat.engine) as session:
        still = session.get(Outbox, pending.id)
        delivered = session.get(Outbox, sent.id)
    assert still is not None and delivered is not None
    assert still.text == "Logged 20 min for [erased client]: 30 min billable, 30.00 GBP."
    assert (delivered.status, delivered.text) == ("sent", "")


def test_the_hash_key_comes_from_privacy_or_the_environment_and_is_never_shown(
    tmp_path: Path,
) -> None:
    path = tmp_path / "boundarybot.toml"
    path.write_text('[privacy]\nhash_key = "' + "f" * 32 + '"\n')
    assert load_settings(path, {}).privacy.hash_key == Secret("f" * 32)
    env = {"BOUNDARYBOT_HASH_KEY": "e" * 40}
    settings = load_settings(path, env)
    assert settings.privacy.hash_key == Secret("e" * 40)
    assert "e" * 40 not in repr(settings)
    assert load_settings(None, {}).privacy.hash_key is None  # made at first use, in the database
    with pytest.raises(ConfigError) as short:
        load_settings(None, {"BOUNDARYBOT_HASH_KEY": "tooshort-secret"})
    assert str(short.value) == "config: BOUNDARYBOT_HASH_KEY must be at least 32 characters"


def test_sqlite_connections_zero_what_they_delete(tmp_path: Path) -> None:
    from bot.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()
