"""When and how long to wait before calling a failing model again: one policy, both pipelines.

Transient failures — the server unreachable, a timeout, HTTP 408/409/429/5xx, a stream cut or
an error mid-stream — are retried with exponential backoff (or the server's ``Retry-After``),
up to ``QUIZRELAY_LLM_MAX_RETRIES`` times per model call. Each retry is announced as a
``CUSTOM retry`` event and the failed attempt stays on the trace as a generation span with its
error, so a retry is never invisible. The ``openai`` client's own retries are switched off so
this is the only policy in play.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import openai

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


PERMANENT_5XX = ("requires --jinja",)
"""Server errors that no retry can fix (llama-server started without ``--jinja``)."""


def permanent_server_error(exc: BaseException) -> bool:
    return isinstance(exc, openai.APIStatusError) and any(
        marker in str(exc) for marker in PERMANENT_5XX
    )


def is_transient(exc: BaseException) -> bool:
    if isinstance(
        exc, (openai.APITimeoutError, openai.APIConnectionError, TimeoutError, asyncio.TimeoutError)
    ):
        return True
    if isinstance(exc, openai.APIStatusError):
        if permanent_server_error(exc):
            return False
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    if isinstance(exc, openai.APIError):  # an error event in the middle of a stream
        return True
    try:
        from agents.exceptions import ModelTimeoutError  # the SDK's per-call deadline
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, ModelTimeoutError)


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's ``Retry-After`` (seconds or ``-ms``), when it sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) / divisor)
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0

    def should_retry(self, exc: BaseException, retries_done: int) -> bool:
        return retries_done < self.max_retries and is_transient(exc)

    def delay(self, retry_number: int, exc: BaseException) -> float:
        """Seconds before retry ``retry_number`` (1-based): Retry-After if given (capped),
        else exponential backoff with jitter."""
        advised = retry_after_seconds(exc)
        if advised is not None:
            return min(advised, self.max_delay)
        backoff = min(self.base_delay * (2 ** (retry_number - 1)), self.max_delay)
        return backoff * random.uniform(0.75, 1.0)
