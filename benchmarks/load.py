"""Load and overhead benchmark of quizrelay's streamed rounds (details: benchmarks/README.md).

    .venv/bin/python benchmarks/load.py --levels 1,50,200 [--rounds-at-1 10] [--json out.json]

Starts (and always stops) the scripted model server (``python -m tests.fakes.scripted_openai``: a
call's first chunk after --first-token-delay s, the others --token-interval s apart) and the service
on it (profile llama-cpp, rate limit off, fresh SQLite, a supplied question in every round). Per
level N it plays N rounds at once over SSE (level 1: --rounds-at-1 one by one), agents and chat
interleaved, one connection each, and reports errors, event ids not exactly 1..n, replays (GET
/api/rounds/{id}/events) that differ, time to first event / first token / end, gaps between events
("gap": all, so including each model call's own first-token wait; "token gap": between deltas of
one stream, sent --token-interval apart), the service's CPU s per round (/proc) and VmHWM/VmRSS.
At level 1 each round is followed by its exact model calls (captured first) made straight to the
model server, one after the other: the service's added time to first token and round time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

# Run as a script: the repository root on the path, for benchmarks.* and tests.fakes.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.load_report import ms, print_level, print_overhead, summarize
from benchmarks.procs import (
    TICKS,
    Child,
    free_port,
    machine_ticks,
    start_model_server,
    start_service,
)
from benchmarks.rounds import PIPELINES, QUESTION, Round, check_replays, play_round

DETAIL_SKIP = ("gaps", "token_gaps", "ids", "customs", "started_at", "ended_at")


# --- the same model calls, straight to the model server -----------------------------------------
def capture_calls(workdir: Path) -> dict[str, list[dict[str, Any]]]:
    """The exact request bodies one round of each pipeline sends (unpaced in-process model
    server)."""
    from tests.fakes.scripted_openai import ScriptedOpenAIServer, paced_auto_responder

    calls, port = {}, free_port()
    with ScriptedOpenAIServer(responder=paced_auto_responder(0.0, 0.0)) as server:
        child = start_service("capture-service", port, server.base_url, workdir)
        try:
            for pipeline in PIPELINES:
                before = len(server.requests)
                body = httpx.post(
                    f"http://127.0.0.1:{port}/api/rounds",
                    json={"pipeline": pipeline, **QUESTION},
                    timeout=60,
                ).text
                if '"type":"RUN_FINISHED"' not in body:
                    raise RuntimeError(f"capture round ({pipeline}) did not finish:\n{body[-800:]}")
                calls[pipeline] = [
                    r.body for r in server.requests[before:] if r.path.endswith("/chat/completions")
                ]
        finally:
            child.stop()
    return calls


def call_name(body: dict[str, Any]) -> str:
    choice = body.get("tool_choice")
    return choice["function"]["name"] if isinstance(choice, dict) else "text"


@dataclass
class Direct:
    pipeline: str
    first_token: float | None
    total: float
    gaps: list[float]
    cpu: float  # this process's CPU seconds (meaningful one at a time)


async def direct_round(oai: AsyncOpenAI, pipeline: str, bodies: list[dict[str, Any]]) -> Direct:
    """A round's model calls, one after the other, with nothing in between but this loop."""
    first, last, gaps = None, 0.0, []
    started, cpu = time.perf_counter(), time.process_time()
    for body in bodies:
        stream = await oai.post(
            "/chat/completions",
            body=body,
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )
        async for chunk in stream:
            now = time.perf_counter()
            gaps += [now - last] if last else []
            last = now
            if first is None and any(
                c.delta.content
                or any(t.function and t.function.arguments for t in c.delta.tool_calls or [])
                for c in chunk.choices
            ):
                first = now - started
    return Direct(pipeline, first, time.perf_counter() - started, gaps, time.process_time() - cpu)


# --- levels -------------------------------------------------------------------------------------
async def settled_cpu(child: Child, quiet: float = 0.3) -> float:
    """The child's CPU time once it stops growing (the trace writer finishing behind the rounds)."""
    value, still_since, deadline = child.cpu(), time.monotonic(), time.monotonic() + 10
    while time.monotonic() - still_since < quiet and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        if (now := child.cpu()) != value:
            value, still_since = now, time.monotonic()
    return value


