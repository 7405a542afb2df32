"""A comparison's result as files: JSON (everything), CSV (one row per round)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

CSV_COLUMNS = (
    "question", "arm", "pipeline", "model", "category", "seed", "status", "correct",
    "error_code", "ttft_ms", "round_ms", "model_ms", "overhead_ms", "model_calls",
    "input_tokens", "output_tokens", "cost", "round_id", "trace_id",
)  # fmt: skip


def as_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, ensure_ascii=False, default=str)


def csv_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for question in result.get("questions", []):
        for arm, played in question["rounds"].items():
            rows.append({**played, "question": question["index"] + 1, "arm": arm})
    return rows


def as_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(result):
        writer.writerow(row)
    return out.getvalue()
