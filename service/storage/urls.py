"""Database URLs: which driver serves a URL, and a clear error when it is not installed.

quizrelay runs on SQLite (the default, ``sqlite:///quizrelay.db``) and PostgreSQL
(``postgresql://user@host/db``). The service talks to either through an asyncio driver
(aiosqlite, psycopg 3); migrations use the same driver's synchronous flavour (pysqlite, psycopg).
A URL may name its driver (``postgresql+psycopg://``); one whose driver is not installed, or
not asynchronous, fails at start-up with one line that names the driver and what to install.
"""

from __future__ import annotations

import importlib.util

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError

ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "psycopg"}
"""The driver used when a URL names none (or a synchronous one of the same database)."""

SYNC_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}

PACKAGES = {
    "aiosqlite": "aiosqlite",
    "psycopg": "psycopg[binary]",
    "asyncpg": "asyncpg",
    "psycopg_async": "psycopg[binary]",
    "pysqlite": "(part of Python)",
}
"""Driver name → the package that provides it."""

_MODULES = {"aiosqlite": "aiosqlite", "psycopg": "psycopg", "asyncpg": "asyncpg"}
_SYNC_ONLY = {"pysqlite", "psycopg2", "pg8000"}


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"QUIZRELAY_DATABASE_URL {url!r} is not a database URL; use for example "
            "sqlite:///quizrelay.db or postgresql://postgres@127.0.0.1/quizrelay"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":
        parsed = parsed.set(drivername="postgresql")
        backend = "postgresql"
    if backend not in ASYNC_DRIVERS:
        raise ConfigError(
            f"QUIZRELAY_DATABASE_URL uses {backend!r}; quizrelay runs on SQLite or PostgreSQL "
            "(sqlite:///quizrelay.db, postgresql://user@host/db)"
        )
    return parsed


def async_url(url: str) -> URL:
    """``url`` with an asyncio driver; raises :class:`ConfigError` naming what to install."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name()
    named = "+" in parsed.drivername
    if not named or driver in _SYNC_ONLY:
        driver = ASYNC_DRIVERS[backend]
    module = _MODULES.get(driver)
    if module is None:
        raise ConfigError(
            f"QUIZRELAY_DATABASE_URL names the driver {driver!r}, which quizrelay does not use "
            f"with {backend}; drop it ({backend}://...) or use {backend}+{ASYNC_DRIVERS[backend]}"
        )
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"QUIZRELAY_DATABASE_URL needs the database driver {driver!r}, which is not installed: "
            f"pip install '{PACKAGES.get(driver, driver)}'"
        )
    return parsed.set(drivername=f"{backend}+{driver}")


def sync_url(url: str) -> URL:
    """``url`` with the synchronous driver that migrations run on."""
    parsed = async_url(url)  # the same checks
    backend = parsed.get_backend_name()
    return parsed.set(drivername=f"{backend}+{SYNC_DRIVERS[backend]}")


def is_sqlite(url: str) -> bool:
    return _parse(url).get_backend_name() == "sqlite"
