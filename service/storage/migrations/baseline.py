"""The schema of quizrelay 0.1, the last version without migrations, as SQLAlchemy tables.

Revision 0001 creates exactly these; :mod:`quizrelay.storage.migrate` uses them to adopt a
database that version made (adding any columns it was too old to have, then stamping it).
"""

import sqlalchemy as sa

TZ = sa.DateTime(timezone=True)

BASELINE = sa.MetaData()

sa.Table(
    "games",
    BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("pipeline", sa.String(16)),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("owner", sa.String(64)),
    sa.Column("created_at", TZ, nullable=False),
)
sa.Table(
    "rounds",
    BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("game_id", sa.String(64), sa.ForeignKey("games.id"), nullable=False),
    sa.Column("pipeline", sa.String(16), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(64)),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("difficulty", sa.String(16), nullable=False),
    sa.Column("seed", sa.Integer),
    sa.Column("question_source", sa.String(16), nullable=False),
    sa.Column("question", sa.Text),
    sa.Column("reference_answer", sa.Text),
    sa.Column("answer", sa.Text),
    sa.Column("answered_by", sa.String(16)),
    sa.Column("verdict", sa.JSON(none_as_null=True)),
    sa.Column("trace_id", sa.String(64), nullable=False),
    sa.Column("error_code", sa.String(64)),
    sa.Column("error_message", sa.Text),
    sa.Column("time_to_first_token_ms", sa.Float),
    sa.Column("total_ms", sa.Float),
    sa.Column("usage", sa.JSON(none_as_null=True)),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("finished_at", TZ),
)
sa.Index("ix_rounds_game", BASELINE.tables["rounds"].c.game_id)
sa.Index("ix_rounds_created", BASELINE.tables["rounds"].c.created_at)
sa.Table(
    "round_events",
    BASELINE,
    sa.Column("round_id", sa.String(64), sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON(none_as_null=True), nullable=False),
)
sa.Table(
    "traces",
    BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("workflow_name", sa.String(200), nullable=False),
    sa.Column("group_id", sa.String(64)),
    sa.Column("round_id", sa.String(64)),
    sa.Column("pipeline", sa.String(16)),
    sa.Column("owner", sa.String(64)),
    sa.Column("metadata", sa.JSON(none_as_null=True)),
    sa.Column("started_at", TZ, nullable=False),
    sa.Column("ended_at", TZ),
    sa.Column("status", sa.String(16), nullable=False, server_default="running"),
    sa.Column("error", sa.JSON(none_as_null=True)),
)
sa.Index("ix_traces_started", BASELINE.tables["traces"].c.started_at)
sa.Index("ix_traces_group", BASELINE.tables["traces"].c.group_id)
sa.Table(
    "spans",
    BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("trace_id", sa.String(64), nullable=False),
    sa.Column("parent_id", sa.String(64)),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("started_at", TZ),
    sa.Column("ended_at", TZ),
    sa.Column("data", sa.JSON(none_as_null=True), nullable=False),
    sa.Column("error", sa.JSON(none_as_null=True)),
)
sa.Index("ix_spans_trace", BASELINE.tables["spans"].c.trace_id)
sa.Table(
    "comparisons",
    BASELINE,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("owner", sa.String(64)),
    sa.Column("result", sa.JSON(none_as_null=True)),
    sa.Column("error", sa.JSON(none_as_null=True)),
    sa.Column("events", sa.JSON(none_as_null=True)),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("finished_at", TZ),
)
