"""Optional export of the Agents SDK's traces to any OpenTelemetry backend over OTLP/HTTP.

The bridge is the official OpenTelemetry contrib package
``opentelemetry-instrumentation-openai-agents-v2`` (``GenAISemanticProcessor``): it turns every SDK
span into an OTel span named and attributed on the GenAI semantic conventions (``chat <model>``,
``invoke_agent <name>``, ``execute_tool <name>``; ``gen_ai.operation.name``,
``gen_ai.request.model``, ``gen_ai.usage.input_tokens``/``output_tokens``, ``gen_ai.agent.name``,
``gen_ai.tool.name``) and keeps the SDK's parent/child structure. OpenInference's bridge was not
chosen: it speaks OpenInference attributes (``llm.model_name``, ``llm.token_count.prompt``), not
the GenAI conventions, and its instrumentor replaces every trace processor unless told not to.

The package's ``OpenAIAgentsInstrumentor`` installs its processor into the SDK's global provider
and defaults every span's agent name to "OpenAI Agent" and its server to api.openai.com, so it is
not used: the processor class is built here directly and the app puts it in its own list, next to
the local store (``set_trace_processors([store, otlp.processor])``). The subclass adds what the
bridge leaves out or gets wrong for this service:

* the round's identity on every span: ``quizrelay.game_id`` (also ``gen_ai.conversation.id``),
  ``quizrelay.round_id``, ``quizrelay.pipeline``, ``quizrelay.trace_id`` (the SDK trace id, the
  key of the local store) and the rest of the trace metadata as ``quizrelay.<key>``;
* the bridge mutates the span data it reads (it pops ``usage.total_tokens``) while the store's
  writer thread may still hold the same dicts, so it is handed a copy of each finished span;
* with ``include_content=False`` the bridge's own switch (``ContentCaptureMode.NO_CONTENT``)
  drops messages, tool arguments and tool results; statuses lose error data, and a failed
  tool's message (the chat pipeline's is the tool's result) becomes "tool call failed";
* generation spans are ``chat`` spans even without content (the bridge guesses the operation
  from the input messages, and says ``text_completion`` when there are none);
* a reply's tool calls and a streamed reply (a Responses-API dump) become GenAI output messages
  instead of Python reprs;
* messages conform to the GenAI message schemas (``genai_messages.py``): every output message
  has a ``finish_reason`` and the span lists them in ``gen_ai.response.finish_reasons``, the
  system prompt is only in ``gen_ai.system_instructions``, tool results are ``response`` parts;
* spans still open when their trace ends are ended (the bridge's own cleanup matches SDK span ids
  against trace ids, which never match), and custom spans get their own name, not "unknown".

Export runs on its own ``TracerProvider`` (never the global one) through a ``BatchSpanProcessor``:
spans are queued on the event loop and sent by the batch thread, with a short request timeout, so
a collector that is down costs a round nothing. Secrets are scrubbed from every exported string
by an exporter wrapper (``otlp_redaction.py``), the last step before the wire. Flush and
shutdown are bounded: the SDK's batch processor ignores its own flush timeout, so both run in a
helper thread that is waited on for at most ``timeout_s``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from agents.tracing import Span, Trace
from agents.tracing.span_data import (
    AgentSpanData,
    FunctionSpanData,
    GenerationSpanData,
    HandoffSpanData,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai_agents.span_processor import (
    ContentCaptureMode,
    ContentPayload,
    GenAIOperationName,
    GenAISemanticProcessor,
)
from opentelemetry.instrumentation.openai_agents.version import __version__ as _bridge_version
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.semconv.schemas import Schemas
from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.re import parse_env_headers
from opentelemetry.util.types import AttributeValue

from . import genai_messages
from .otlp_endpoint import (
    HEADERS_ENV,
    TRACES_HEADERS_ENV,
    export_timeout,
    printable,
    traces_endpoint,
)
from .otlp_redaction import RedactingSpanExporter

logger = logging.getLogger(__name__)

DEFAULT_FLUSH_TIMEOUT_S = 5.0
"""How long ``force_flush``/``shutdown`` wait when the caller (the Agents SDK) names no timeout."""

ATTRIBUTE_PREFIX = "quizrelay."
_CONVERSATION_ID = "gen_ai.conversation.id"
_OUTPUT_MESSAGES = "gen_ai.output.messages"
_FINISH_REASONS = "gen_ai.response.finish_reasons"
_SCOPE = "opentelemetry.instrumentation.openai_agents"


def _run_bounded(action: Callable[[], object], timeout_s: float, what: str) -> bool:
    """Run ``action`` in a daemon thread and wait at most ``timeout_s`` for it.

    The OTel SDK's batch processor flushes synchronously on the caller's thread and ignores its
    timeout argument; against a collector that is down that is several seconds per batch.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["result"] = action()
        except Exception:  # an export failure must not take the caller down
            logger.exception("OTLP trace %s failed", what)
            outcome["result"] = False

    worker = threading.Thread(target=target, name=f"otlp-{what}", daemon=True)
    worker.start()
    worker.join(max(0.0, timeout_s))
    if worker.is_alive():
        logger.warning("OTLP trace %s did not finish in %.1f s; leaving it behind", what, timeout_s)
        return False
    return outcome.get("result") is not False


