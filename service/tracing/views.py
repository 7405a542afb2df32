"""What a trace looks like to a reader: a span tree on one time axis, roll-ups per role, and
two traces side by side.

Pure functions over stored rows, shared by the API, the web pages and the CLI. Roles are the
three agents: every span under an ``agent`` span named Questioner, Answerer or Judge belongs to
that role, in both pipelines (the baseline makes the same agent spans by hand), which is what
lets an orchestrated round and a baseline round be compared role by role.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

from ..agent_specs import PricesSpec
from ..storage.tables import SpanRow, TraceRow

ROLES = ("Questioner", "Answerer", "Judge")


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: datetime | None) -> datetime | None: ...
def aware(value: datetime | None) -> datetime | None:
    """Stored times are UTC; SQLite hands them back naive."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((aware(end) - aware(start)).total_seconds() * 1000.0, 1)


@dataclass
class RoleRollup:
    """Totals for one role (or the whole trace)."""

    duration_ms: float = 0.0
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    tool_calls: int = 0
    handoffs: int = 0
    errors: int = 0
    model_ms: float = 0.0
    """Time spent inside model calls (generation spans)."""

    def add_generation(
        self, usage: dict[str, Any], cost: float | None, duration: float | None
    ) -> None:
        self.model_calls += 1
        self.input_tokens += int(usage.get("input_tokens") or 0)
        self.output_tokens += int(usage.get("output_tokens") or 0)
        self.model_ms += duration or 0.0
        self.cost = None if cost is None or self.cost is None else self.cost + cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_ms": round(self.duration_ms, 1),
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.input_tokens + self.output_tokens,
            "cost": None if self.cost is None else round(self.cost, 8),
            "tool_calls": self.tool_calls,
            "handoffs": self.handoffs,
            "errors": self.errors,
            "model_ms": round(self.model_ms, 1),
        }


@dataclass
class TraceView:
    trace: dict[str, Any]
    spans: list[dict[str, Any]]
    """Flat, in tree order (depth-first, children by start time), each with ``depth``."""
    by_role: dict[str, RoleRollup] = field(default_factory=dict)
    total: RoleRollup = field(default_factory=RoleRollup)

    def as_dict(self, *, include_data: bool = True) -> dict[str, Any]:
        spans = (
            self.spans
            if include_data
            else [{k: v for k, v in s.items() if k != "data"} for s in self.spans]
        )
        return {
            "trace": self.trace,
            "spans": spans,
            "rollups": {
                "by_role": {role: rollup.as_dict() for role, rollup in self.by_role.items()},
                "total": self.total.as_dict(),
            },
        }


def trace_summary(row: TraceRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "workflow_name": row.workflow_name,
        "game_id": row.group_id,
        "round_id": row.round_id,
        "pipeline": row.pipeline,
        "metadata": row.trace_metadata or {},
        "status": row.status or ("running" if row.ended_at is None else "ok"),
        "error": row.error,
        "started_at": aware(row.started_at),
        "ended_at": aware(row.ended_at),
        "duration_ms": _ms(row.started_at, row.ended_at),
        "links": {
            "self": f"/api/traces/{row.id}",
            "page": f"/traces/{row.id}",
            "round": f"/api/rounds/{row.round_id}" if row.round_id else None,
        },
    }


