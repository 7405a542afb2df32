"""Statistics and tables of ``benchmarks/load.py`` (kept apart so the driver stays readable)."""

from __future__ import annotations

import math
import os
import statistics
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.rounds import Round


def ms(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of seconds, in ms."""
    ordered = sorted(values)
    return (
        round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000, 1) if ordered else None
    )


def summarize(rounds: list[Round], wall: float) -> dict[str, Any]:
    def series(name: str) -> list[float]:
        return [getattr(r, name) for r in rounds if getattr(r, name) is not None]

    gaps, token_gaps = (
        [g for r in rounds for g in r.gaps],
        [g for r in rounds for g in r.token_gaps],
    )
    return {
        "rounds": len(rounds),
        "rounds_per_s": round(len(rounds) / wall, 2) if wall else None,
        "errors": sum(r.end != "RUN_FINISHED" for r in rounds),
        "error_codes": dict(Counter(r.error for r in rounds if r.error)),
        "rounds_with_bad_ids": sum(
            r.ids != list(range(1, len(r.ids) + 1)) or len(r.ids) != r.data_lines for r in rounds
        ),
        "lost_events": sum(
            len(set(range(1, max(r.ids, default=0) + 1)) - set(r.ids)) for r in rounds
        ),
        "duplicated_events": sum(len(r.ids) - len(set(r.ids)) for r in rounds),
        "replay_mismatches": sum(r.replay_match is False for r in rounds),
        "replay_checked": sum(r.replay_match is not None for r in rounds),
        "events_per_round": round(statistics.mean(len(r.ids) for r in rounds), 1)
        if rounds
        else None,
        **{
            f"{name}_p{q}_ms": ms(series(name), q)
            for name in ("first_event", "first_token", "total")
            for q in (50, 99)
        },
        "gap_p99_ms": ms(gaps, 99),
        "gap_max_ms": ms(gaps, 100),
        "token_gap_p99_ms": ms(token_gaps, 99),
        "token_gap_max_ms": ms(token_gaps, 100),
        "cpu_s_per_round": round(statistics.mean(series("cpu")), 4)
        if rounds and len(series("cpu")) == len(rounds)
        else None,
    }


ROWS = [  # the table of a level: label, the summary fields shown in that row
    ("rounds, rounds/s", ("rounds", "rounds_per_s")),
    ("errors (not RUN_FINISHED)", ("errors", "error_codes")),
    ("ids not 1..n / lost / dup", ("rounds_with_bad_ids", "lost_events", "duplicated_events")),
    ("replay mismatch / checked", ("replay_mismatches", "replay_checked")),
    ("events per round", ("events_per_round",)),
    ("first event p50 / p99 ms", ("first_event_p50_ms", "first_event_p99_ms")),
    ("first token p50 / p99 ms", ("first_token_p50_ms", "first_token_p99_ms")),
    ("round p50 / p99 ms", ("total_p50_ms", "total_p99_ms")),
    ("gap p99 / max ms", ("gap_p99_ms", "gap_max_ms")),
    ("token gap p99 / max ms", ("token_gap_p99_ms", "token_gap_max_ms")),
    ("service CPU s / round", ("cpu_s_per_round",)),
]


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.1f}"
    return "-" if value in (None, {}) else str(value)


def print_level(level: dict[str, Any]) -> None:
    columns, n = ["all", *[p for p in level["pipelines"] if p in level]], level["all"]["rounds"]
    pace = "one at a time" if level["concurrency"] == 1 else "at once"
    print(f"\n== {level['name']}: {n} rounds {pace} ({' + '.join(level['pipelines'])}) ==")
    level["all"]["cpu_s_per_round"] = (
        level["all"]["cpu_s_per_round"] or level["service_cpu_s_per_round"]
    )
    print(f"{'':27}" + "".join(f"{c:>24}" for c in columns))
    for label, keys in ROWS:
        print(
            f"{label:27}"
            + "".join(f"{' / '.join(fmt(level[c][k]) for k in keys):>24}" for c in columns)
        )
    print(
        f"service: {level['service_cpu_s']} CPU s = {level['service_cpu_pct_of_core']}% of a core "
        f"(event-loop thread {level['loop_thread_pct_of_core']}%), "
        f"peak RSS {level['service_peak_rss_mib']} MiB, RSS {level['service_rss_mib']} MiB; "
        f"replaying a round (GET events) {1000 * level['replay_cpu_s_per_round']:.1f} ms CPU\n"
        f"CPU s: model server {level['model_server_cpu_s']}, this client {level['client_cpu_s']}, "
        f"other processes {level['other_processes_cpu_s']}; "
        f"machine busy {level['machine_busy_pct']}% of {os.cpu_count()} cores"
    )
    if d := level.get("direct_at_load"):
        print(
            f"same calls without the service ({n} at once from this process): "
            f"{d['errors']} errors, round p50 / p99 "
            f"{fmt(d['total_p50_ms'])} / {fmt(d['total_p99_ms'])} ms, "
            f"gap p99 {d['gap_p99_ms']} ms, "
            f"{1000 * d['cpu_s_per_round']:.1f} ms CPU per round"
        )


def print_overhead(rows: list[dict[str, Any]]) -> None:
    print(
        "\n== overhead at concurrency 1: service vs the same model calls straight to the model "
        "server (medians) =="
    )
    print(
        f"{'pipeline':9}{'n':>3} | {'TTFT direct':>11}{'service':>9}{'added':>8}{'ratio':>7} | "
        f"{'round direct':>12}{'service':>9}{'added':>8}{'added %':>8}{'ratio':>7} | "
        "target: TTFT +10 ms, round +2 %"
    )

    def verdict(good: bool) -> str:
        return "met" if good else "MISSED"

    for r in rows:
        print(
            f"{r['pipeline']:9}{r['samples']:>3} | "
            f"{r['ttft_direct_ms']:>11.1f}{r['ttft_service_ms']:>9.1f}"
            f"{r['ttft_added_ms']:>8.1f}{r['ttft_ratio']:>7.3f} | "
            f"{r['round_direct_ms']:>12.1f}{r['round_service_ms']:>9.1f}"
            f"{r['round_added_ms']:>8.1f}{r['round_added_pct']:>8.2f}{r['round_ratio']:>7.3f} | "
            f"TTFT {verdict(r['ttft_added_ms'] < 10)}, round {verdict(r['round_added_pct'] < 2)}"
        )
    for r in rows:
        print(
            f"  {r['pipeline']}: {len(r['model_calls'])} calls ({', '.join(r['model_calls'])}); "
            f"direct: p99 gap between chunks {r['direct_gap_p99_ms']} ms, "
            f"client CPU {r['direct_client_cpu_ms_per_round']} ms per round; "
            f"service CPU {r['service_cpu_ms_per_round']} ms per round"
        )


# --- main ---------------------------------------------------------------------------------------
