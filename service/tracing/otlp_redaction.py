"""The last step before the wire for OTLP export: secrets scrubbed from every exported string.

It wraps the real exporter, so nothing the bridge or a span processor added can reach a
collector unscrubbed, whatever attribute it landed in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from ..errors import scrub


class RedactingSpanExporter(SpanExporter):
    """Scrubs secrets from every exported string (name, attributes, events, status) and trims
    the bridge's ``"<message>: "`` status format when no error data is exported."""

    def __init__(self, inner: SpanExporter, secrets: Iterable[str] = ()) -> None:
        self.inner = inner
        self.secrets = [s for s in secrets if s]
        self._shut = False
        self._shut_lock = threading.Lock()

    def _text(self, value: str) -> str:
        cleaned = scrub(value, self.secrets)
        return cleaned if isinstance(cleaned, str) else value

    def _attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        return {key: scrub(value, self.secrets) for key, value in (attributes or {}).items()}

    def _redact(self, span: ReadableSpan) -> ReadableSpan:
        status = span.status
        if status.status_code is StatusCode.ERROR:
            description = self._text(
                (status.description or "").removesuffix(": ").removesuffix(": None")
            )
            status = Status(StatusCode.ERROR, description or None)
        return ReadableSpan(
            name=self._text(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=self._attributes(span.attributes),
            events=[
                Event(self._text(e.name), self._attributes(e.attributes), e.timestamp)
                for e in span.events
            ],
            links=span.links,
            kind=span.kind,
            status=status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([self._redact(span) for span in spans])

    def shutdown(self) -> None:
        """Once: the batch processor calls it after a bounded close may already have."""
        with self._shut_lock:
            if self._shut:
                return
            self._shut = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)
