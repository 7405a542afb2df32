"""A round may carry model settings of its own (a comparison arm's temperature, say).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("model_settings", sa.JSON(none_as_null=True)))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("model_settings")
