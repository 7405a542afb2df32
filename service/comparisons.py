"""Comparisons: the same questions through both pipelines, and what each one cost.

Questions are played one at a time, interleaved (agents, chat, agents, chat, ...) with the same
seed and category for both pipelines, so both meet the same questions and the same drift of the
machine. Everything is measured from what the service recorded: time to first token from the
round, round time, model calls, tokens, cost and time inside model calls from the round's trace
(so the numbers agree with the trace pages), correctness from the verdict against the known
answer. Orchestration overhead is round time minus time spent inside model calls.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .agent_specs import PricesSpec
from .events import RoundEvents
from .rounds.live import RoundEventLog
from .rounds.runner import RoundRunner, new_id
from .storage.games import GameStore
from .storage.rounds import RoundStore
from .storage.traces import TraceStore
from .tracing.views import build_view

logger = logging.getLogger(__name__)

PIPELINE_ORDER = ("agents", "chat")
PROGRESS = "comparison_progress"
SUMMARY = "comparison_summary"


@dataclass
class ComparisonRequestData:
    rounds: int
    categories: list[str] | None = None
    difficulty: str | None = None
    seed: int | None = None
    owner: str | None = None


@dataclass
class LiveComparison:
    id: str
    log: RoundEventLog
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    owner: str | None = None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..1) of the values; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 1)))  # ceil(q * n)
    return round(ordered[min(rank, len(ordered)) - 1], 1)


def _spread(values: list[float]) -> dict[str, float | None]:
    return {
        "median": round(statistics.median(values), 1) if values else None,
        "p95": percentile(values, 0.95),
        "mean": round(statistics.fmean(values), 1) if values else None,
    }


def _amounts(values: list[float]) -> dict[str, float | None]:
    return {
        "total": round(sum(values), 8),
        "mean": round(statistics.fmean(values), 3) if values else None,
    }


class ComparisonRunner:
    def __init__(
        self,
        *,
        runner: RoundRunner,
        rounds: RoundStore,
        games: GameStore,
        traces: TraceStore,
        flush_traces: Callable[[], Any],
        prices: PricesSpec,
    ) -> None:
        self.runner = runner
        self.rounds = rounds
        self.games = games
        self.traces = traces
        self.flush_traces = flush_traces
        self.prices = prices
        self.live: dict[str, LiveComparison] = {}

    async def start(self, request: ComparisonRequestData) -> LiveComparison:
        comparison_id = new_id("cmp")
        seed = (
            request.seed
            if request.seed is not None
            else int(asyncio.get_running_loop().time() * 1000) % 2**31
        )
        settings = {
            "rounds": request.rounds,
            "categories": request.categories,
            "difficulty": request.difficulty,
            "seed": seed,
            "pipelines": list(PIPELINE_ORDER),
        }
        await asyncio.to_thread(
            self.games.create_comparison, comparison_id, settings, request.owner
        )
        live = LiveComparison(id=comparison_id, log=RoundEventLog(), owner=request.owner)
        self.live[comparison_id] = live
        live.task = asyncio.create_task(
            self._run(live, settings), name=f"comparison {comparison_id}"
        )
        return live

    async def _run(self, live: LiveComparison, settings: dict[str, Any]) -> None:
        events = RoundEvents(live.log.publish, thread_id=live.id, run_id=live.id)
        events.run_started()
        events.custom("comparison", {"comparison_id": live.id, **settings})
        played: list[dict[str, Any]] = []
        status, result, error = "completed", None, None
        try:
            total = settings["rounds"] * len(PIPELINE_ORDER)
            for index in range(settings["rounds"]):
                seed = settings["seed"] + index
                categories = settings["categories"]
                category = categories[index % len(categories)] if categories else None
                for pipeline in PIPELINE_ORDER:
                    plan = self.runner.plan(
                        pipeline=pipeline,
                        category=category,
                        difficulty=settings["difficulty"],
                        seed=seed,
                        game_id=f"{live.id}_{pipeline}",
                        owner=live.owner,
                    )
                    round_live = await self.runner.start(plan)
                    await round_live.done.wait()
                    ctx = round_live.ctx
                    entry = {
                        "index": index,
                        "pipeline": pipeline,
                        "round_id": ctx.round_id,
                        "trace_id": round_live.trace_id,
                        "seed": seed,
                        "category": ctx.category,
                        "status": round_live.status,
                        "correct": ctx.verdict.correct if ctx.verdict else None,
                        "error_code": round_live.failure.code if round_live.failure else None,
                        "done": len(played) + 1,
                        "of": total,
                    }
                    played.append(entry)
                    events.custom(PROGRESS, entry)
            result = await asyncio.to_thread(self.summarize, live.id, settings, played)
            events.custom(SUMMARY, result)
            events.run_finished(result)
        except asyncio.CancelledError:
            status, error = (
                "failed",
                {"code": "cancelled", "message": "The comparison was cancelled."},
            )
            events.run_error(error["code"], error["message"])
            raise
        except Exception as exc:  # reported, stored, and the stream ends with RUN_ERROR
            logger.exception("comparison %s failed", live.id)
            status, error = (
                "failed",
                {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"},
            )
            events.run_error(error["code"], error["message"])
        finally:
            try:
                await asyncio.shield(
                    asyncio.to_thread(
                        self.games.finish_comparison,
                        live.id,
                        status=status,
                        result=result,
                        error=error,
                        events=list(live.log.records),
                    )
                )
            finally:
                live.log.close()
                self.live.pop(live.id, None)
                live.done.set()

    def summarize(
        self, comparison_id: str, settings: dict[str, Any], played: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Per-pipeline statistics and per-question pairs, from the stored rounds and traces."""
        self.flush_traces()
        measured = []
        for entry in played:
            row = self.rounds.get_round(entry["round_id"])
            trace = self.traces.get_trace(entry["trace_id"])
            view = (
                build_view(trace, self.traces.spans(entry["trace_id"]), self.prices)
                if trace
                else None
            )
            totals = view.total.as_dict() if view else {}
            round_ms = view.trace["duration_ms"] if view else (row.total_ms if row else None)
            model_ms = totals.get("model_ms")
            measured.append(
                {
                    **entry,
                    "question": row.question if row else None,
                    "reference_answer": row.reference_answer if row else None,
                    "ttft_ms": row.time_to_first_token_ms if row else None,
                    "round_ms": round_ms,
                    "model_ms": model_ms,
                    "overhead_ms": round(round_ms - model_ms, 1)
                    if round_ms is not None and model_ms is not None
                    else None,
                    "model_calls": totals.get("model_calls", 0),
                    "input_tokens": totals.get("input_tokens", 0),
                    "output_tokens": totals.get("output_tokens", 0),
                    "cost": totals.get("cost"),
                    "links": {
                        "round": f"/api/rounds/{entry['round_id']}",
                        "trace": f"/api/traces/{entry['trace_id']}",
                        "trace_page": f"/traces/{entry['trace_id']}",
                    },
                }
            )
        pipelines = {
            name: self._pipeline_stats([m for m in measured if m["pipeline"] == name])
            for name in PIPELINE_ORDER
        }
        questions = []
        for index in range(settings["rounds"]):
            pair = {m["pipeline"]: m for m in measured if m["index"] == index}
            if not pair:
                continue
            first = next(iter(pair.values()))
            a, b = pair.get("agents"), pair.get("chat")
            questions.append(
                {
                    "index": index,
                    "seed": first["seed"],
                    "category": first["category"],
                    "question": first["question"],
                    "reference_answer": first["reference_answer"],
                    "rounds": pair,
                    "compare_page": f"/traces/compare?a={a['trace_id']}&b={b['trace_id']}"
                    if a and b
                    else None,
                }
            )
        return {
            "id": comparison_id,
            "settings": settings,
            "pipelines": pipelines,
            "questions": questions,
        }

    @staticmethod
    def _pipeline_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
        completed = [r for r in rows if r["status"] == "completed"]
        judged = [r for r in rows if r["correct"] is not None]
        costs = [r["cost"] for r in rows]

        def values(key: str, source: list[dict[str, Any]] = completed) -> list[float]:
            return [float(r[key]) for r in source if r.get(key) is not None]

        overhead_share = [
            r["overhead_ms"] / r["round_ms"]
            for r in completed
            if r.get("overhead_ms") is not None and r.get("round_ms")
        ]
        return {
            "rounds": len(rows),
            "completed": len(completed),
            "errors": dict(Counter(r["error_code"] for r in rows if r["error_code"])),
            "correct": sum(1 for r in judged if r["correct"]),
            "accuracy": round(sum(1 for r in judged if r["correct"]) / len(judged), 3)
            if judged
            else None,
            "ttft_ms": _spread(values("ttft_ms")),
            "round_ms": _spread(values("round_ms")),
            "model_ms": _spread(values("model_ms")),
            "overhead_ms": _spread(values("overhead_ms")),
            # Rounded once, here, to the 0.1 % every view shows: the page, CLI and JSON agree.
            "overhead_share": round(statistics.median(overhead_share), 3)
            if overhead_share
            else None,
            "model_calls": _amounts(values("model_calls", rows)),
            "input_tokens": _amounts(values("input_tokens", rows)),
            "output_tokens": _amounts(values("output_tokens", rows)),
            "cost": None if any(c is None for c in costs) else _amounts([float(c) for c in costs]),
        }
