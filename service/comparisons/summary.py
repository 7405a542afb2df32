"""A comparison's result: per-arm statistics and per-question pairs, from what was stored.

``statistics`` holds the figures people decide on (intervals, paired tests against the baseline
arm, categories: :mod:`.statistics`); ``pipelines`` keeps the plain per-arm medians.

Everything is measured from what the service recorded: time to first token from the round,
round time, model calls, tokens, cost and time inside model calls from the round's trace (so the
numbers agree with the trace pages), correctness from the verdict against the known answer.
Orchestration overhead is round time minus time spent inside model calls.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from ..agent_specs import PricesSpec
from ..storage.rounds import RoundStore
from ..storage.traces import TraceStore
from ..tracing.views import build_view
from ..vocabulary import round_links
from . import statistics as stats


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


async def summarize(
    comparison_id: str,
    settings: dict[str, Any],
    played: list[dict[str, Any]],
    *,
    rounds: RoundStore,
    traces: TraceStore,
    prices: PricesSpec,
) -> dict[str, Any]:
    """Per-arm statistics and per-question pairs, from the stored rounds and traces."""
    arm_names = [arm["name"] for arm in settings["arms"]]
    baseline = settings.get("baseline") or arm_names[0]
    measured = []
    for entry in played:
        row = await rounds.get(entry["round_id"])
        trace = await traces.get_trace(entry["trace_id"])
        view = build_view(trace, await traces.spans(entry["trace_id"]), prices) if trace else None
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
                "links": round_links(entry["round_id"], entry["trace_id"]),
            }
        )
    pipelines = {name: arm_stats([m for m in measured if m["arm"] == name]) for name in arm_names}
    questions = []
    for index in range(settings["rounds"]):
        pair = {m["arm"]: m for m in measured if m["index"] == index}
        if not pair:
            continue
        first = next(iter(pair.values()))
        base = pair.get(baseline)
        pages = {
            name: f"/traces/compare?a={base['trace_id']}&b={other['trace_id']}"
            for name, other in pair.items()
            if base is not None and name != baseline
        }
        questions.append(
            {
                "index": index,
                "seed": first["seed"],
                "category": first["category"],
                "question": first["question"],
                "reference_answer": first["reference_answer"],
                "rounds": pair,
                "compare_pages": pages,
                "compare_page": next(iter(pages.values()), None),
            }
        )
    return {
        "id": comparison_id,
        "settings": settings,
        "baseline": baseline,
        "statistics": stats.compare(measured, arm_names, baseline),
        "pipelines": pipelines,
        "questions": questions,
    }


def arm_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
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
        "overhead_share": round(statistics.median(overhead_share), 3) if overhead_share else None,
        "model_calls": _amounts(values("model_calls", rows)),
        "input_tokens": _amounts(values("input_tokens", rows)),
        "output_tokens": _amounts(values("output_tokens", rows)),
        "cost": None if any(c is None for c in costs) else _amounts([float(c) for c in costs]),
    }
