"""A comparison's result as terminal tables (``quizrelay compare``).

Every number is read from the result's ``statistics`` (service/comparisons/statistics.py), the
same figures the API, the compare page and the exports show; nothing is recomputed here. Three
tables: each arm (accuracy with its Wilson interval, medians with bootstrap intervals), each arm
paired with the baseline (difference, interval, test, p-value, significant or not, questions
needed), and accuracy by category.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

METRIC_LABELS = {
    "ttft_ms": "time to first token",
    "round_ms": "round time",
    "overhead_ms": "orchestration overhead",
    "model_calls": "model calls",
    "input_tokens": "input tokens",
    "output_tokens": "output tokens",
    "cost": "cost ($)",
}
TEST_NAMES = {"mcnemar_exact": "McNemar exact", "wilcoxon": "Wilcoxon signed-rank"}


def _num(value: float | None, key: str) -> str:
    if value is None:
        return "-"
    if key.endswith("_ms"):
        return f"{value:.0f} ms"
    if key == "cost":
        return f"{value:.6f}"
    return f"{value:g}"


def _signed(value: float | None, key: str) -> str:
    text = _num(value, key)
    return text if value is None or value < 0 else "+" + text


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _interval(low: float | None, high: float | None, show: Callable[[float | None], str]) -> str:
    if low is None or high is None:
        return ""
    return f" [{show(low)}, {show(high)}]"


def _grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i])
                       for i, c in enumerate(line)) for line in [header, *rows]]  # fmt: skip
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _accuracy(arm: dict[str, Any]) -> str:
    wilson = arm["accuracy_wilson"] or {"low": None, "high": None}
    text = f"{arm['correct']}/{arm['judged']} {_pct(arm['accuracy'])}"
    return text + _interval(wilson["low"], wilson["high"], _pct)


def _median(metric: dict[str, Any], key: str) -> str:
    return _num(metric["median"], key) + _interval(
        metric["low"], metric["high"], lambda v: _num(v, key)
    )


def _metric_median(arm: dict[str, Any], *, key: str) -> str:
    return _median(arm["metrics"][key], key)


def arms_table(result: dict[str, Any]) -> str:
    statistics = result["statistics"]
    arms = list(statistics["arms"])
    header = ["per arm (median [95% CI])", *arms]
    rows: list[list[str]] = []

    def row(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        rows.append([label, *(cell(statistics["arms"][arm]) for arm in arms)])

    row("rounds completed", lambda s: f"{s['completed']} / {s['rounds']}")
    row("accuracy [95% Wilson]", _accuracy)
    row("errors", lambda s: ", ".join(f"{k}×{v}" for k, v in s["errors"].items()) or "none")
    for key, label in METRIC_LABELS.items():
        row(label, partial(_metric_median, key=key))
    return _grid(header, rows)


def _verdict(entry: dict[str, Any]) -> str:
    if entry["p_value"] is None:
        return f"no test ({entry['reason']})"
    said = "significant" if entry["significant"] else "not significant"
    needed = entry.get("questions_needed")
    more = f"; ~{needed} questions to detect it" if needed and not entry["significant"] else ""
    return f"{TEST_NAMES.get(entry['test'], entry['test'])} p={entry['p_value']:g}, {said}{more}"


def paired_table(result: dict[str, Any]) -> str:
    statistics = result["statistics"]
    baseline = statistics["baseline"]
    lines: list[str] = []
    for arm, paired in statistics["paired"].items():
        rows: list[list[str]] = []
        c = paired["correctness"]
        diff = c["difference"]
        rows.append([
            "accuracy",
            f"{_pct(c['baseline_accuracy'])} → {_pct(c['other_accuracy'])}",
            ("-" if diff["value"] is None else f"{diff['value'] * 100:+.0f} pts")
            + _interval(diff["low"], diff["high"], lambda v: f"{(v or 0) * 100:+.0f}"),
            _verdict(c),
        ])  # fmt: skip
        for key, label in METRIC_LABELS.items():
            m = paired["metrics"][key]
            rows.append([
                label, f"n={m['n']}",
                _signed(m["median"], key)
                + _interval(m["low"], m["high"], partial(_signed, key=key)),
                _verdict(m),
            ])  # fmt: skip
        title = f"{arm} − {baseline} ({paired['pairs']} paired questions)"
        lines.append(_grid([title, "", "difference [95% CI]", "paired test"], rows))
    return "\n\n".join(lines)


def categories_table(result: dict[str, Any]) -> str:
    statistics = result["statistics"]
    arms = list(statistics["arms"])
    rows = []
    for category, per_arm in statistics["categories"].items():
        cells = []
        for arm in arms:
            s = per_arm.get(arm)
            cells.append(
                "-" if s is None else f"{s['correct']}/{s['judged']} {_pct(s['accuracy'])}"
            )
        rows.append([category, *cells])
    return _grid(["accuracy by category", *arms], rows)


def render_report(result: dict[str, Any]) -> str:
    """The three tables, as ``quizrelay compare`` prints them."""
    settings = result.get("settings") or {}
    head = (
        f"comparison {result['id']}: {settings.get('rounds')} questions (seed "
        f"{settings.get('seed')}) × {len(result['statistics']['arms'])} arms, baseline "
        f"{result['statistics']['baseline']}; 95% intervals, α = {result['statistics']['alpha']}"
    )
    parts = [head, arms_table(result)]
    if result["statistics"]["paired"]:
        parts.append(paired_table(result))
    parts.append(categories_table(result))
    return "\n\n".join(parts)


def parse_arm(text: str) -> dict[str, Any]:
    """``[NAME=]PIPELINE[@MODEL][,SETTING=VALUE...]`` → an arm of ``POST /api/comparisons``.

    ``chat``, ``fast=chat@gpt-4o-mini``, ``hot=agents,temperature=0.9``.
    """
    head, *extras = text.split(",")
    arm: dict[str, Any] = {}
    if "=" in head:
        arm["name"], head = head.split("=", 1)
    pipeline, _, model = head.partition("@")
    if not pipeline:
        raise ValueError(f"--arm {text!r}: give a pipeline, as in [NAME=]PIPELINE[@MODEL]")
    arm["pipeline"] = pipeline
    if model:
        arm["model"] = model
    settings: dict[str, Any] = {}
    for extra in extras:
        key, sep, value = extra.partition("=")
        if not sep or not key:
            raise ValueError(f"--arm {text!r}: model settings are KEY=VALUE, got {extra!r}")
        settings[key] = _setting(value)
    if settings:
        arm["model_settings"] = settings
    return arm


def _setting(value: str) -> float | int | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value
