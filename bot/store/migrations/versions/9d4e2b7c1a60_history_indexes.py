"""history indexes: every query on a hot or periodic path reads an index, not all of history

Revision ID: 9d4e2b7c1a60
Revises: 3c1f0a9d2b7e
Create Date: 2026-12-04 20:30:00.000000

The digest (news, urgent messages, replies owed, failed deliveries), the pre-session brief,
reminders, a relay's batch, folded acknowledgements and retention each read a narrow range of
one of these, so their cost stays flat as messages pile up.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4e2b7c1a60"
down_revision: str | None = "3c1f0a9d2b7e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "message": {
        "ix_message_coach_digested": ["coach_id", "decision", "digested_at"],
        "ix_message_coach_briefed": ["coach_id", "decision", "briefed_at"],
        "ix_message_client_delivered": ["client_id", "delivered_at"],
        "ix_message_purged_received": ["purged", "received_at"],
    },
    "promise": {
        "ix_promise_client_open": ["client_id", "replied_at", "reply_by"],
        "ix_promise_coach_open": ["coach_id", "replied_at"],
    },
    "outbox": {
        "ix_outbox_message": ["message_id", "platform", "chat_id"],
        "ix_outbox_sent_as": ["platform", "chat_id", "platform_message_id"],
        "ix_outbox_client": ["client_id", "created_at"],
        "ix_outbox_reported": ["status", "reported_at"],
    },
}


UNBLANKED = sa.text("text != ''")  # outbox rows whose text retention has not emptied yet


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns, unique=False)
    op.create_index(
        "ix_outbox_unblanked",
        "outbox",
        ["created_at"],
        unique=False,
        sqlite_where=UNBLANKED,
        postgresql_where=UNBLANKED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unblanked", table_name="outbox")
    for table, indexes in INDEXES.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
