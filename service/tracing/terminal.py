"""Traces as text for the terminal: a table of traces, and one trace as a tree with time bars."""

from __future__ import annotations

from typing import Any

BAR_WIDTH = 32


def _seconds(ms: float | None) -> str:
    if ms is None:
        return "   ?   "
    return f"{ms / 1000:6.2f}s" if ms >= 1000 else f"{ms:5.0f}ms"


def _cost(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.4f}"


def render_list(items: list[dict[str, Any]]) -> str:
    lines = [
        f"{'trace':38} {'pipeline':8} {'status':6} {'started (UTC)':19} {'time':>8} {'calls':>5} "
        f"{'tokens in/out':>14} {'cost':>9}"
    ]
    for item in items:
        totals = item["totals"]
        started = item["started_at"].strftime("%Y-%m-%d %H:%M:%S") if item["started_at"] else "?"
        tokens = f"{totals['input_tokens']}/{totals['output_tokens']}"
        lines.append(
            f"{item['id']:38} {item['pipeline'] or '-':8} {item['status']:6} {started:19} "
            f"{_seconds(item['duration_ms']):>8} {totals['model_calls']:>5} {tokens:>14} "
            f"{_cost(totals['cost']):>9}"
        )
    return "\n".join(lines)


def _bar(start_ms: float, duration_ms: float | None, total_ms: float) -> str:
    if total_ms <= 0:
        return " " * BAR_WIDTH
    begin = int(start_ms / total_ms * BAR_WIDTH)
    length = max(1, int((duration_ms or 0) / total_ms * BAR_WIDTH))
    begin = min(begin, BAR_WIDTH - 1)
    length = min(length, BAR_WIDTH - begin)
    return " " * begin + "█" * length + " " * (BAR_WIDTH - begin - length)


def _label(span: dict[str, Any]) -> str:
    label = f"{span['kind']} {span['name']}"
    if span["kind"] == "generation":
        label += f"  {span.get('input_tokens', 0)}→{span.get('output_tokens', 0)} tok"
        if span.get("ttft_ms") is not None:
            label += f", ttft {span['ttft_ms']:.0f}ms"
    if span["status"] == "error":
        label += f"  ✗ {(span['error'] or {}).get('message', '')[:60]}"
    return label


def render_tree(view: dict[str, Any]) -> str:
    trace, spans, rollups = view["trace"], view["spans"], view["rollups"]
    total = trace["duration_ms"] or max(
        (s["start_ms"] + (s["duration_ms"] or 0) for s in spans), default=0
    )
    totals = rollups["total"]
    lines = [
        f"{trace['id']}  {trace['workflow_name']}  pipeline={trace['pipeline']}  "
        f"round={trace['round_id']}  game={trace['game_id']}  status={trace['status']}",
        f"{_seconds(trace['duration_ms']).strip()}  {totals['model_calls']} model calls  "
        f"{totals['input_tokens']}/{totals['output_tokens']} tokens  cost {_cost(totals['cost'])}",
        "",
    ]
    for span in spans:
        indent = "  " * span["depth"]
        text = f"{indent}{_label(span)}"
        bar = _bar(span["start_ms"], span["duration_ms"], total)
        lines.append(f"{text[:70]:70} |{bar}| {_seconds(span['duration_ms'])}")
    lines.append("")
    lines.append(
        f"{'role':12} {'time':>8} {'calls':>5} {'tokens in/out':>14} {'tools':>5} {'cost':>9}"
    )
    for role, rollup in rollups["by_role"].items():
        tokens = f"{rollup['input_tokens']}/{rollup['output_tokens']}"
        lines.append(
            f"{role:12} {_seconds(rollup['duration_ms']):>8} {rollup['model_calls']:>5} "
            f"{tokens:>14} {rollup['tool_calls']:>5} {_cost(rollup['cost']):>9}"
        )
    return "\n".join(lines)
