"""Benchmark of quizrelay's distributed mode against its embedded mode (details: README.md).

    .venv/bin/python benchmarks/distributed.py [--quick] [--json out.json]

Starts (and always stops) the paced scripted model server, a fresh PostgreSQL database (dropped
at the end), a private redis-server (or, with --shared-redis, a fresh prefix on the shared one),
`quizrelay migrate`, API and worker processes, and an embedded-mode `quizrelay serve` (SQLite, no
Redis) on the same model. Then, in one run:

  sizing      N rounds at once: Redis memory per live / finished round, PostgreSQL commits and
              rows written per round, idle CPU of the deployment
  sequential  rounds one at a time, embedded and distributed alternating: added time to first
              token and round time, CPU per round over every process (APIs, workers, Redis,
              the database's PostgreSQL processes) vs the embedded process's
  cpu         L rounds at once in each mode: CPU per round under load
  concurrent  200 rounds at once on 2 workers: errors, lost / duplicated ids, replays
  sweep       rising concurrency until the machine is 80 % busy: p99 token gap there
  saturation  closed loop with S rounds in flight on 1 worker, then on 2: throughput
  kill        K rounds on 2 workers, one SIGKILLed mid-run: every round ends with a verdict

and prints one table (metric, measured, target, ok?).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.cluster import log_signs
from benchmarks.distributed_bench import BenchBase
from benchmarks.distributed_report import (
    batch_summary,
    build_table,
    print_log_signs,
    print_phase,
    print_table,
    sequential_summary,
)
from benchmarks.pyspy_top import summarize as summarize_profile
from benchmarks.rounds import Round, check_replays, play_round

PHASES = ("sizing", "sequential", "cpu", "concurrent", "sweep", "saturation", "kill")


class Bench(BenchBase):
    """The phases: each stores its results under its name."""

    async def warm_up(self) -> None:
        for _ in range(self.args.warmup):
            for pipeline in self.pipelines:
                for base in [self.embedded_url, *self.api_urls]:
                    await play_round(self.client, base, pipeline)

    async def sizing(self) -> None:
        assert self.cluster
        c, n = self.cluster, self.args.sizing_rounds
        await asyncio.sleep(1)
        cpu0, emb0, t0 = self.cluster_cpu(), self.embedded.cpu(), time.perf_counter()  # type: ignore[union-attr]
        await asyncio.sleep(4)
        idle = (self.cluster_cpu() - cpu0) / (time.perf_counter() - t0)
        assert self.embedded
        self.idle = {
            "distributed": idle,
            "embedded": (self.embedded.cpu() - emb0) / (time.perf_counter() - t0),
        }
        await asyncio.sleep(6)  # idle sessions report their statistics within 10 s
        pg0, mem0, keys0 = c.database.counters(), c.redis.used_memory(), c.redis.keys()
        samples: list[tuple[float, int, int]] = []  # (time, used_memory, bytes of new keys)
        done = asyncio.Event()

        async def watch() -> None:
            while not done.is_set():
                fresh = c.redis.keys() - keys0
                samples.append(
                    (time.perf_counter(), c.redis.used_memory(), c.redis.key_bytes(fresh))
                )
                await asyncio.sleep(0.25)

        watcher = asyncio.create_task(watch())
        phase = await self.measured_batch("sizing", n, n, replays=False)
        done.set()
        await watcher
        first_end = min((r.ended_at for r in self.last_rounds if r.ended_at), default=0.0)
        live = [x for x in samples if x[0] < first_end] or samples[:1]  # all n rounds still live
        keys1 = c.redis.keys()
        mem1, kept = c.redis.used_memory(), c.redis.key_bytes(keys1 - keys0)
        await asyncio.sleep(11)
        pg1 = c.database.counters()
        writes = {k: pg1[k] - pg0[k] for k in pg0}
        self.results["sizing"] = phase | {
            "idle_cluster_cpu_ms_per_s": round(1000 * idle, 1),
            "idle_embedded_cpu_ms_per_s": round(1000 * self.idle["embedded"], 1),
            "redis_used_memory_before": mem0,
            "redis_used_memory_per_live_round": round((live[-1][1] - mem0) / n),
            "redis_key_bytes_per_live_round": round(live[-1][2] / n),
            "redis_used_memory_per_live_round_peak": round((max(x[1] for x in samples) - mem0) / n),
            "redis_used_memory_per_finished_round": round((mem1 - mem0) / n),
            "redis_key_bytes_per_finished_round": round(kept / n),
            "redis_keys_per_finished_round": round(len(keys1 - keys0) / n, 2),
            "stream_ttl_s": int(c.env.get("QUIZRELAY_STREAM_TTL", "300")),
            "pg_counters_delta": writes,
            "pg_commits_per_round": round(writes["xact_commit"] / n, 1),
            "pg_rows_written_per_round": round(
                (writes["tup_inserted"] + writes["tup_updated"] + writes["tup_deleted"]) / n, 1
            ),
        }

    async def sequential(self) -> None:
        n = self.args.sequential
        rounds: dict[str, list[Round]] = {"embedded": [], "distributed": []}
        windows: dict[str, list[float]] = {"embedded": [], "distributed": []}
        targets = {
            "embedded": (self.embedded_url, self.embedded.cpu),  # type: ignore[union-attr]
            "distributed": (self.api_urls[0], self.cluster_cpu),
        }
        for i in range(n * len(self.pipelines)):
            order = ["embedded", "distributed"][:: 1 if i % 2 else -1]
            for mode in order:
                base, read = targets[mode]
                before, t0 = await self.settled(read, quiet=0.15), time.perf_counter()
                result = await play_round(self.client, base, self.pick(i))
                result.cpu = await self.settled(read, quiet=0.3) - before
                windows[mode].append(time.perf_counter() - t0)
                rounds[mode].append(result)
        self.results["sequential"] = sequential_summary(rounds, self.pipelines)
        for mode, spans in windows.items():  # CPU per round less what the mode uses idle
            idle = self.idle.get(mode)
            self.results["sequential"][mode]["cpu_ms_per_round_less_idle"] = (
                None
                if idle is None
                else round(
                    self.results["sequential"][mode]["cpu_ms_per_round_mean"]
                    - 1000 * idle * sum(spans) / len(spans),
                    1,
                )
            )
        print_phase({"name": "sequential", **self.results["sequential"]})

    async def cpu(self) -> None:
        level = self.args.cpu_level
        emb = await self.measured_batch("cpu embedded", level, level, embedded=True)
        dist = await self.measured_batch("cpu distributed", level, level)
        self.results["cpu"] = {"embedded": emb, "distributed": dist}

    async def concurrent(self) -> None:
        assert self.cluster
        n = self.args.concurrent
        self.cluster.set_workers(2, (n + 1) // 2)
        self.results["concurrent"] = await self.measured_batch(f"{n} at once", n, n)

    async def sweep(self) -> None:
        levels: list[dict[str, Any]] = []
        for level in self.args.sweep:
            levels.append(
                await self.measured_batch(
                    f"sweep {level}", max(2 * level, 20), level, replays=False
                )
            )
            if levels[-1]["machine_busy_pct"] >= 80:
                break
        self.results["sweep"] = levels

    async def saturation(self) -> None:
        assert self.cluster
        s = self.args.saturation
        result = {}
        for workers in (1, 2):
            self.cluster.set_workers(workers, self.args.worker_concurrency)
            await self.batch(self.api_urls, 2 * workers, 2 * workers)  # warm the new workers
            spy = self.py_spy(self.cluster.workers[0].pid) if workers == 1 else None
            result[f"workers_{workers}"] = await self.measured_batch(
                f"saturation, {workers} worker(s)", self.args.saturation_rounds, s, replays=False
            )
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes the profile as it stops
                spy.wait(60)
                print(summarize_profile(Path(self.args.py_spy), top=15))
        self.results["saturation"] = result

    async def kill(self) -> None:
        assert self.cluster
        n = self.args.kill_rounds
        workers = self.cluster.set_workers(2, -(-n // 2))
        await self.batch(self.api_urls, 4, 4)
        started = time.perf_counter()
        tasks = [
            asyncio.create_task(
                play_round(self.client, self.api_urls[i % len(self.api_urls)], self.pick(i))
            )
            for i in range(n)
        ]
        running, deadline = [0, 0], time.monotonic() + 30
        while time.monotonic() < deadline:  # both workers busy, rounds under way
            running = [self.cluster.worker_running(w) for w in workers]
            if sum(running) >= 0.9 * n and min(running) > 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(self.args.kill_after)
        victim = max(range(2), key=lambda i: self.cluster.worker_running(workers[i]))  # type: ignore[union-attr]
        on_victim = self.cluster.worker_running(workers[victim])
        workers[victim].kill()
        killed_at = time.perf_counter() - started
        rounds = list(await asyncio.gather(*tasks))
        await check_replays(self.client, self.api_urls[0], rounds)
        wall = time.perf_counter() - started
        attempts = [
            (await self.client.get(f"{self.api_urls[0]}/api/rounds/{r.round_id}"))
            .json()
            .get("attempt", 1)
            for r in rounds
            if r.round_id
        ]
        phase = {
            "name": "kill",
            "rounds_total": n,
            "in_flight": n,
            "wall_s": round(wall, 2),
            "running_before_kill": running,
            "running_on_killed_worker": on_victim,
            "killed_at_s": round(killed_at, 2),
            **batch_summary(rounds, wall, n),
        }
        phase |= {
            "ended_with_verdict": sum(
                r.end == "RUN_FINISHED" and "verdict" in r.customs for r in rounds
            ),
            "resumed_rounds": sum("resumed" in r.customs for r in rounds),
            "resumed_round_p50_s": None,
            "stored_with_attempt_2_or_more": sum(a >= 2 for a in attempts),
        }
        resumed = sorted(r.total for r in rounds if "resumed" in r.customs and r.total)
        phase["resumed_round_p50_s"] = round(resumed[len(resumed) // 2], 2) if resumed else None
        print_phase(phase)
        self.results["kill"] = phase

    async def run(self) -> dict[str, Any]:
        limits = httpx.Limits(max_connections=2000, max_keepalive_connections=0)
        timeout = httpx.Timeout(300.0, connect=60.0, pool=300.0)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as self._client:
            await self.warm_up()
            for phase in self.args.phases:
                self.cluster.phase = phase  # type: ignore[union-attr]
                print(f"\n--- {phase} (load average {os.getloadavg()[0]:.2f}) ---", flush=True)
                started = time.perf_counter()
                await getattr(self, phase)()
                print(f"({phase}: {time.perf_counter() - started:.0f} s)", flush=True)
                if phase == "cpu" and self.embedded:
                    self.embedded.stop()  # not needed any more: out of the machine's way
        return self.results


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every option's default."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",")]

    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller levels (about 3 min): sets the defaults marked [quick]",
    )
    p.add_argument("--phases", default=",".join(PHASES), help="which phases, in this order")
    p.add_argument("--pipelines", default="agents,chat", help="e.g. agents,chat,agents-tools")
    p.add_argument(
        "--sequential", type=int, help="rounds per pipeline and mode one at a time [10; quick 3]"
    )
    p.add_argument("--cpu-level", type=int, help="rounds at once for CPU under load [50; quick 20]")
    p.add_argument("--concurrent", type=int, default=200, help="rounds at once on 2 workers")
    p.add_argument(
        "--sweep",
        type=ints,
        help="concurrency levels until 80 %% busy [5,10,20,30,40,60,80; quick 5,10,20,40]",
    )
    p.add_argument("--saturation", type=int, default=100, help="rounds in flight, saturation")
    p.add_argument(
        "--worker-concurrency", type=int, default=50,
        help="--concurrency of each worker in the saturation phase (the default's)",
    )  # fmt: skip
    p.add_argument("--saturation-rounds", type=int, help="rounds per worker count [400; quick 200]")
    p.add_argument("--kill-rounds", type=int, default=50, help="rounds in the kill test")
    p.add_argument(
        "--kill-after",
        type=float,
        default=0.5,
        help="s after both workers are busy before one is SIGKILLed",
    )
    p.add_argument(
        "--sizing-rounds",
        type=int,
        help="rounds live for Redis / PostgreSQL sizing [100; quick 30]",
    )
    p.add_argument("--apis", type=int, default=1, help="API processes (rounds spread over them)")
    p.add_argument(
        "--shared-redis",
        action="store_true",
        help="use the Redis at TEST_REDIS_URL or 127.0.0.1:6379 (fresh prefix) instead "
        "of a private redis-server (its CPU and memory then include other users')",
    )
    p.add_argument("--warmup", type=int, default=2, help="unmeasured rounds per pipeline & mode")
    p.add_argument("--first-token-delay", type=float, default=0.1)
    p.add_argument("--token-interval", type=float, default=0.02)
    p.add_argument(
        "--py-spy", metavar="PATH",
        help="profile the worker of the 1-worker saturation batch with py-spy (raw format) to "
        "PATH and print its top frames (pip install py-spy; benchmarks/pyspy_top.py reads it)",
    )  # fmt: skip
    p.add_argument("--json", metavar="PATH", help="also write every result as JSON to PATH")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = p.parse_args(argv)
    quick = args.quick
    defaults = {
        "sequential": (10, 3),
        "cpu_level": (50, 20),
        "saturation_rounds": (400, 200),
        "sizing_rounds": (100, 30),
        "sweep": ([5, 10, 20, 30, 40, 60, 80], [5, 10, 20, 40]),
    }
    for key, (full, short) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, short if quick else full)
    args.phases = [x for x in args.phases.split(",") if x]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        p.error(f"unknown phases {sorted(unknown)}; choose from {','.join(PHASES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="quizrelay-distributed-"))
    bench = Bench(args, workdir)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # raises KeyboardInterrupt: clean up
    load = os.getloadavg()
    try:
        bench.start()
        results = asyncio.run(bench.run())
        assert bench.cluster
        results["worker_logs"] = log_signs(bench.cluster.worker_phases)
        others = [*bench.cluster.apis, bench.embedded, bench.model]
        problems = {c.name: c.problems()[:5] for c in others if c is not None and c.problems()}
        table = build_table(results)
        print_table(table, load, os.getloadavg())
        print_log_signs(results["worker_logs"])
        for name, lines in problems.items():
            print(f"{name} log: " + "\n  ".join(lines))
        if args.json:
            out = {
                "config": {k: v for k, v in vars(args).items() if k != "json"},
                "load_average_start": load,
                "load_average_end": os.getloadavg(),
                "table": table,
                "results": results,
                "log_problems": problems,
            }
            Path(args.json).write_text(json.dumps(out, indent=2, default=_json_default))
            print(f"results written to {args.json}")
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        for child in [
            bench.model,
            bench.embedded,
            *(bench.cluster.apis + bench.cluster.workers if bench.cluster else []),
        ]:
            if child is not None:
                print(f"--- {child.name} log tail ---\n{child.tail()}", file=sys.stderr)
        raise
    finally:
        bench.stop()
        print(f"work directory kept: {workdir}") if args.keep else shutil.rmtree(
            workdir, ignore_errors=True
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, Round):
        return None  # per-round records are left out
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
