"""Bring a database to the newest schema with Alembic (``quizrelay migrate``, and at start-up).

One set of migrations serves SQLite and PostgreSQL. On PostgreSQL the upgrade holds an advisory
lock, so API and worker processes starting together migrate once, one after the other. A
database made by quizrelay 0.1 (tables but no ``alembic_version``) is adopted: columns that an
older 0.1 had not yet added are added, the database is stamped at the baseline, then upgraded.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from .migrations.baseline import BASELINE
from .urls import sync_url

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_KEY = 7_311_002  # any constant: "quizrelay migrations"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str) -> tuple[str | None, str]:
    """Migrate the database at ``url`` to the newest revision; returns (before, after)."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": ADVISORY_LOCK_KEY})
            before = current_revision(connection)
            if before is None and inspect(connection).has_table("rounds"):
                _adopt_legacy(connection)
                before = "0001"
            command.upgrade(_config(connection), "head")
            after = current_revision(connection)
    finally:
        engine.dispose()
    assert after is not None
    if before != after:
        logger.info("database migrated from %s to %s", before or "empty", after)
    return before, after


def _adopt_legacy(connection: Connection) -> None:
    """A 0.1 database: add the baseline columns it lacks, then stamp it at the baseline."""
    inspector = inspect(connection)
    for table in BASELINE.sorted_tables:
        if not inspector.has_table(table.name):
            table.create(connection)
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                column_type = column.type.compile(dialect=connection.dialect)
                connection.execute(
                    text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {column_type}')
                )
    command.stamp(_config(connection), "0001")
    logger.info("adopted a database made before migrations (stamped at 0001)")
