"""A schema that goes missing while the bot runs is migrated again; a newer one stops it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, select

from bot.app import App, SchemaMismatch, build_app, schema_state, watch_schema
from bot.config import DatabaseSettings, Settings
from bot.console import SAMPLE_COACH
from bot.store.models import Coach


def app_on(tmp_path: Path) -> App:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    settings = Settings(database=DatabaseSettings(url=url), coaches=(SAMPLE_COACH,))
    return build_app(settings, transports={})


def test_a_schema_recreated_empty_is_migrated_again_with_the_coaches(tmp_path: Path) -> None:
    app = app_on(tmp_path)
    assert schema_state(app.engine, app.settings.database.url) == "current"
    SQLModel.metadata.drop_all(app.engine)  # the database recreated empty under the bot
    with app.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert schema_state(app.engine, app.settings.database.url) == "missing"

    watch_schema(app)

    assert schema_state(app.engine, app.settings.database.url) == "current"
    with Session(app.engine) as session:
        assert [c.key for c in session.exec(select(Coach)).all()] == [SAMPLE_COACH.key]
    app.engine.dispose()


def test_a_schema_newer_than_the_bot_stops_it_with_one_line(tmp_path: Path) -> None:
    app = app_on(tmp_path)
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeedbeef'"))
    assert schema_state(app.engine, app.settings.database.url) == "unknown"
    with pytest.raises(SchemaMismatch) as raised:
        watch_schema(app)
    assert str(raised.value) == (
        "database: its schema is newer than this boundarybot; upgrade the bot to match"
    )
    app.engine.dispose()


def test_a_current_schema_is_left_alone(tmp_path: Path) -> None:
    app = app_on(tmp_path)
    with Session(app.engine) as session:
        before = session.exec(select(Coach)).one().id
    watch_schema(app)
    with Session(app.engine) as session:
        assert session.exec(select(Coach)).one().id == before
    app.engine.dispose()
