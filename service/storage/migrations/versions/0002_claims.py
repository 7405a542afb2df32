"""Claims and checkpoints on rounds and comparisons; one table for every stream's events.

A round (and a comparison) is now run by whichever worker claims it: ``worker_id``, a lease
(``lease_expires_at``, kept alive by heartbeats), an ``attempt`` number and a ``fencing_token``
that every write of the owner must still match. ``checkpoint`` holds what a resumed attempt
starts from. Events of rounds and comparisons move into ``stream_events`` (stream
``round:<id>`` or ``comparison:<id>``), each event's JSON stored verbatim.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def _claim_columns() -> list[sa.Column]:
    return [
        sa.Column("worker_id", sa.String(128)),
        sa.Column("lease_expires_at", TZ),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fencing_token", sa.Integer, nullable=False, server_default="0"),
        sa.Column("checkpoint", sa.JSON(none_as_null=True)),
        sa.Column("cancel_requested", sa.Text),
        sa.Column("queued_at", TZ),
        sa.Column("events_stored", sa.Integer, nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    op.create_table(
        "stream_events",
        sa.Column("stream", sa.String(80), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    with op.batch_alter_table("rounds") as batch:
        for column in _claim_columns():
            batch.add_column(column)
        batch.add_column(sa.Column("answer_deadline", TZ))
        batch.add_column(sa.Column("answer_run_id", sa.String(64)))
        batch.add_column(sa.Column("comparison_id", sa.String(64)))
        batch.create_index("ix_rounds_status_lease", ["status", "lease_expires_at"])
        batch.create_index("ix_rounds_comparison", ["comparison_id"])
    with op.batch_alter_table("comparisons") as batch:
        for column in _claim_columns():
            batch.add_column(column)
        batch.create_index("ix_comparisons_status_lease", ["status", "lease_expires_at"])

    bind = op.get_bind()
    insert = sa.text(
        "INSERT INTO stream_events (stream, seq, type, data) VALUES (:stream, :seq, :type, :data)"
    )

    def copy(stream: str, events: list[tuple[int, object]]) -> int:
        rows = []
        for seq, data in events:
            if isinstance(data, str):
                data = json.loads(data)
            kind = str(data.get("type", "")) if isinstance(data, dict) else ""
            rows.append({"stream": stream, "seq": seq, "type": kind, "data": json.dumps(data)})
        if rows:
            bind.execute(insert, rows)
        return len(rows)

    by_round: dict[str, list[tuple[int, object]]] = {}
    for round_id, seq, data in bind.execute(
        sa.text("SELECT round_id, seq, data FROM round_events ORDER BY round_id, seq")
    ):
        by_round.setdefault(round_id, []).append((seq, data))
    for round_id, events in by_round.items():
        stored = copy(f"round:{round_id}", events)
        bind.execute(
            sa.text("UPDATE rounds SET events_stored = :n WHERE id = :id"),
            {"n": stored, "id": round_id},
        )
    for comparison_id, events in bind.execute(sa.text("SELECT id, events FROM comparisons")).all():
        if isinstance(events, str):
            events = json.loads(events)
        stored = copy(f"comparison:{comparison_id}", list(enumerate(events or [], start=1)))
        bind.execute(
            sa.text("UPDATE comparisons SET events_stored = :n WHERE id = :id"),
            {"n": stored, "id": comparison_id},
        )
    op.drop_table("round_events")
    with op.batch_alter_table("comparisons") as batch:
        batch.drop_column("events")


def downgrade() -> None:
    raise NotImplementedError("0002 is not reversible: restore a backup taken before upgrading")
