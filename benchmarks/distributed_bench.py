"""The deployment and the measuring of ``benchmarks/distributed.py``: the processes it starts,
CPU snapshots over all of them, and batches of rounds (a closed loop over the API processes)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.cluster import Cluster, delta
from benchmarks.distributed_report import batch_summary, print_phase
from benchmarks.procs import Child, free_port, machine_ticks, start_model_server, start_service
from benchmarks.rounds import Round, check_replays, play_round


class BenchBase:
    """Starts and stops everything; measures CPU and plays batches of rounds."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args, self.workdir = args, workdir
        self.pipelines: tuple[str, ...] = tuple(args.pipelines.split(","))
        self.model: Child | None = None
        self.embedded: Child | None = None
        self.cluster: Cluster | None = None
        self._client: httpx.AsyncClient | None = None
        self.results: dict[str, Any] = {}
        self.idle: dict[str, float] = {}  # CPU s per s of each mode at rest (sizing measures it)

    # --- set-up -------------------------------------------------------------------------------
    def start(self) -> None:
        a, port = self.args, free_port()
        self.model = start_model_server(
            "model-server", port, a.first_token_delay, a.token_interval, self.workdir
        )
        model_url = f"http://127.0.0.1:{port}/v1"
        self.cluster = Cluster(self.workdir, model_url, shared_redis=a.shared_redis)
        for _ in range(a.apis):
            self.cluster.api()
        self.cluster.set_workers(2, 50)
        embedded_port = free_port()
        self.embedded = start_service("embedded", embedded_port, model_url, self.workdir)
        self.embedded_url = f"http://127.0.0.1:{embedded_port}"

    def stop(self) -> None:
        for child in (self.embedded, self.model):
            if child is not None:
                child.stop()
        if self.cluster is not None:
            self.cluster.close()

    @property
    def client(self) -> httpx.AsyncClient:
        assert self._client is not None, "only inside run()"
        return self._client

    @property
    def api_urls(self) -> list[str]:
        assert self.cluster
        return [api.url for api in self.cluster.apis]  # type: ignore[attr-defined]

    def pick(self, i: int) -> str:
        return self.pipelines[i % len(self.pipelines)]

    # --- measuring ----------------------------------------------------------------------------
    async def settled(self, read: Any, quiet: float = 0.3, still: float = 0.01) -> float:
        """CPU seconds once they grow less than ``still`` in ``quiet`` s (the trace writer and
        the stores finish behind a round's last event), at most 10 s."""
        value, since, deadline = read(), time.monotonic(), time.monotonic() + 10
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = read()
            if now - value > still:
                value, since = now, time.monotonic()
        return read()

    def cluster_cpu(self) -> float:
        assert self.cluster
        return self.cluster.meter.totals()["total"]

    def snapshot(self) -> dict[str, Any]:
        assert self.cluster and self.model
        return {
            "t": time.perf_counter(),
            "machine": machine_ticks(),
            "cluster": self.cluster.meter.totals(),
            "model": self.model.cpu(),
            "client": time.process_time(),
            "embedded": self.embedded.cpu()
            if self.embedded and self.embedded.proc.poll() is None
            else 0.0,
        }

    def usage(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        """CPU seconds by process group between two snapshots, and how busy the machine was."""
        wall = after["t"] - before["t"]
        busy = (after["machine"][0] - before["machine"][0]) / os.sysconf("SC_CLK_TCK")
        total_ticks = after["machine"][1] - before["machine"][1]
        cpu = delta(after["cluster"], before["cluster"])
        cpu |= {k: round(after[k] - before[k], 3) for k in ("model", "client", "embedded")}
        ours = cpu["total"] + cpu["model"] + cpu["client"] + cpu["embedded"]
        return {
            "wall_s": round(wall, 3),
            "cpu_s": cpu,
            "own_busy_pct": round(100 * ours / max(1e-9, wall * (os.cpu_count() or 1)), 1),
            "other_processes_cpu_s": round(max(0.0, busy - ours), 2),
            "machine_busy_pct": round(
                100 * (after["machine"][0] - before["machine"][0]) / max(1, total_ticks), 1
            ),
        }

    async def batch(self, bases: list[str], n: int, in_flight: int) -> tuple[list[Round], float]:
        """``n`` rounds, ``in_flight`` at a time (a closed loop), spread over ``bases``."""
        gate, started = asyncio.Semaphore(in_flight), time.perf_counter()

        async def one(i: int) -> Round:
            async with gate:
                return await play_round(self.client, bases[i % len(bases)], self.pick(i))

        rounds = list(await asyncio.gather(*(one(i) for i in range(n))))
        return rounds, time.perf_counter() - started

    async def measured_batch(
        self, name: str, n: int, in_flight: int, embedded: bool = False, replays: bool = True
    ) -> dict[str, Any]:
        bases = [self.embedded_url] if embedded else self.api_urls
        before = self.snapshot()
        rounds, wall = await self.batch(bases, n, in_flight)
        if embedded:
            await self.settled(self.embedded.cpu)  # type: ignore[union-attr]
        else:
            await self.settled(self.cluster_cpu)
        usage = self.usage(before, self.snapshot())
        if replays:
            await check_replays(self.client, bases[0], rounds)
        phase = {
            "name": name,
            "rounds_total": n,
            "in_flight": in_flight,
            "mode": "embedded" if embedded else "distributed",
            **usage,
            **batch_summary(rounds, wall, in_flight),
        }
        phase["cpu_s_per_round"] = round(
            usage["cpu_s"]["embedded" if embedded else "total"] / max(1, len(rounds)), 4
        )
        print_phase(phase)
        self.last_rounds = rounds
        return phase

    def py_spy(self, pid: int) -> subprocess.Popen[bytes] | None:
        """``py-spy record`` of one process (in the 1-worker saturation batch), if asked for."""
        if not self.args.py_spy:
            return None
        binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        argv = [binary, "record", "--pid", str(pid), "--rate", "100", "--format", "raw",
                "--nonblocking", "--threads", "--full-filenames",
                "--output", self.args.py_spy]  # fmt: skip
        log = (self.workdir / "py-spy.log").open("wb")
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
