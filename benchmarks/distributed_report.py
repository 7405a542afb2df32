"""Summaries and the table of ``benchmarks/distributed.py`` (kept apart from the driver)."""

from __future__ import annotations

import os
import statistics
from typing import Any

from benchmarks.load_report import ms, summarize
from benchmarks.rounds import Round

STALL_S = 0.3  # a first event later than this: the stream's start was held back (README)
TOKEN_GAP_TARGET_MS = 100.0  # benchmarks/README.md: the gap to hold against "< 100 ms"


def steady_rate(rounds: list[Round]) -> float | None:
    """Rounds/s between the 25th and the 75th percentile of end times: the ramp-up and the
    tail of a batch left out."""
    ends = sorted(r.ended_at for r in rounds if r.ended_at is not None and r.end == "RUN_FINISHED")
    if len(ends) < 8:
        return None
    low, high = len(ends) // 4, (3 * len(ends)) // 4
    return round((high - low) / (ends[high] - ends[low]), 2) if ends[high] > ends[low] else None


def batch_summary(rounds: list[Round], wall: float, in_flight: int) -> dict[str, Any]:
    closed_loop = len(rounds) >= 2 * in_flight  # else the ends bunch up: no steady state
    return summarize(rounds, wall) | {
        "steady_rounds_per_s": steady_rate(rounds) if closed_loop else None,
        "without_verdict": sum("verdict" not in r.customs for r in rounds),
        "resumed_rounds": sum("resumed" in r.customs for r in rounds),
    }


def _median_ms(values: list[float]) -> float | None:
    return round(1000 * statistics.median(values), 1) if values else None


def sequential_summary(
    rounds: dict[str, list[Round]], pipelines: tuple[str, ...]
) -> dict[str, Any]:
    """Medians per mode and pipeline of rounds played one at a time, and the differences."""
    out: dict[str, Any] = {}
    for mode, played in rounds.items():
        ok = [r for r in played if r.end == "RUN_FINISHED"]
        out[mode] = summarize(played, sum(r.total or 0.0 for r in played)) | {
            "cpu_ms_per_round": _median_ms([r.cpu for r in ok if r.cpu is not None]),
            "cpu_ms_per_round_mean": round(
                1000 * statistics.mean(r.cpu for r in ok if r.cpu is not None), 1
            )
            if ok
            else None,
        }
        for p in pipelines:
            mine = [r for r in ok if r.pipeline == p]
            quick = [r for r in mine if r.first_token and (r.first_event or 1) < STALL_S]
            out[mode][p] = {
                "samples": len(mine),
                "stalled": len(mine) - len(quick),
                "ttft_ms": _median_ms([r.first_token for r in mine if r.first_token]),
                "ttft_ms_unstalled": _median_ms([r.first_token for r in quick if r.first_token]),
                "round_ms": _median_ms([r.total for r in mine if r.total]),
                "cpu_ms": _median_ms([r.cpu for r in mine if r.cpu is not None]),
                "token_gap_p99_ms": ms([g for r in mine for g in r.token_gaps], 99),
            }
    for p in pipelines:
        emb, dist = out["embedded"][p], out["distributed"][p]
        out[f"added_{p}"] = {
            k: round(dist[k] - emb[k], 1) if dist[k] is not None and emb[k] is not None else None
            for k in ("ttft_ms", "ttft_ms_unstalled", "round_ms", "cpu_ms")
        }
    return out


