"""Facts about spans that the SDK's span data has no field for, handed to the trace processor.

The SDK's ``GenerationSpanData`` has no time-to-first-token; the pipelines see the first token
arrive, so they note it here by span id and the store processor adds ``ttft_ms`` to the span
when it ends. A plain module-level registry because SDK spans are process-global too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agents.tracing import get_current_span

_first_token_at: dict[str, datetime] = {}
_MAX_PENDING = 10_000


def mark_first_token(span_id: str | None) -> None:
    """Note that the generation ``span_id`` produced its first token now (first call wins)."""
    if span_id and span_id not in _first_token_at:
        if len(_first_token_at) >= _MAX_PENDING:  # spans that never ended: do not grow forever
            _first_token_at.clear()
        _first_token_at[span_id] = datetime.now(UTC)


def mark_first_token_of_current_generation() -> None:
    """For code running inside a generation span it did not create (the SDK's model calls)."""
    span: Any = get_current_span()
    if span is not None and getattr(span.span_data, "type", None) == "generation":
        mark_first_token(span.span_id)


def pop_first_token(span_id: str) -> datetime | None:
    return _first_token_at.pop(span_id, None)
