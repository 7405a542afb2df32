"""Prometheus metrics (the ``prometheus-client`` library), served at ``/metrics``.

Each app owns its registry (no process-global state, so tests and several apps in one process
do not mix). Set ``PROMETHEUS_MULTIPROC_DIR`` to run several processes on one host (an API and
its workers) and have any of them serve the sum: prometheus-client then keeps every value in
files in that folder, and ``/metrics`` reads them all.

    quizrelay_rounds_started_total{pipeline}
    quizrelay_rounds_finished_total{pipeline, status, code}
    quizrelay_round_seconds{pipeline}                   histogram, completed and failed rounds
    quizrelay_time_to_first_token_seconds{pipeline}     histogram
    quizrelay_model_calls_total{pipeline, role}
    quizrelay_tokens_total{pipeline, role, direction}   direction: input | output
    quizrelay_resumes_total                             attempts that continued a lost one
    quizrelay_rounds_running                            in this process's workers
    quizrelay_queue_depth                               jobs waiting for a worker
    quizrelay_sse_clients                               streams open on this process
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:
    from .errors import RoundFailure
    from .rounds.context import RoundContext

SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
FIRST_TOKEN = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.rounds_started = Counter(
            "quizrelay_rounds_started", "Rounds started", ["pipeline"], registry=r
        )
        self.rounds_finished = Counter(
            "quizrelay_rounds_finished",
            "Rounds ended, by outcome and error code",
            ["pipeline", "status", "code"],
            registry=r,
        )
        self.round_seconds = Histogram(
            "quizrelay_round_seconds", "Round time", ["pipeline"], buckets=SECONDS, registry=r
        )
        self.first_token_seconds = Histogram(
            "quizrelay_time_to_first_token_seconds",
            "Time from the round's request to its first token",
            ["pipeline"],
            buckets=FIRST_TOKEN,
            registry=r,
        )
        self.model_calls = Counter(
            "quizrelay_model_calls", "Model calls", ["pipeline", "role"], registry=r
        )
        self.tokens = Counter(
            "quizrelay_tokens", "Tokens", ["pipeline", "role", "direction"], registry=r
        )
        self.resumes = Counter(
            "quizrelay_resumes",
            "Attempts that resumed a round after its worker was lost",
            registry=r,
        )
        self.rounds_running = Gauge(
            "quizrelay_rounds_running",
            "Rounds running in this process's workers",
            multiprocess_mode="livesum",
            registry=r,
        )
        self.queue_depth = Gauge(
            "quizrelay_queue_depth",
            "Jobs waiting for a worker",
            multiprocess_mode="max",
            registry=r,
        )
        self.sse_clients = Gauge(
            "quizrelay_sse_clients",
            "Event streams open on this process",
            multiprocess_mode="livesum",
            registry=r,
        )

    def round_started(self, pipeline: str) -> None:
        self.rounds_started.labels(pipeline).inc()

    def round_finished(self, ctx: RoundContext, failure: RoundFailure | None) -> None:
        status = "failed" if failure else "completed"
        self.rounds_finished.labels(ctx.pipeline, status, failure.code if failure else "").inc()
        timings = ctx.timings.as_dict()
        if timings["total_ms"] is not None:
            self.round_seconds.labels(ctx.pipeline).observe(timings["total_ms"] / 1000.0)
        if timings["time_to_first_token_ms"] is not None:
            self.first_token_seconds.labels(ctx.pipeline).observe(
                timings["time_to_first_token_ms"] / 1000.0
            )
        for role, usage in ctx.usage.roles.items():
            self.model_calls.labels(ctx.pipeline, role).inc(usage.requests)
            self.tokens.labels(ctx.pipeline, role, "input").inc(usage.input_tokens)
            self.tokens.labels(ctx.pipeline, role, "output").inc(usage.output_tokens)

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric (of every process, in multi-process mode)."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