def print_phase(phase: dict[str, Any]) -> None:
    """A line or two per phase as it ends, so a long run shows progress."""
    name = phase["name"]
    if name == "sequential":
        for mode in ("embedded", "distributed"):
            m = phase[mode]
            per = ", ".join(
                f"{p} TTFT {v['ttft_ms']} ms round {v['round_ms']} ms CPU {v['cpu_ms']} ms"
                for p, v in m.items()
                if isinstance(v, dict) and "ttft_ms" in v
            )
            print(f"{mode:11} errors {m['errors']}, bad ids {m['rounds_with_bad_ids']}: {per}")
        return
    cpu = phase.get("cpu_s", {})
    groups = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if k != "total" and v)
    line = (
        f"{name}: {phase.get('rounds')} rounds, {phase.get('in_flight')} in flight, "
        f"{phase.get('wall_s')} s, {phase.get('rounds_per_s')} rounds/s "
        f"(steady {phase.get('steady_rounds_per_s')}), errors {phase.get('errors')} "
        f"{phase.get('error_codes') or ''}, bad ids {phase.get('rounds_with_bad_ids')}, "
        f"replay mismatches {phase.get('replay_mismatches')}/{phase.get('replay_checked')}, "
        f"TTFT p50/p99 {phase.get('first_token_p50_ms')}/{phase.get('first_token_p99_ms')} ms, "
        f"round p50/p99 {phase.get('total_p50_ms')}/{phase.get('total_p99_ms')} ms, "
        f"token gap p99 {phase.get('token_gap_p99_ms')} ms"
    )
    if cpu:
        line += (
            f"\n  CPU s: {groups}; per round {1000 * phase['cpu_s_per_round']:.1f} ms; "
            f"other processes {phase['other_processes_cpu_s']} s; "
            f"machine busy {phase['machine_busy_pct']}%"
        )
    if name == "kill":
        line += (
            f"\n  killed a worker running {phase['running_on_killed_worker']} rounds at "
            f"{phase['killed_at_s']} s; {phase['ended_with_verdict']}/{phase['rounds']} ended "
            f"with a verdict, {phase['resumed_rounds']} resumed (p50 {phase['resumed_round_p50_s']}"
            " s)"
        )
    print(line, flush=True)


def _row(metric: str, measured: Any, target: str = "", ok: bool | None = None) -> dict[str, Any]:
    return {
        "metric": metric,
        "measured": measured,
        "target": target,
        "ok": None if ok is None else bool(ok),
    }


