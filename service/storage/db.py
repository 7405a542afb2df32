"""The database: one asyncio engine with a bounded pool, and transactional sessions.

SQLite (aiosqlite) by default, in WAL mode so readers never wait for writers; PostgreSQL through
psycopg 3's asyncio driver. Pool bounds come from the settings (``QUIZRELAY_DB_POOL_SIZE`` and
``QUIZRELAY_DB_MAX_OVERFLOW``): a process never holds more connections than that. The schema is
Alembic's business (:mod:`.migrate`), run before the engine is used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

from . import migrate
from .urls import async_url

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An asyncio engine for ``url`` (which names its driver or gets the default one)."""
    target = async_url(url)
    if target.get_backend_name() == "sqlite":
        if target.database and target.database != ":memory:":
            Path(target.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        target,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=30,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


class Database:
    """Owns the engine; hands out sessions that commit together or roll back."""

    def __init__(self, url: str, *, pool_size: int = 10, max_overflow: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision (in a thread: Alembic is synchronous)."""
        return await asyncio.to_thread(migrate.upgrade, self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def ping(self) -> None:
        """Raise if the database cannot be reached (``/readyz``)."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def close(self) -> None:
        await self.engine.dispose()


def database_away(exc: BaseException) -> bool:
    """An error of a database that is away for a moment (a restart, a failover): worth a retry.
    A refused statement (a constraint, bad data) is not."""
    if isinstance(exc, OperationalError | OSError | ConnectionError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def retrying(operation: Callable[[], Awaitable[T]], *, within: float = 30.0) -> T:
    """Run ``operation``, again and again (backing off, ``tenacity``) while the database is away,
    for up to ``within`` seconds: a restart of the database delays what must be stored, it does
    not lose it."""
    async for attempt in AsyncRetrying(
        retry=retry_if_exception(database_away),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        stop=stop_after_delay(within),
        reraise=True,
        before_sleep=lambda state: logger.warning(
            "the database is away (%s); retrying",
            type(state.outcome.exception()).__name__ if state.outcome else "?",
        ),
    ):
        with attempt:
            return await operation()
    raise AssertionError("unreachable")  # AsyncRetrying either returns or raises


def insert_new(session: AsyncSession, table: type[Any]) -> Any:
    """``INSERT`` that skips rows whose key exists (``ON CONFLICT DO NOTHING``, SQLite and
    PostgreSQL alike): for writes that may be repeated, by a retry or by another process."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()
