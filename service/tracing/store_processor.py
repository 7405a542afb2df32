"""A ``TracingProcessor`` that keeps every trace and span in the database.

The :mod:`.router` sends it the spans of this app's rounds: the Agents SDK creates its spans
itself, the baseline creates the same span types by hand, so both pipelines land here. The SDK
calls processors synchronously, so this one only queues (API keys scrubbed first); a writer task
on the app's event loop turns the queue into short transactions. It lingers up to
:data:`LINGER` seconds after a record arrives, so a round's dozen spans take one or two commits
rather than one each (a third of the database's commits per round went to spans), unless a
round is waiting for its trace: then it writes at once. A round awaits
:meth:`StoreTracingProcessor.flush` before its last event is shown, so a trace read right after
``RUN_FINISHED`` — from any process — has every span.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from agents.tracing import Span, Trace, TracingProcessor

from ..errors import scrub
from ..storage.db import retrying
from ..storage.traces import TraceStore
from .annotations import pop_first_token

logger = logging.getLogger(__name__)

BATCH = 500
LINGER = 0.5
"""Seconds the writer gathers records before a transaction (when no round waits on it)."""
AWAY_FOR = 120.0
"""Seconds a batch is retried while the database is away (a restart, a failover) before it is
given up; a batch the database refuses outright is given up at once."""


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def span_name(data: dict[str, Any]) -> str:
    """A readable name for a span, whatever its kind."""
    kind = data.get("type", "span")
    if kind == "handoff":
        return f"{data.get('from_agent') or '?'} → {data.get('to_agent') or '?'}"
    if kind == "generation":
        return str(data.get("model") or "generation")
    return str(data.get("name") or kind)


class StoreTracingProcessor(TracingProcessor):
    """Queues traces and spans for a writer task that stores them with :class:`TraceStore`."""

    def __init__(self, store: TraceStore, *, secrets: Iterable[str] = ()) -> None:
        self.store = store
        self.secrets = list(secrets)
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._flushing = 0
        self._hurry = asyncio.Event()
        self._writer = asyncio.create_task(self._write_loop(), name="trace writer")

    def _put(self, item: tuple[str, Any]) -> None:
        if threading.get_ident() == self._thread:
            self._queue.put_nowait(item)
        else:  # a span ended in a worker thread
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    # TracingProcessor interface (called on the event loop: must not block) -----------------
    def on_trace_start(self, trace: Trace) -> None:
        exported = trace.export() or {}
        metadata = scrub(exported.get("metadata") or {}, self.secrets)
        assert isinstance(metadata, dict)
        self._put(
            (
                "trace",
                {
                    "id": exported.get("id") or trace.trace_id,
                    "workflow_name": exported.get("workflow_name") or trace.name,
                    "group_id": exported.get("group_id"),
                    "round_id": metadata.get("round_id"),
                    "pipeline": metadata.get("pipeline"),
                    "owner": metadata.get("owner"),
                    "trace_metadata": metadata,
                    "started_at": datetime.now(UTC),
                },
            )
        )

    def on_trace_end(self, trace: Trace) -> None:
        self._put(("trace_end", (trace.trace_id, datetime.now(UTC))))

    def on_span_start(self, span: Span[Any]) -> None:
        return None

    def on_span_end(self, span: Span[Any]) -> None:
        exported = span.export()
        if not exported:
            return
        data = scrub(exported.get("span_data") or {}, self.secrets)
        error = scrub(exported.get("error"), self.secrets)
        assert isinstance(data, dict)
        started_at = _parse_time(exported.get("started_at"))
        first_token_at = pop_first_token(exported["id"])
        if first_token_at is not None and started_at is not None:
            data["ttft_ms"] = round((first_token_at - started_at).total_seconds() * 1000.0, 1)
        self._put(
            (
                "span",
                {
                    "id": exported["id"],
                    "trace_id": exported["trace_id"],
                    "parent_id": exported.get("parent_id"),
                    "kind": str(data.get("type", "custom")),
                    "name": span_name(data)[:200],
                    "started_at": started_at,
                    "ended_at": _parse_time(exported.get("ended_at")),
                    "data": data,
                    "error": error if isinstance(error, dict) else None,
                },
            )
        )

    def record_outcome(
        self, trace_id: str, *, error: dict[str, Any] | None, role: str | None
    ) -> None:
        """The round's outcome: the trace's status, and a failure marked on the failing role's
        agent span when no span there carries an error yet (a model that did not hand off
        fails no call, yet the failure belongs to its agent)."""
        if error is not None:
            error = scrub(error, self.secrets)
        self._put(("outcome", (trace_id, error, role)))

    def force_flush(self) -> None:
        """The SDK's synchronous flush: nothing to do here, the writer is a task (await
        :meth:`flush` instead)."""
        return None

    async def flush(self) -> None:
        """Wait until everything queued so far is stored (the writer stops lingering)."""
        self._flushing += 1
        self._hurry.set()
        try:
            await self._queue.join()
        finally:
            self._flushing -= 1

    def shutdown(self) -> None:
        return None

    async def close(self) -> None:
        """Store what is queued, then stop the writer."""
        try:
            async with asyncio.timeout(10):
                await self.flush()
        except TimeoutError:
            logger.warning("trace writer: %d record(s) not stored at shutdown", self._queue.qsize())
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer

    # The writer task ---------------------------------------------------------------------------
    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if not self._flushing:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(LINGER):
                        await self._hurry.wait()
            if not self._flushing:
                self._hurry.clear()
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:  # a failed transaction stored nothing, so the retry writes the batch whole
                await retrying(functools.partial(self._write, batch), within=AWAY_FOR)
            except Exception:  # keep the writer alive; the failure is logged with its cause
                logger.exception("could not store %d trace records", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[tuple[str, Any]]) -> None:
        traces = [payload for kind, payload in batch if kind == "trace"]
        ends = [payload for kind, payload in batch if kind == "trace_end"]
        spans = [payload for kind, payload in batch if kind == "span"]
        outcomes = [payload for kind, payload in batch if kind == "outcome"]
        await self.store.write_batch(traces, ends, spans, outcomes)