async def run_level(
    name: str, n: int, pipelines: tuple[str, ...], ctx: dict[str, Any]
) -> dict[str, Any]:
    """N rounds at once (``n`` > 1), or --rounds-at-1 rounds one by one, each with a direct
    replay."""
    client, base, svc, model, oai, calls = (
        ctx[k] for k in ("client", "base", "service", "model", "oai", "calls")
    )

    def pick(i: int) -> str:
        return pipelines[i % len(pipelines)]

    cpu0, loop0, model0, client0 = (
        svc.cpu(),
        svc.cpu(svc.proc.pid),
        model.cpu(),
        time.process_time(),
    )
    (busy0, all0), started, directs = machine_ticks(), time.perf_counter(), []
    if n == 1:
        rounds = []
        for i in range(ctx["rounds_at_1"]):
            before = svc.cpu()
            rounds.append(await play_round(client, base, pick(i)))
            rounds[-1].cpu = await settled_cpu(svc, quiet=0.15) - before
            directs.append(await direct_round(oai, pick(i), calls[pick(i)]))
        wall = sum(r.total or 0.0 for r in rounds)
    else:
        rounds = list(await asyncio.gather(*(play_round(client, base, pick(i)) for i in range(n))))
        wall = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    service_cpu, loop_cpu = await settled_cpu(svc) - cpu0, svc.cpu(svc.proc.pid) - loop0
    model_cpu, client_cpu, (busy1, all1) = (
        model.cpu() - model0,
        time.process_time() - client0,
        machine_ticks(),
    )
    (peak, rss), replay0 = svc.memory_mib(), svc.cpu()
    await check_replays(client, base, rounds)
    level = {
        "name": name,
        "concurrency": n,
        "pipelines": list(pipelines),
        "wall_s": round(wall, 3),
        "service_cpu_s": round(service_cpu, 2),
        "service_cpu_s_per_round": round(service_cpu / len(rounds), 4),
        "service_cpu_pct_of_core": round(100 * service_cpu / elapsed, 1),
        "loop_thread_cpu_s": round(loop_cpu, 2),
        "loop_thread_pct_of_core": round(100 * loop_cpu / elapsed, 1),
        "model_server_cpu_s": round(model_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "other_processes_cpu_s": round(
            max(0.0, (busy1 - busy0) / TICKS - service_cpu - model_cpu - client_cpu), 2
        ),
        "machine_busy_pct": round(100 * (busy1 - busy0) / max(1, all1 - all0), 1),
        "service_peak_rss_mib": round(peak, 1),
        "service_rss_mib": round(rss, 1),
        "replay_cpu_s_per_round": round((await settled_cpu(svc) - replay0) / len(rounds), 4),
        "all": summarize(rounds, wall),
        **(
            {p: summarize([r for r in rounds if r.pipeline == p], 0) for p in pipelines}
            if len(pipelines) > 1
            else {}
        ),
        "rounds_detail": [
            {k: v for k, v in asdict(r).items() if k not in DETAIL_SKIP} | {"events": len(r.ids)}
            for r in rounds
        ],
    }
    if n == 1:
        level["overhead"] = overhead(rounds, directs, calls)
    elif ctx[
        "direct_at_load"
    ]:  # the same calls, n rounds at once, from this one process: no service
        cpu, started = time.process_time(), time.perf_counter()
        done = [
            d
            for d in await asyncio.gather(
                *(direct_round(oai, pick(i), calls[pick(i)]) for i in range(n)),
                return_exceptions=True,
            )
            if isinstance(d, Direct)
        ]
        level["direct_at_load"] = {
            "wall_s": round(time.perf_counter() - started, 3),
            "errors": n - len(done),
            "total_p50_ms": ms([d.total for d in done], 50),
            "total_p99_ms": ms([d.total for d in done], 99),
            "cpu_s_per_round": round((time.process_time() - cpu) / n, 4),
            "gap_p99_ms": ms([g for d in done for g in d.gaps], 99),
        }
    return level


def overhead(
    rounds: list[Round], directs: list[Direct], calls: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Service vs direct at concurrency 1, per pipeline (medians, ms)."""
    rows, med = [], lambda values: round(statistics.median(values) * 1000, 1)
    for pipeline in PIPELINES:
        served = [
            r
            for r in rounds
            if r.pipeline == pipeline and r.end == "RUN_FINISHED" and r.first_token
        ]
        direct = [d for d in directs if d.pipeline == pipeline and d.first_token]
        if served and direct:
            s_ttft, d_ttft = (
                med([r.first_token for r in served]),
                med([d.first_token for d in direct]),
            )
            s_round, d_round = med([r.total for r in served]), med([d.total for d in direct])
            rows.append(
                {
                    "pipeline": pipeline,
                    "model_calls": [call_name(b) for b in calls[pipeline]],
                    "samples": len(served),
                    "ttft_direct_ms": d_ttft,
                    "ttft_service_ms": s_ttft,
                    "ttft_added_ms": round(s_ttft - d_ttft, 1),
                    "ttft_ratio": round(s_ttft / d_ttft, 3),
                    "round_direct_ms": d_round,
                    "round_service_ms": s_round,
                    "round_added_ms": round(s_round - d_round, 1),
                    "round_added_pct": round(100 * (s_round / d_round - 1), 2),
                    "round_ratio": round(s_round / d_round, 3),
                    "direct_gap_p99_ms": ms([g for d in direct for g in d.gaps], 99),
                    "direct_client_cpu_ms_per_round": med([d.cpu for d in direct]),
                    "service_cpu_ms_per_round": med([r.cpu for r in served if r.cpu is not None]),
                }
            )
    return rows


# --- output -------------------------------------------------------------------------------------
async def benchmark(
    args: argparse.Namespace, workdir: Path, children: list[Child]
) -> dict[str, Any]:
    calls = capture_calls(workdir)
    model_port, service_port = free_port(), free_port()
    model_url = f"http://127.0.0.1:{model_port}/v1"
    children.append(
        start_model_server(
            "model-server", model_port, args.first_token_delay, args.token_interval, workdir
        )
    )
    children.append(start_service("service", service_port, model_url, workdir))
    model, service, base = children[0], children[1], f"http://127.0.0.1:{service_port}"
    biggest = max([*args.levels, args.per_pipeline, 1]) + 16
    # No keep-alive: each round gets a new connection, never an idle one the server is closing
    # (uvicorn closes idle connections after 5 s; reusing one as it does fails with ReadError).
    limits = httpx.Limits(max_connections=biggest, max_keepalive_connections=0)
    async with (
        httpx.AsyncClient(
            limits=limits, timeout=httpx.Timeout(300.0, connect=60.0, pool=300.0)
        ) as client,
        AsyncOpenAI(base_url=model_url, api_key="unused", max_retries=0, timeout=60.0) as oai,
    ):
        ctx = {
            "client": client,
            "base": base,
            "service": service,
            "model": model,
            "oai": oai,
            "calls": calls,
            "rounds_at_1": args.rounds_at_1,
            "direct_at_load": args.direct_at_load,
        }
        for _ in range(args.warmup):  # first rounds import and build things lazily: not measured
            for pipeline in PIPELINES:
                await play_round(client, base, pipeline)
                await direct_round(oai, pipeline, calls[pipeline])
        plan = [(f"level {n}", n, PIPELINES) for n in args.levels]
        plan += [(f"{p} only", args.per_pipeline, (p,)) for p in PIPELINES if args.per_pipeline]
        levels = []
        for name, n, pipelines in plan:
            levels.append(await run_level(name, n, pipelines, ctx))
            print_level(levels[-1])
            if "overhead" in levels[-1]:
                print_overhead(levels[-1]["overhead"])
    service.stop()
    log = service.log_path.read_text(errors="replace").splitlines()
    problems = [
        line[:200] for line in log if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback", line)
    ]
    print(
        "\n".join(
            [f"\nservice log: {len(log)} lines, {len(problems)} warnings/errors", *problems[:10]]
        )
    )
    return {
        "config": {k: v for k, v in vars(args).items() if k != "json"},
        "cpu_count": os.cpu_count(),
        "model_calls": {p: [call_name(b) for b in c] for p, c in calls.items()},
        "levels": levels,
    }


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every option's default."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument(
        "--levels",
        default="1,50,200",
        type=lambda s: [int(x) for x in s.split(",")],
        help="load levels: 1 = rounds one at a time, with the overhead comparison; "
        "N > 1 = N rounds at once, pipelines interleaved",
    )
    parser.add_argument(
        "--rounds-at-1", type=int, default=10, help="rounds at level 1, pipelines alternating"
    )
    parser.add_argument(
        "--per-pipeline",
        type=int,
        default=50,
        metavar="N",
        help="then N rounds at once of each pipeline alone: CPU per pipeline (0: skip)",
    )
    parser.add_argument(
        "--direct-at-load",
        action="store_true",
        help="after each level N > 1, make the same model calls for N rounds at once straight from "
        "this process: what one Python process needs for them without the service",
    )
    parser.add_argument(
        "--warmup", type=int, default=2, help="unmeasured rounds per pipeline first"
    )
    parser.add_argument(
        "--first-token-delay",
        type=float,
        default=0.1,
        help="model server: s before a call's first chunk",
    )
    parser.add_argument(
        "--token-interval", type=float, default=0.02, help="model server: s between later chunks"
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write every result (per round too) as JSON to PATH"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory (logs, databases)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="quizrelay-load-"))
    children: list[Child] = []
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # raises KeyboardInterrupt: clean up
    try:
        result = asyncio.run(benchmark(args, workdir, children))
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2, default=str))
            print(f"results written to {args.json}")
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        for child in children:
            print(f"--- {child.name} log tail ---\n{child.tail()}", file=sys.stderr)
        raise
    finally:
        for child in reversed(children):
            child.stop()
        print(f"work directory kept: {workdir}") if args.keep else shutil.rmtree(
            workdir, ignore_errors=True
        )


if __name__ == "__main__":
    sys.exit(main())
