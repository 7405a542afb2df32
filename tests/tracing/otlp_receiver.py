"""A real OTLP/HTTP trace receiver on loopback, for tests.

It accepts ``POST /v1/traces`` with ``application/x-protobuf`` (gzip or not), decodes the body
with the collector's own ``ExportTraceServiceRequest`` message, keeps every span in plain Python
form and answers 200 with an empty ``ExportTraceServiceResponse`` — what a collector does. Being a
real server, it proves the bytes on the wire, not what an in-memory exporter was handed.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

TRACES_PATH = "/v1/traces"


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as the Python value it carries."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_dict(attributes: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in attributes if isinstance(kv, KeyValue)}


@dataclass(frozen=True)
class ReceivedSpan:
    """One decoded span; ids are lowercase hex, ``parent_span_id`` is "" for a root."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    kind: int
    resource: dict[str, Any]
    scope: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        return self.status_code == 2  # STATUS_CODE_ERROR

    def strings(self) -> list[str]:
        """Every exported string of the span, for "this never leaves the process" checks."""
        out = [self.name, self.status_message]
        for values in (self.attributes, *self.events):
            out.extend(_flatten_strings(values))
        return out


def _flatten_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_flatten_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _flatten_strings(v)]
    return []


@dataclass(frozen=True)
class ReceivedRequest:
    """Every POST, answered or refused (404 off ``/v1/traces``): path, headers, spans kept."""

    path: str
    headers: dict[str, str]
    span_count: int


class OtlpReceiver:
    """``with OtlpReceiver() as receiver:`` serves on 127.0.0.1 (a free port) in a thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._requests: list[ReceivedRequest] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path != TRACES_PATH:
                    receiver._note(self.path, dict(self.headers.items()), 0)
                    self._reply(404, b"", "text/plain")
                    return
                if self.headers.get("content-type") != "application/x-protobuf":
                    self._reply(415, b"", "text/plain")
                    return
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._keep(self.path, dict(self.headers.items()), request)
                self._reply(
                    200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"
                )

            def _reply(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="otlp-receiver", daemon=True
        )

    @property
    def base_url(self) -> str:
        """For ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporter appends ``/v1/traces``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _keep(self, path: str, headers: dict[str, str], request: ExportTraceServiceRequest) -> None:
        spans: list[ReceivedSpan] = []
        for resource_spans in request.resource_spans:
            resource = attributes_dict(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        ReceivedSpan(
                            name=span.name,
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex(),
                            attributes=attributes_dict(span.attributes),
                            status_code=int(span.status.code),
                            status_message=span.status.message,
                            kind=int(span.kind),
                            resource=resource,
                            scope=scope_spans.scope.name,
                            events=[
                                {"name": e.name, **attributes_dict(e.attributes)}
                                for e in span.events
                            ],
                        )
                    )
        with self._lock:
            self._spans.extend(spans)
        self._note(path, headers, len(spans))

    def _note(self, path: str, headers: dict[str, str], span_count: int) -> None:
        with self._lock:
            self._requests.append(
                ReceivedRequest(path, {k.lower(): v for k, v in headers.items()}, span_count)
            )

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._lock:
            return list(self._spans)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(
        self,
        predicate: Callable[[list[ReceivedSpan]], bool],
        *,
        timeout: float = 10.0,
        poke: Callable[[], object] | None = None,
    ) -> list[ReceivedSpan]:
        """Spans once ``predicate(spans)`` holds; ``poke`` (e.g. a flush) is called between
        looks."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans
            if predicate(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"OTLP receiver: condition not met; got {[s.name for s in spans]}"
                )
            if poke is not None:
                poke()
            time.sleep(0.05)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
