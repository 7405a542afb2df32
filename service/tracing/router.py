"""Routes the Agents SDK's traces to the processors of the app that runs each round.

The SDK keeps one process-wide list of trace processors. If every app called
``set_trace_processors`` with its own, the last app started would receive every app's spans (two
apps in one test process, or a worker hosting several). So this router is installed once, as the
SDK's only processor, and each round registers its app's processors for its trace id
(:meth:`TraceRouter.route`); spans of a trace nobody registered are dropped — nothing is sent to
OpenAI's trace backend, and no "OPENAI_API_KEY is not set" warning appears offline.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from agents import set_trace_processors
from agents.tracing import Span, Trace, TracingProcessor
from agents.tracing.setup import get_trace_provider


class TraceRouter(TracingProcessor):
    def __init__(self) -> None:
        self._routes: dict[str, Sequence[TracingProcessor]] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def route(self, trace_id: str, processors: Sequence[TracingProcessor]) -> Iterator[None]:
        """Send the spans of ``trace_id`` to ``processors`` while the block runs."""
        with self._lock:
            self._routes[trace_id] = processors
        try:
            yield
        finally:
            with self._lock:
                self._routes.pop(trace_id, None)

    def _targets(self, trace_id: str | None) -> Sequence[TracingProcessor]:
        return self._routes.get(trace_id or "", ())

    def on_trace_start(self, trace: Trace) -> None:
        for processor in self._targets(trace.trace_id):
            processor.on_trace_start(trace)

    def on_trace_end(self, trace: Trace) -> None:
        for processor in self._targets(trace.trace_id):
            processor.on_trace_end(trace)

    def on_span_start(self, span: Span[Any]) -> None:
        for processor in self._targets(span.trace_id):
            processor.on_span_start(span)

    def on_span_end(self, span: Span[Any]) -> None:
        for processor in self._targets(span.trace_id):
            processor.on_span_end(span)

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None


_ROUTER = TraceRouter()


def trace_router() -> TraceRouter:
    """The process's router, installed as the SDK's only processor on first use."""
    provider: Any = get_trace_provider()
    processors = getattr(getattr(provider, "_multi_processor", None), "_processors", None)
    if processors is None or tuple(processors) != (_ROUTER,):
        set_trace_processors([_ROUTER])
    return _ROUTER
