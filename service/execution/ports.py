"""The narrow interfaces a round needs from the world outside its own process.

Each has an in-process implementation (:mod:`quizrelay.backends.memory`: one process, SQLite,
the embedded default) and one on shared servers (:mod:`quizrelay.backends.redis_events`,
:mod:`quizrelay.backends.redis_signals`, :mod:`quizrelay.backends.saq_queue`). The app picks one
set once, at start-up (:func:`quizrelay.backends.build_backends`); nothing below that asks which
set is in use. Claims are not here: they are rows in the database (:mod:`.claims`), the same code
on SQLite and Postgres.

    EventLog       a round's (or comparison's) events: appended by the worker that runs it, in
                   order and with its own ids; read back and tailed by any API process
    RoundQueue     wakes a worker for a round or comparison that is ready to run
    Signals        cancel requests to whichever worker runs a round, and how many clients watch it
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ..records import EventBatch, EventRecord

__all__ = ["EventBatch", "EventRecord"]  # re-exported: the ports speak in records


class Fence(Protocol):
    """The writer's proof of ownership (a claim's fencing token): appends carrying a token older
    than the newest one handed out for the stream are refused."""

    @property
    def token(self) -> int: ...


class StaleWriter(Exception):
    """A write was refused because another worker has claimed the round since (the writer's
    fencing token is outdated). The writer must stop: the round is no longer its own."""


class EventLog(Protocol):
    """Where events of a stream (``round:<id>`` or ``comparison:<id>``) go and come from."""

    async def claim_stream(self, stream: str, token: int) -> list[EventRecord]:
        """Make ``token`` the only fencing token accepted for ``stream`` from now on, and return
        the events already in it (a resumed round continues after the last one)."""
        ...

    async def append(self, stream: str, records: list[EventRecord], *, token: int) -> None:
        """Append ``records`` (ids continuing the stream) unless ``token`` is outdated
        (:class:`StaleWriter`); a newer ``token`` claims the stream as :meth:`claim_stream`
        does. Idempotent: records whose ids are already there are skipped."""
        ...

    async def read(self, stream: str, after: int) -> list[EventRecord]:
        """The events with an id above ``after`` that the log still holds (possibly none, for a
        stream it never had or has expired)."""
        ...

    def tail(self, stream: str, after: int) -> AsyncIterator[EventBatch]:
        """Events above ``after`` as they arrive (replay first), until the reader stops."""
        ...

    async def retire(self, stream: str) -> None:
        """The stream is complete and stored in the database: keep it only briefly."""
        ...

    async def close(self) -> None: ...


JobKind = Literal["round", "comparison"]


@dataclass(frozen=True, slots=True)
class Job:
    """A wake-up for one round or comparison. ``generation`` (the row's attempt count when the
    job was sent) tells wake-ups for different attempts apart, so a queue may drop a duplicate
    of a waiting job yet never the wake-up that resumes a round whose worker died."""

    kind: JobKind
    id: str
    generation: int = 0


JobHandler = Callable[[Job], Awaitable[None]]


class RoundQueue(Protocol):
    async def submit(self, job: Job) -> None:
        """Wake a worker for ``job`` (at least once; a job already waiting is not doubled)."""
        ...

    async def depth(self) -> int:
        """Jobs waiting for a worker."""
        ...

    async def consume(self, handler: JobHandler, *, concurrency: int) -> None:
        """Run ``handler`` for each job, at most ``concurrency`` at once, until :meth:`stop`."""
        ...

    async def stop(self) -> None:
        """Take no more jobs (those running are the caller's to finish or hand back)."""
        ...

    async def close(self) -> None: ...


CancelHandler = Callable[[str, str], None]
"""Called with (round id, reason) when a cancel request arrives."""


class Signals(Protocol):
    async def cancel(self, round_id: str, reason: str) -> None:
        """Tell whichever worker runs ``round_id`` to cancel it (the database also keeps the
        request, for a worker that claims the round later)."""
        ...

    async def listen(self, handler: CancelHandler) -> None:
        """Call ``handler`` for every cancel request, until :meth:`close`."""
        ...

    async def watch(self, round_id: str, delta: int) -> int:
        """Count a client in (+1) or out (-1) of ``round_id``'s stream; returns the clients
        watching it now, across every API process."""
        ...

    async def close(self) -> None: ...
