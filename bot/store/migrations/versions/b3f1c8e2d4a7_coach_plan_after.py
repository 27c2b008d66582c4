"""coach.plan_after: the scheduler plans only coaches whose timers need it

Revision ID: b3f1c8e2d4a7
Revises: 9d4e2b7c1a60
Create Date: 2026-12-04 21:00:00.000000

NULL means "plan now", so every coach is planned once after the upgrade, as at any start.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.store.models

revision: str = "b3f1c8e2d4a7"
down_revision: str | None = "9d4e2b7c1a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("coach", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("plan_after", bot.store.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_coach_plan_after"), ["plan_after"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coach", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coach_plan_after"))
        batch_op.drop_column("plan_after")