def _trace_attributes(trace: Trace) -> dict[str, AttributeValue]:
    """The round's identity, from the SDK trace: group id (game) and scalar metadata."""
    exported = trace.export() or {}
    attributes: dict[str, AttributeValue] = {f"{ATTRIBUTE_PREFIX}trace_id": trace.trace_id}
    group_id = exported.get("group_id")
    if isinstance(group_id, str) and group_id:
        attributes[f"{ATTRIBUTE_PREFIX}game_id"] = group_id
        attributes[_CONVERSATION_ID] = group_id
    metadata = exported.get("metadata") or {}
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            if isinstance(value, (str, bool, int, float)):
                attributes[f"{ATTRIBUTE_PREFIX}{key}"] = value
    return attributes


@dataclass(frozen=True)
class _FinishedSpan:
    """What the bridge reads from a finished SDK span, detached from the SDK's own objects."""

    trace_id: str
    span_id: str
    parent_id: str | None
    started_at: str | None
    ended_at: str | None
    span_data: Any
    error: dict[str, Any] | None

    @classmethod
    def of(cls, span: Span[Any], *, include_content: bool) -> _FinishedSpan:
        data = copy.copy(span.span_data)
        usage = getattr(data, "usage", None)
        if isinstance(usage, dict):
            data.usage = dict(usage)  # the bridge pops total_tokens from it
        error: dict[str, Any] | None = None
        if span.error and include_content:
            error = {"message": span.error.get("message") or "error"}
            if span.error.get("data") is not None:
                error["data"] = span.error.get("data")
        elif span.error:  # a failed tool's message is its result, which is content
            tool = isinstance(data, FunctionSpanData)
            error = {
                "message": "tool call failed" if tool else span.error.get("message") or "error"
            }
        return cls(
            span.trace_id, span.span_id, span.parent_id, span.started_at, span.ended_at, data, error
        )


