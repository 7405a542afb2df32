"""A local ``TracingProcessor`` that keeps every trace and span in the database.

Installed with ``set_trace_processors([...])`` it *replaces* the SDK's default exporter, so no
trace is sent to OpenAI's backend and no "OPENAI_API_KEY is not set" warning appears offline.
Both pipelines feed it: the Agents SDK creates its spans itself, the baseline creates the same
span types by hand.

The SDK calls processors synchronously on the event loop, so this one only queues; a writer
thread turns the queue into short transactions. API keys are scrubbed before anything is
queued.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from agents.tracing import Span, Trace, TracingProcessor

from ..errors import scrub
from ..storage.traces import TraceStore
from .annotations import pop_first_token

logger = logging.getLogger(__name__)

_STOP = object()


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
    """Queues traces and spans for a writer thread that stores them with :class:`TraceStore`."""

    def __init__(self, store: TraceStore, *, secrets: Iterable[str] = ()) -> None:
        self.store = store
        self.secrets = list(secrets)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="trace-writer", daemon=True)
        self._writer.start()

    # TracingProcessor interface (called on the event loop: must not block) -----------------
    def on_trace_start(self, trace: Trace) -> None:
        exported = trace.export() or {}
        metadata = scrub(exported.get("metadata") or {}, self.secrets)
        assert isinstance(metadata, dict)
        self._queue.put(
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
        self._queue.put(("trace_end", (trace.trace_id, datetime.now(UTC))))

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
        self._queue.put(
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
        self._queue.put(("outcome", (trace_id, error, role)))

    def force_flush(self) -> None:
        """Block until everything queued so far is stored (tests and shutdown use it)."""
        self._queue.join()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait up to ``timeout`` s for queued records to be stored (reads call this so a trace
        read right after its round shows every span); True if the queue drained."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def shutdown(self) -> None:
        if self._writer.is_alive():
            self._queue.put(_STOP)
            self._writer.join(timeout=10)

    # Writer thread ---------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                self._queue.task_done()
                return
            batch = [first]
            while len(batch) < 500:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._queue.put(_STOP)  # handled after this batch
                    self._queue.task_done()
                    break
                batch.append(item)
            try:
                self._write(batch)
            except Exception:  # keep the writer alive; the failure is logged with its cause
                logger.exception("could not store %d trace records", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[tuple[str, Any]]) -> None:
        traces = [payload for kind, payload in batch if kind == "trace"]
        ends = [payload for kind, payload in batch if kind == "trace_end"]
        spans = [payload for kind, payload in batch if kind == "span"]
        outcomes = [payload for kind, payload in batch if kind == "outcome"]
        self.store.write_batch(traces, ends, spans, outcomes)
