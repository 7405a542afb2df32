"""Errors: the hierarchy, the stable codes a failed round reports, and the secret scrubber.

    QuizrelayError
    ├── ConfigError          bad settings or agents_config/ files (raised at start-up)
    ├── ModelServerError     the embedded model server could not be started
    └── RoundFailure         a round ended without a verdict; carries a stable ``code``

A round never fails silently: whatever went wrong (the model server, the model's behaviour, a
timeout) becomes a :class:`RoundFailure` through :func:`failure_from_exception`, which the
runner turns into a ``RUN_ERROR`` event and a round stored as ``failed``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, overload

import openai

# The stable error codes live in vocabulary.py; they are re-exported here for the mapping below.
from .vocabulary import (
    ANSWER_TIMEOUT,
    CANCELLED,
    INTERNAL_ERROR,
    INVALID_TOOL_ARGUMENTS,
    INVALID_VERDICT,
    MAX_TURNS_EXCEEDED,
    MISSING_TOOL_CALL,
    MODEL_OUTPUT_TRUNCATED,
    MODEL_RATE_LIMITED,
    MODEL_REQUEST_REJECTED,
    MODEL_SERVER_ERROR,
    MODEL_STREAM_INTERRUPTED,
    MODEL_TIMEOUT,
    MODEL_UNREACHABLE,
    NO_HANDOFF,
    ROUND_TIMEOUT,
    STORAGE_ERROR,
    WORKER_LOST,
)

__all__ = [
    "ANSWER_TIMEOUT",
    "CANCELLED",
    "INTERNAL_ERROR",
    "INVALID_TOOL_ARGUMENTS",
    "INVALID_VERDICT",
    "MAX_TURNS_EXCEEDED",
    "MISSING_TOOL_CALL",
    "MODEL_OUTPUT_TRUNCATED",
    "MODEL_RATE_LIMITED",
    "MODEL_REQUEST_REJECTED",
    "MODEL_SERVER_ERROR",
    "MODEL_STREAM_INTERRUPTED",
    "MODEL_TIMEOUT",
    "MODEL_UNREACHABLE",
    "NO_HANDOFF",
    "ROUND_TIMEOUT",
    "STORAGE_ERROR",
    "WORKER_LOST",
    "ConfigError",
    "ModelServerError",
    "QuizrelayError",
    "RoundFailure",
    "failure_from_exception",
    "failure_from_request",
    "scrub",
    "scrub_text",
]


class QuizrelayError(Exception):
    """Root of quizrelay's own exceptions."""


class ConfigError(QuizrelayError):
    """A setting or a file in agents_config/ is invalid; the message says what to change."""


class ModelServerError(QuizrelayError):
    """The embedded model server did not start or stopped answering."""


