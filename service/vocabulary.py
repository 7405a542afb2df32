"""The words clients may rely on: statuses, error codes, and the links of a round.

Defined once here; the API, the events, the store and the pages all use these names, and the
README lists the same codes (a test checks that it does).
"""

from __future__ import annotations

from typing import Literal

# Statuses ------------------------------------------------------------------------------------
RoundStatus = Literal["queued", "running", "awaiting_answer", "completed", "failed"]
ROUND_STATUSES: tuple[RoundStatus, ...] = (
    "queued",
    "running",
    "awaiting_answer",
    "completed",
    "failed",
)
FINISHED: frozenset[str] = frozenset({"completed", "failed"})
"""Statuses after which nothing changes."""

ComparisonStatus = Literal["queued", "running", "completed", "failed"]

# Error codes of RUN_ERROR events, failed rounds and failed comparisons -----------------------
MODEL_UNREACHABLE = "model_unreachable"
MODEL_TIMEOUT = "model_timeout"
MODEL_RATE_LIMITED = "model_rate_limited"
MODEL_SERVER_ERROR = "model_server_error"
MODEL_REQUEST_REJECTED = "model_request_rejected"
MODEL_STREAM_INTERRUPTED = "model_stream_interrupted"
MODEL_OUTPUT_TRUNCATED = "model_output_truncated"
INVALID_TOOL_ARGUMENTS = "invalid_tool_arguments"
NO_HANDOFF = "no_handoff"
MISSING_TOOL_CALL = "missing_tool_call"
INVALID_VERDICT = "invalid_verdict"
MAX_TURNS_EXCEEDED = "max_turns_exceeded"
ROUND_TIMEOUT = "round_timeout"
ANSWER_TIMEOUT = "answer_timeout"
CANCELLED = "cancelled"
WORKER_LOST = "worker_lost"
STORAGE_ERROR = "storage_error"
INTERNAL_ERROR = "internal_error"

ERROR_CODES: tuple[str, ...] = (
    MODEL_UNREACHABLE,
    MODEL_TIMEOUT,
    MODEL_RATE_LIMITED,
    MODEL_SERVER_ERROR,
    MODEL_REQUEST_REJECTED,
    MODEL_STREAM_INTERRUPTED,
    MODEL_OUTPUT_TRUNCATED,
    INVALID_TOOL_ARGUMENTS,
    NO_HANDOFF,
    MISSING_TOOL_CALL,
    INVALID_VERDICT,
    MAX_TURNS_EXCEEDED,
    ROUND_TIMEOUT,
    ANSWER_TIMEOUT,
    CANCELLED,
    WORKER_LOST,
    STORAGE_ERROR,
    INTERNAL_ERROR,
)
"""Every stable code, in the order the README lists them."""


# Links ---------------------------------------------------------------------------------------
def round_links(round_id: str, trace_id: str, *, human: bool = False) -> dict[str, str]:
    """Where to find a round and its trace (the API's ``links`` and ``RUN_FINISHED``'s)."""
    links = {
        "self": f"/api/rounds/{round_id}",
        "events": f"/api/rounds/{round_id}/events",
        "cancel": f"/api/rounds/{round_id}/cancel",
        "trace": f"/api/traces/{trace_id}",
        "trace_page": f"/traces/{trace_id}",
    }
    if human:
        links["answer"] = f"/api/rounds/{round_id}/answer"
    return links


def comparison_links(comparison_id: str) -> dict[str, str]:
    return {
        "self": f"/api/comparisons/{comparison_id}",
        "events": f"/api/comparisons/{comparison_id}/events",
        "page": f"/compare?id={comparison_id}",
    }
