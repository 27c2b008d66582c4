"""privacy: the meta table (hash key), keyed who-hashes, sent invite answers blanked

Revision ID: 3c1f0a9d2b7e
Revises: 65b98bf5bea1
Create Date: 2026-12-03 14:00:00.000000

`failedjoin` rows held bare SHA-256 hashes of platform ids; they live two hours and only count
wrong invite codes, so they are dropped rather than re-keyed (an account's lockout restarts).
The trigger blanks an outbox row marked `extra.blank_when_sent` (the /invite answer, which holds
a code in clear text) once it is sent or has failed: the coach has it, the database keeps nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "3c1f0a9d2b7e"
down_revision: str | None = "65b98bf5bea1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGER = """
CREATE TRIGGER outbox_blank_when_sent AFTER UPDATE OF status ON outbox
WHEN NEW.status IN ('sent', 'failed') AND NEW.text != ''
 AND json_extract(NEW.payload, '$.extra.blank_when_sent') = 1
BEGIN
  UPDATE outbox SET text = '' WHERE id = NEW.id;
END
"""
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION outbox_blank_when_sent() RETURNS trigger AS $$
BEGIN
  IF NEW.status IN ('sent', 'failed')
     AND (NEW.payload::jsonb -> 'extra' ->> 'blank_when_sent') = 'true' THEN
    NEW.text := '';
  END IF;
  RETURN NEW;
END
$$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER outbox_blank_when_sent BEFORE UPDATE OF status ON outbox
FOR EACH ROW EXECUTE FUNCTION outbox_blank_when_sent()
"""


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute("DELETE FROM failedjoin")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_blank_when_sent" + _on_outbox())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS outbox_blank_when_sent()")
    op.drop_table("meta")


def _on_outbox() -> str:
    return " ON outbox" if op.get_bind().dialect.name == "postgresql" else ""