class RoundFailure(QuizrelayError):
    """A round cannot finish; ``code`` is one of the stable codes above."""

    def __init__(self, code: str, message: str, *, role: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.role = role

    def __repr__(self) -> str:
        return f"RoundFailure(code={self.code!r}, message={self.message!r}, role={self.role!r})"


def _openai_error_detail(exc: openai.APIStatusError) -> str:
    """The server's own error message, without echoing the request (which may hold a key)."""
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message


def failure_from_exception(exc: BaseException, *, role: str | None = None) -> RoundFailure:
    """Map any exception raised while a pipeline runs to a :class:`RoundFailure`.

    Both pipelines use this one mapping, so the same fault gets the same code in each.
    """
    # Imported here: the SDK is heavy and errors.py is imported by light modules too.
    from agents.exceptions import (
        MaxTurnsExceeded,
        ModelBehaviorError,
        ModelTimeoutError,
        OutputGuardrailTripwireTriggered,
    )

    where = f" while the {role} was running" if role else ""
    if isinstance(exc, RoundFailure):
        if exc.role is None:
            exc.role = role
        return exc
    if isinstance(exc, (openai.APITimeoutError, ModelTimeoutError)):
        return RoundFailure(
            MODEL_TIMEOUT, f"The model server did not answer in time{where}.", role=role
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        if cause is not None and "connect" in type(cause).__name__.lower():
            message = f"Could not connect to the model server{where}: {cause}."
            return RoundFailure(MODEL_UNREACHABLE, message, role=role)
        return RoundFailure(
            MODEL_STREAM_INTERRUPTED,
            f"The connection to the model server broke{where} ({exc.message}).",
            role=role,
        )
    if isinstance(exc, openai.RateLimitError):
        detail = _openai_error_detail(exc)
        message = f"The model server is rate limiting requests (HTTP 429){where}: {detail}"
        return RoundFailure(MODEL_RATE_LIMITED, message, role=role)
    if isinstance(exc, openai.APIStatusError) and "requires --jinja" in str(exc):
        detail = _openai_error_detail(exc)
        message = (
            f"The model server rejected the request (HTTP {exc.status_code}){where}: {detail}. "
            "Start llama-server with --jinja (or set QUIZRELAY_MODEL_PROFILE=llama-server)."
        )
        return RoundFailure(MODEL_REQUEST_REJECTED, message, role=role)
    if isinstance(exc, openai.InternalServerError):
        detail = _openai_error_detail(exc)
        message = f"The model server failed (HTTP {exc.status_code}){where}: {detail}"
        return RoundFailure(MODEL_SERVER_ERROR, message, role=role)
    if isinstance(exc, openai.APIStatusError):
        detail = _openai_error_detail(exc)
        message = f"The model server rejected the request (HTTP {exc.status_code}){where}: {detail}"
        return RoundFailure(MODEL_REQUEST_REJECTED, message, role=role)
    if isinstance(exc, openai.APIError):
        message = (
            f"The model server sent an error in the middle of its stream{where}: {exc.message}"
        )
        return RoundFailure(MODEL_STREAM_INTERRUPTED, message, role=role)
    if isinstance(exc, OutputGuardrailTripwireTriggered):
        info = exc.guardrail_result.output.output_info or {}
        reason = info.get("reason", "") if isinstance(info, dict) else str(info)
        return RoundFailure(
            INVALID_VERDICT, f"The verdict failed its guardrail: {reason}", role=role
        )
    if isinstance(exc, MaxTurnsExceeded):
        message = f"The agents used up their turns without reaching a verdict{where}."
        return RoundFailure(MAX_TURNS_EXCEEDED, message, role=role)
    if isinstance(exc, ModelBehaviorError) and "finish_reason='length'" in exc.message:
        message = f"The model's reply was cut off at its max_tokens{where}: {exc.message}"
        return RoundFailure(MODEL_OUTPUT_TRUNCATED, message, role=role)
    if isinstance(exc, ModelBehaviorError):
        message = f"The model produced output that could not be used{where}: {exc.message}"
        return RoundFailure(INVALID_TOOL_ARGUMENTS, message, role=role)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return RoundFailure(ROUND_TIMEOUT, f"The round took too long{where}.", role=role)
    if isinstance(exc, asyncio.CancelledError):
        return RoundFailure(CANCELLED, "The round was cancelled.", role=role)
    message = f"Unexpected {type(exc).__name__}{where}: {exc}"
    return RoundFailure(INTERNAL_ERROR, message, role=role)


def failure_from_request(request: str, *, role: str | None = None) -> RoundFailure:
    """The failure a stored request to end a round stands for (``<code>: <message>``, as the
    API's cancel or the sweeper's give-up wrote it)."""
    code, _, message = request.partition(": ")
    if code not in (CANCELLED, WORKER_LOST):
        code, message = CANCELLED, request
    return RoundFailure(code, message or "The round was cancelled.", role=role)


REDACTED = "[redacted]"


@overload
def scrub(value: str, secrets: Iterable[str]) -> str: ...
@overload
def scrub(value: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]: ...
@overload
def scrub(value: object, secrets: Iterable[str]) -> object: ...
def scrub(value: object, secrets: Iterable[str]) -> object:
    """Return ``value`` with every secret string replaced, recursing into dicts and lists (a
    string stays a string, a dict a dict; tuples come back as lists).

    Used on everything that leaves the process or is stored: span data, error messages, events.
    """
    secret_list = [s for s in secrets if s]
    if not secret_list:
        return value
    return _scrub(value, secret_list)


def _scrub(value: object, secrets: list[str]) -> object:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value
    if isinstance(value, dict):
        return {key: _scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(item, secrets) for item in value]
    return value


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """:func:`scrub` for a plain string."""
    return scrub(text, secrets)