def build_table(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    if seq := r.get("sequential"):
        for key, added in seq.items():
            if not key.startswith("added_"):
                continue
            p, emb, dist = key[6:], seq["embedded"][key[6:]], seq["distributed"][key[6:]]
            rows.append(_row(
                f"added TTFT, {p} (median, 1 at a time, unstalled rounds)",
                f"{added['ttft_ms_unstalled']} ms ({emb['ttft_ms_unstalled']} -> "
                f"{dist['ttft_ms_unstalled']})",
                "<= 5 ms",
                added["ttft_ms_unstalled"] is not None and added["ttft_ms_unstalled"] <= 5,
            ))  # fmt: skip
            rows.append(_row(
                f"  same, all rounds (stalled: embedded {emb['stalled']}/{emb['samples']}, "
                f"distributed {dist['stalled']}/{dist['samples']})",
                f"{added['ttft_ms']} ms ({emb['ttft_ms']} -> {dist['ttft_ms']})",
            ))  # fmt: skip
            rows.append(
                _row(
                    f"added round time, {p}",
                    f"{added['round_ms']} ms ({emb['round_ms']} -> {dist['round_ms']})",
                )
            )
        e, d = seq["embedded"]["cpu_ms_per_round"], seq["distributed"]["cpu_ms_per_round"]
        if e and d:
            rows.append(
                _row(
                    "CPU per round, 1 at a time (median, all processes)",
                    f"{d} ms vs {e} ms = {d / e:.2f}x",
                    "<= 1.3x",
                    d / e <= 1.3,
                )
            )
        e = seq["embedded"].get("cpu_ms_per_round_less_idle")
        d = seq["distributed"].get("cpu_ms_per_round_less_idle")
        if e and d:
            rows.append(
                _row("  same, mean less each mode's idle CPU", f"{d} ms vs {e} ms = {d / e:.2f}x")
            )
    if cpu := r.get("cpu"):
        e, d = cpu["embedded"]["cpu_s_per_round"], cpu["distributed"]["cpu_s_per_round"]
        split = ", ".join(
            f"{k} {1000 * v / cpu['distributed']['rounds']:.0f}"
            for k, v in cpu["distributed"]["cpu_s"].items()
            if k in ("api", "worker", "redis", "postgres")
        )
        rows.append(
            _row(
                f"CPU per round, {cpu['distributed']['in_flight']} at once",
                f"{1000 * d:.1f} ms vs {1000 * e:.1f} ms = {d / e:.2f}x ({split})",
                "<= 1.3x",
                d / e <= 1.3,
            )
        )
    if sat := r.get("saturation"):
        one, two = (
            sat[k]["steady_rounds_per_s"] or sat[k]["rounds_per_s"]
            for k in ("workers_1", "workers_2")
        )
        for k, v in (("1 worker", one), ("2 workers", two)):
            s = sat["workers_1" if k == "1 worker" else "workers_2"]
            rows.append(_row(
                f"throughput, {s['in_flight']} in flight, {k}",
                f"{v} rounds/s (machine busy {s['machine_busy_pct']}%, ours "
                f"{s['own_busy_pct']}%: other processes took "
                f"{s['other_processes_cpu_s'] / s['wall_s']:.2f} cores; errors {s['errors']})",
            ))  # fmt: skip
        rows.append(
            _row(
                "throughput 2 workers / 1 worker", f"{two / one:.2f}x", ">= 1.7x", two / one >= 1.7
            )
        )
        two_workers = sat["workers_2"]
        per_core = two_workers["rounds"] / max(1e-9, two_workers["cpu_s"].get("worker", 0))
        rows.append(
            _row(
                "rounds per worker CPU-second (2 workers, saturated)",
                f"{per_core:.1f} rounds/s per worker core",
            )
        )
        one_worker = sat["workers_1"]
        rows.append(
            _row(
                "  same, 1 worker",
                f"{one_worker['rounds'] / max(1e-9, one_worker['cpu_s'].get('worker', 0)):.1f}",
            )
        )
    if c := r.get("concurrent"):
        rows.append(
            _row(
                f"{c['rounds']} at once: errors / without verdict",
                f"{c['errors']} / {c['without_verdict']} {c['error_codes'] or ''}",
                "0",
                c["errors"] == 0,
            )
        )
        rows.append(
            _row(
                f"{c['rounds']} at once: lost / duplicated ids, rounds with ids not 1..n",
                f"{c['lost_events']} / {c['duplicated_events']}, {c['rounds_with_bad_ids']}",
                "0",
                c["lost_events"] + c["duplicated_events"] + c["rounds_with_bad_ids"] == 0,
            )
        )
        rows.append(
            _row(
                f"{c['rounds']} at once: replays differing",
                f"{c['replay_mismatches']} of {c['replay_checked']}",
                "0",
                c["replay_mismatches"] == 0,
            )
        )
        rows.append(
            _row(
                f"{c['rounds']} at once: token gap p99, round p50",
                f"{c['token_gap_p99_ms']} ms, {c['total_p50_ms']} ms "
                f"(busy {c['machine_busy_pct']}%)",
            )
        )
    if sweep := r.get("sweep"):
        under = [s for s in sweep if s["machine_busy_pct"] < 80]
        if under:
            best = under[-1]
            gap = best["token_gap_p99_ms"]
            rows.append(
                _row(
                    "token gap p99 at the highest concurrency < 80 % busy",
                    f"{gap} ms at {best['in_flight']} in flight "
                    f"(busy {best['machine_busy_pct']}%, ours "
                    f"{best['own_busy_pct']}%)",
                    f"< {TOKEN_GAP_TARGET_MS:.0f} ms",
                    gap is not None and gap < TOKEN_GAP_TARGET_MS,
                )
            )
        else:
            rows.append(
                _row(
                    "token gap p99 at the highest concurrency < 80 % busy",
                    f"none: {sweep[0]['in_flight']} in flight was "
                    f"{sweep[0]['machine_busy_pct']}% busy (ours "
                    f"{sweep[0]['own_busy_pct']}%), token gap p99 "
                    f"{sweep[0]['token_gap_p99_ms']} ms",
                    "",
                    False,
                )
            )
    phases = [
        r.get("sizing"),
        r.get("concurrent"),
        *(r.get("sweep") or []),
        *(r.get("saturation") or {}).values(),
        (r.get("cpu") or {}).get("distributed"),
    ]
    played = [x for x in phases if x]
    if played:
        logs = {k: v for k, v in (r.get("worker_logs") or {}).items() if k != "kill"}
        lapsed = sum(c["lease_expired"] for c in logs.values())
        stored = sum(c["store_failed"] for c in logs.values())
        rows.append(_row(
            "rounds resumed though no worker died (all phases but kill)",
            f"{sum(x['resumed_rounds'] for x in played)} of {sum(x['rounds'] for x in played)} "
            f"(worker logs: {lapsed} leases lapsed, {stored} 'could not store round')",
            "0",
            sum(x["resumed_rounds"] for x in played) == 0 and lapsed == 0,
        ))  # fmt: skip
    if kill := r.get("kill"):
        rows.append(
            _row(
                "kill test: rounds ended with RUN_FINISHED + verdict",
                f"{kill['ended_with_verdict']} / {kill['rounds']} (errors {kill['errors']}, "
                f"bad ids {kill['rounds_with_bad_ids']}, replays differing "
                f"{kill['replay_mismatches']})",
                f"{kill['rounds']} / {kill['rounds']}",
                kill["ended_with_verdict"] == kill["rounds"] and kill["rounds_with_bad_ids"] == 0,
            )
        )
        rows.append(
            _row(
                "kill test: resumed rounds (CUSTOM resumed)",
                f"{kill['resumed_rounds']} (killed worker had {kill['running_on_killed_worker']}"
                f" running; {kill['stored_with_attempt_2_or_more']} stored with attempt"
                f" >= 2; resumed round p50 {kill['resumed_round_p50_s']} s)",
            )
        )
    if sz := r.get("sizing"):
        n = sz["rounds"]
        kib = lambda key: f"{sz[key] / 1024:.1f} KiB"  # noqa: E731
        rows.append(_row(
            f"Redis per live round ({n} live; keys / used_memory)",
            f"{kib('redis_key_bytes_per_live_round')} / {kib('redis_used_memory_per_live_round')}"
            f" (used_memory peak {kib('redis_used_memory_per_live_round_peak')})",
        ))  # fmt: skip
        rows.append(_row(
            f"Redis per finished round (kept {sz['stream_ttl_s']} s; keys / used_memory)",
            f"{kib('redis_key_bytes_per_finished_round')} / "
            f"{kib('redis_used_memory_per_finished_round')}, "
            f"{sz['redis_keys_per_finished_round']} keys",
        ))  # fmt: skip
        rows.append(
            _row(
                "PostgreSQL per round: commits / rows written",
                f"{sz['pg_commits_per_round']} / {sz['pg_rows_written_per_round']}",
            )
        )
        rows.append(
            _row(
                "idle CPU: deployment (APIs, workers, Redis, PG) / embedded",
                f"{sz['idle_cluster_cpu_ms_per_s']} / {sz['idle_embedded_cpu_ms_per_s']} ms per s",
            )
        )
    return rows


def print_table(
    rows: list[dict[str, Any]], load_start: tuple[float, ...], load_end: tuple[float, ...]
) -> None:
    width = max(len(r["metric"]) for r in rows) if rows else 10
    mwidth = min(70, max(len(str(r["measured"])) for r in rows)) if rows else 10
    print(
        f"\n== distributed vs embedded: {os.cpu_count()} cores, load average "
        f"{' '.join(f'{x:.2f}' for x in load_start)} at start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at end =="
    )
    print(f"{'metric':{width}} | {'measured':{mwidth}} | {'target':8} | ok?")
    print("-" * (width + mwidth + 20))
    for r in rows:
        ok = "" if r["ok"] is None else ("yes" if r["ok"] else "NO")
        print(f"{r['metric']:{width}} | {r['measured']!s:{mwidth}} | {r['target']:8} | {ok}")


def print_log_signs(signs: dict[str, dict[str, int]]) -> None:
    """Per phase, the workers' log lines that say a round did not go as planned."""
    names = sorted({name for counts in signs.values() for name in counts})
    print("\nworker logs, per phase: " + ", ".join(names))
    for phase, counts in signs.items():
        print(f"  {phase:11}" + "".join(f"{counts[n]:>8}" for n in names))