class OtlpTracingProcessor(GenAISemanticProcessor):
    """The GenAI-semconv bridge, with the round's ids on every span and bounded flush/shutdown.

    A ``TracingProcessor``: the SDK calls it on the event loop, where it only creates and ends
    OTel spans (cheap); the batch processor's thread does the network I/O.
    """

    def __init__(
        self,
        *,
        provider: TracerProvider,
        include_content: bool,
        exporter: SpanExporter | None = None,
    ) -> None:
        super().__init__(
            tracer=provider.get_tracer(_SCOPE, _bridge_version, schema_url=Schemas.V1_28_0.value),
            system_name="openai",  # the API spoken: OpenAI-compatible chat completions
            include_sensitive_data=include_content,
            content_mode=ContentCaptureMode.SPAN_ONLY
            if include_content
            else ContentCaptureMode.NO_CONTENT,
            metrics_enabled=False,  # traces only; the meter would be the global no-op one anyway
        )
        self.provider = provider
        self.include_content = include_content
        self.exporter = exporter
        self._round_attributes: dict[str, dict[str, AttributeValue]] = {}
        self._open_spans: dict[str, str] = {}  # SDK span id -> SDK trace id
        self._closed = False
        self._close_lock = threading.Lock()

    # TracingProcessor interface --------------------------------------------------------------
    def on_trace_start(self, trace: Trace) -> None:
        attributes = _trace_attributes(trace)
        self._round_attributes[trace.trace_id] = attributes
        super().on_trace_start(trace)
        root = self._root_spans.get(trace.trace_id)
        if root is not None:
            root.set_attributes(attributes)

    def on_trace_end(self, trace: Trace) -> None:
        for span_id in [s for s, t in self._open_spans.items() if t == trace.trace_id]:
            del self._open_spans[span_id]
            self._tokens.pop(span_id, None)  # attached in another context: cannot be detached
            leftover = self._otel_spans.pop(span_id, None)
            if leftover is not None:
                leftover.set_status(Status(StatusCode.ERROR, "trace ended before the span"))
                leftover.end()
        super().on_trace_end(trace)
        self._round_attributes.pop(trace.trace_id, None)

    def on_span_start(self, span: Span[Any]) -> None:
        super().on_span_start(span)
        otel_span = self._otel_spans.get(span.span_id)
        if otel_span is None:
            return
        self._open_spans[span.span_id] = span.trace_id
        otel_span.set_attributes(self._round_attributes.get(span.trace_id, {}))
        if self._get_operation_name(span.span_data) == "unknown":  # custom, task, turn spans
            otel_span.update_name(str(getattr(span.span_data, "name", None) or span.span_data.type))

    def on_span_end(self, span: Span[Any]) -> None:
        self._open_spans.pop(span.span_id, None)
        otel_span = self._otel_spans.get(span.span_id)
        data = span.span_data
        if otel_span is not None and isinstance(data, HandoffSpanData) and data.to_agent:
            otel_span.update_name(f"handoff {data.to_agent}")  # the target is known only now
        finished = _FinishedSpan.of(span, include_content=self.include_content)
        super().on_span_end(cast("Span[Any]", finished))

    def _get_operation_name(self, span_data: Any) -> str:
        """``chat`` for every generation span: the bridge guesses it from the input messages and
        says ``text_completion`` when content is left out; the SDK's generations are chat calls."""
        if isinstance(span_data, GenerationSpanData) and not hasattr(
            span_data, "embedding_dimension"
        ):
            return GenAIOperationName.CHAT
        return super()._get_operation_name(span_data)

    def _normalize_output_messages_to_role_parts(self, span_data: Any) -> list[dict[str, Any]]:
        """The model's reply as GenAI output messages, tool calls included: the bridge reads only
        text and stringifies the rest (a streamed call's Responses-API dump, a tool call)."""
        messages = genai_messages.output_messages(getattr(span_data, "output", None))
        if messages is None:
            messages = super()._normalize_output_messages_to_role_parts(span_data)
        return messages

    def _build_content_payload(self, span: Span[Any]) -> ContentPayload:
        """The bridge's messages made to conform to the GenAI message schemas (every span's,
        and so every agent's aggregate too): see :mod:`.genai_messages`."""
        payload = super()._build_content_payload(span)
        if payload.input_messages:
            payload.input_messages = genai_messages.conform_input_messages(
                payload.input_messages, instructions_apart=bool(payload.system_instructions)
            )
        if payload.output_messages:
            payload.output_messages = genai_messages.conform_output_messages(
                payload.output_messages
            )
        return payload

    def _extract_genai_attributes(
        self,
        span: Span[Any],
        payload: ContentPayload,
        agent_content: dict[str, list[Any]] | None = None,
    ) -> Iterator[tuple[str, AttributeValue]]:
        """The bridge's attributes, with ``gen_ai.response.finish_reasons`` listing the exported
        output messages' finish reasons (the bridge sends none for a streamed call)."""
        attributes = dict(super()._extract_genai_attributes(span, payload, agent_content))
        if _OUTPUT_MESSAGES in attributes:
            if isinstance(span.span_data, AgentSpanData):
                sent = (agent_content or {}).get("output_messages") or []
            else:
                sent = payload.output_messages or []
            attributes[_FINISH_REASONS] = genai_messages.finish_reasons(sent)
        elif _FINISH_REASONS in attributes:  # content left out; the model's words, normalized
            reasons = attributes[_FINISH_REASONS]
            if isinstance(reasons, (list, tuple)):
                attributes[_FINISH_REASONS] = [
                    genai_messages.finish_reason(r, ()) for r in reasons if isinstance(r, str)
                ]
        yield from attributes.items()

    def force_flush(self) -> None:
        self.flush(DEFAULT_FLUSH_TIMEOUT_S)

    def shutdown(self, timeout: float | None = None) -> None:
        self.close(DEFAULT_FLUSH_TIMEOUT_S if timeout is None else timeout)

    # Bounded flush and shutdown ------------------------------------------------------------
    def flush(self, timeout_s: float) -> bool:
        """Send every finished span now; False if that did not happen within ``timeout_s``."""
        if self._closed:
            return False
        return _run_bounded(self.provider.force_flush, timeout_s, "flush")

    def close(self, timeout_s: float) -> bool:
        """End spans still open, flush and shut the provider down, waiting at most ``timeout_s``.

        Idempotent: the app's lifespan and the SDK's atexit hook may both call it.
        """
        with self._close_lock:
            if self._closed:
                return True
            self._closed = True
        super().shutdown()  # ends the spans still open, marked as errors
        self._open_spans.clear()
        self._round_attributes.clear()
        if _run_bounded(self.provider.shutdown, timeout_s, "shutdown"):
            return True
        if self.exporter is not None:  # stop retrying now rather than at the export deadline
            self.exporter.shutdown()
        return False