def build_view(row: TraceRow, spans: list[SpanRow], prices: PricesSpec) -> TraceView:
    """The span tree with offsets on the trace's time axis, and the roll-ups."""
    # The axis starts at the earliest of the trace's and its spans' starts (any may be unknown).
    starts = [aware(s.started_at) for s in spans if s.started_at is not None]
    if row.started_at is not None:
        starts.append(aware(row.started_at))
    origin = min(starts, default=None)
    children: dict[str | None, list[SpanRow]] = {}
    known = {span.id for span in spans}
    for span in spans:
        parent = span.parent_id if span.parent_id in known else None
        children.setdefault(parent, []).append(span)
    for siblings in children.values():
        siblings.sort(key=lambda s: (aware(s.started_at) or origin, s.id))

    view = TraceView(trace=trace_summary(row), spans=[])
    view.by_role = {role: RoleRollup() for role in ROLES}

    def visit(span: SpanRow, depth: int, role: str | None) -> None:
        if span.kind == "agent" and span.name in ROLES:
            role = span.name
        view.spans.append(_span_dict(span, depth, role, origin, prices))
        _roll_up(view, span, role, prices)
        for child in children.get(span.id, []):
            visit(child, depth + 1, role)

    for top in children.get(None, []):
        visit(top, 0, None)
    view.total.duration_ms = view.trace["duration_ms"] or 0.0
    view.by_role = {
        role: rollup
        for role, rollup in view.by_role.items()
        if rollup.duration_ms or rollup.model_calls or rollup.tool_calls
    }
    return view


def _span_dict(
    span: SpanRow, depth: int, role: str | None, origin: datetime | None, prices: PricesSpec
) -> dict[str, Any]:
    data = span.data or {}
    duration = _ms(span.started_at, span.ended_at)
    item: dict[str, Any] = {
        "id": span.id,
        "parent_id": span.parent_id,
        "kind": span.kind,
        "name": span.name,
        "role": role,
        "depth": depth,
        "started_at": aware(span.started_at),
        "ended_at": aware(span.ended_at),
        "start_ms": _ms(origin, span.started_at) or 0.0,
        "duration_ms": duration,
        "status": "error" if span.error else "ok",
        "error": span.error,
        "data": data,
    }
    if span.kind == "generation":
        usage = data.get("usage") or {}
        item["model"] = data.get("model")
        item["input_tokens"] = int(usage.get("input_tokens") or 0)
        item["output_tokens"] = int(usage.get("output_tokens") or 0)
        item["ttft_ms"] = data.get("ttft_ms")
        item["cost"] = prices.cost(data.get("model"), item["input_tokens"], item["output_tokens"])
    return item


def _roll_up(view: TraceView, span: SpanRow, role: str | None, prices: PricesSpec) -> None:
    targets = [view.total] + ([view.by_role[role]] if role in view.by_role else [])
    duration = _ms(span.started_at, span.ended_at)
    data = span.data or {}
    for rollup in targets:
        if span.error:
            rollup.errors += 1
        if span.kind == "generation":
            usage = data.get("usage") or {}
            cost = prices.cost(
                data.get("model"),
                int(usage.get("input_tokens") or 0),
                int(usage.get("output_tokens") or 0),
            )
            rollup.add_generation(usage, cost, duration)
        elif span.kind == "function":
            rollup.tool_calls += 1
        elif span.kind == "handoff":
            rollup.handoffs += 1
        elif span.kind == "agent" and rollup is not view.total:
            rollup.duration_ms += duration or 0.0


def compare_views(a: TraceView, b: TraceView) -> dict[str, Any]:
    """Two traces aligned by role, with b − a differences per role and in total."""
    fields = (
        "duration_ms",
        "model_calls",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "tool_calls",
        "handoffs",
        "errors",
        "model_ms",
        "cost",
    )

    def diff(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        result = {}
        for name in fields:
            lv, rv = left.get(name), right.get(name)
            result[name] = None if lv is None or rv is None else round(rv - lv, 8)
        return result

    roles = []
    for role in ROLES:
        left = a.by_role.get(role, RoleRollup()).as_dict()
        right = b.by_role.get(role, RoleRollup()).as_dict()
        roles.append({"role": role, "a": left, "b": right, "diff": diff(left, right)})
    total_a, total_b = a.total.as_dict(), b.total.as_dict()
    return {
        "a": a.trace,
        "b": b.trace,
        "roles": roles,
        "total": {"a": total_a, "b": total_b, "diff": diff(total_a, total_b)},
    }
