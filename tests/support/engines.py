"""Real PostgreSQL and Redis for the tests: a fresh database and a fresh key prefix per test.

The servers come from ``TEST_POSTGRES_URL`` and ``TEST_REDIS_URL``, which ``scripts/test.sh``
sets (starting private servers when none run; see ``scripts/test-services.sh``). Without them
the distributed tests fail with a message saying so: they are never skipped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import redis
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def postgres_admin_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)


def _admin_connect() -> psycopg.Connection:
    url = postgres_admin_url()
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise RuntimeError(
            f"no PostgreSQL at {url} ({exc}); run the tests with ./scripts/test.sh, which "
            "starts one, or set TEST_POSTGRES_URL"
        ) from exc


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; yields its SQLAlchemy URL; dropped afterwards."""
    name = f"qr_{secrets.token_hex(6)}"
    with _admin_connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(postgres_admin_url()).set(drivername="postgresql+psycopg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin_connect() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_redis_prefix() -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"qrtest{secrets.token_hex(4)}"
    client = redis.Redis.from_url(redis_url())
    try:
        client.ping()
    except redis.RedisError as exc:
        raise RuntimeError(
            f"no Redis at {redis_url()} ({exc}); run the tests with ./scripts/test.sh, which "
            "starts one, or set TEST_REDIS_URL"
        ) from exc
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        saq_keys = list(client.scan_iter(match=f"saq:{prefix}*", count=1000))
        for chunk in range(0, len(keys + saq_keys), 500):
            client.delete(*(keys + saq_keys)[chunk : chunk + 500])
        client.close()