@dataclass(frozen=True)
class OtlpExport:
    """What :func:`build_otlp_processor` hands the app."""

    processor: OtlpTracingProcessor
    """The Agents SDK ``TracingProcessor`` to list next to the store processor."""
    provider: TracerProvider
    """Its own OpenTelemetry provider (never installed as the global one)."""
    endpoint: str
    """Where spans are posted (``.../v1/traces``)."""

    def force_flush(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> bool:
        """Export every finished span; False when ``timeout_s`` passed first."""
        return self.processor.flush(timeout_s)

    def shutdown(self, timeout_s: float = DEFAULT_FLUSH_TIMEOUT_S) -> bool:
        """Flush and stop exporting, within ``timeout_s``; later calls do nothing."""
        return self.processor.close(timeout_s)


def build_otlp_processor(
    *,
    service_name: str = "quizrelay",
    include_content: bool = True,
    secrets: Iterable[str] = (),
    environ: Mapping[str, str] = os.environ,
) -> OtlpExport | None:
    """An OTLP/HTTP exporter for the SDK's traces, or None when no endpoint is configured.

    Endpoint, headers and timeout come from the standard ``OTEL_EXPORTER_OTLP_*`` variables in
    ``environ`` (the exporter reads the process environment as well; with the default ``environ``
    both agree). ``OTEL_SDK_DISABLED=true`` turns export off like everywhere else.
    """
    endpoint = traces_endpoint(environ)
    if endpoint is None or (environ.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return None
    headers = parse_env_headers(
        environ.get(TRACES_HEADERS_ENV) or environ.get(HEADERS_ENV) or "", liberal=True
    )
    exporter = OTLPSpanExporter(
        endpoint=endpoint, headers=dict(headers), timeout=export_timeout(environ)
    )
    resource = Resource.create(
        {SERVICE_NAME: (environ.get("OTEL_SERVICE_NAME") or "").strip() or service_name}
    )
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)  # the app shuts it down
    redacting = RedactingSpanExporter(exporter, secrets)
    provider.add_span_processor(BatchSpanProcessor(redacting))
    processor = OtlpTracingProcessor(
        provider=provider, include_content=include_content, exporter=redacting
    )
    logger.info(
        "exporting traces over OTLP/HTTP to %s (content %s)",
        printable(endpoint),
        "included" if include_content else "left out",
    )
    return OtlpExport(processor=processor, provider=provider, endpoint=endpoint)
