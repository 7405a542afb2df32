"""Alembic's environment: runs on the connection that :mod:`..runner` hands it.

Migrations always run on a synchronous connection (the sync flavour of the same driver:
pysqlite, or psycopg), from a thread at start-up or from ``quizrelay migrate``. SQLite gets
batch mode, so column changes become a copy of the table, the only way SQLite can alter one.
"""

from __future__ import annotations

from alembic import context

from quizrelay.storage.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
