"""A comparison's result as a terminal table, JSON and CSV (``quizrelay compare``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

CSV_COLUMNS = [
    "index",
    "seed",
    "category",
    "pipeline",
    "round_id",
    "trace_id",
    "status",
    "error_code",
    "correct",
    "ttft_ms",
    "round_ms",
    "model_ms",
    "overhead_ms",
    "model_calls",
    "input_tokens",
    "output_tokens",
    "cost",
]


def _ms(spread: dict[str, Any]) -> str:
    if spread.get("median") is None:
        return "-"
    return f"{spread['median']:.0f} / {spread['p95']:.0f} ms"


def _mean(amount: dict[str, Any] | None, digits: int = 1) -> str:
    if not amount or amount.get("mean") is None:
        return "-"
    return f"{amount['mean']:.{digits}f}"


def render_table(result: dict[str, Any]) -> str:
    pipelines = result["pipelines"]
    names = list(pipelines)
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, render: Any) -> None:
        rows.append((label, [render(pipelines[name]) for name in names]))

    row("rounds completed", lambda p: f"{p['completed']} / {p['rounds']}")
    row(
        "correct verdicts",
        lambda p: (
            f"{p['correct']}" + (f" ({p['accuracy']:.0%})" if p["accuracy"] is not None else "")
        ),
    )
    row("errors", lambda p: ", ".join(f"{k}×{v}" for k, v in p["errors"].items()) or "none")
    row("time to first token (median / p95)", lambda p: _ms(p["ttft_ms"]))
    row("round time (median / p95)", lambda p: _ms(p["round_ms"]))
    row(
        "time in model calls (median)",
        lambda p: "-" if p["model_ms"]["median"] is None else f"{p['model_ms']['median']:.0f} ms",
    )
    row(
        "orchestration overhead (median)",
        lambda p: (
            "-"
            if p["overhead_ms"]["median"] is None
            else f"{p['overhead_ms']['median']:.0f} ms ({p['overhead_share']:.1%})"
        ),
    )
    row("model calls per round", lambda p: _mean(p["model_calls"]))
    row("input tokens per round", lambda p: _mean(p["input_tokens"], 0))
    row("output tokens per round", lambda p: _mean(p["output_tokens"], 0))
    row("cost (total)", lambda p: "no price" if p["cost"] is None else f"${p['cost']['total']:.4f}")
    width = max(len(label) for label, _ in rows)
    columns = [
        max(len(name), *(len(values[i]) for _, values in rows)) for i, name in enumerate(names)
    ]
    lines = [" " * width + "  " + "  ".join(name.rjust(columns[i]) for i, name in enumerate(names))]
    lines.append("-" * len(lines[0]))
    for label, values in rows:
        lines.append(
            label.ljust(width) + "  " + "  ".join(v.rjust(columns[i]) for i, v in enumerate(values))
        )
    return "\n".join(lines)


def csv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for question in result["questions"]:
        for pipeline, entry in question["rounds"].items():
            rows.append(
                {column: entry.get(column) for column in CSV_COLUMNS} | {"pipeline": pipeline}
            )
    return rows


def write_outputs(result: dict[str, Any], *, json_path: Path | None, csv_path: Path | None) -> None:
    if json_path is not None:
        json_path.write_text(json.dumps(result, indent=2, default=str))
    if csv_path is not None:
        with csv_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
            writer.writeheader()
            writer.writerows(csv_rows(result))
