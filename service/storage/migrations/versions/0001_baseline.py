"""The schema as quizrelay 0.1 created it (before migrations): games, rounds and their events,
traces and spans, comparisons.

A database made by that version (``metadata.create_all`` plus additive column upgrades) is
adopted by stamping it at this revision (:mod:`quizrelay.storage.migrate`).

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from quizrelay.storage.migrations.baseline import BASELINE

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    BASELINE.create_all(op.get_bind())


def downgrade() -> None:
    BASELINE.drop_all(op.get_bind())
