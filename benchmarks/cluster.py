"""The distributed deployment of ``benchmarks/distributed.py``: a fresh PostgreSQL database, a
Redis (a private ``redis-server`` by default, else a fresh prefix on a shared one), ``quizrelay
migrate``, API and worker processes; and a CPU meter over all of them, the Redis and PostgreSQL
server processes included (read from /proc)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from benchmarks.procs import Child, die_with_parent, free_port, pid_cpu

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SHARED_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_COUNTERS = ("xact_commit", "tup_inserted", "tup_updated", "tup_deleted", "blks_hit")


def admin() -> psycopg.Connection:
    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


class Database:
    """A new PostgreSQL database, dropped by :meth:`drop`."""

    def __init__(self) -> None:
        self.name = f"qr_bench_{secrets.token_hex(4)}"
        with admin() as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        self.url = f"{base}/{self.name}"

    def counters(self) -> dict[str, int]:
        """This database's cumulative pg_stat_database counters (a fresh snapshot)."""
        with admin() as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                f"SELECT {', '.join(PG_COUNTERS)} FROM pg_stat_database WHERE datname = %s",
                (self.name,),
            ).fetchone()
        return dict(zip(PG_COUNTERS, row or (0,) * len(PG_COUNTERS), strict=True))

    def postmaster_pid(self) -> int | None:
        with admin() as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        try:  # our own backend's parent is the postmaster
            assert row is not None
            stat = Path(f"/proc/{row[0]}/stat").read_text().rsplit(")", 1)[1].split()
            return int(stat[1])
        except (OSError, AssertionError):
            return None

    def drop(self) -> None:
        with admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Redis:
    """A private ``redis-server`` (no persistence), or the shared one with a fresh prefix."""

    def __init__(self, workdir: Path, *, shared: bool) -> None:
        self.prefix = f"qrbench{secrets.token_hex(4)}"
        self.process: subprocess.Popen[bytes] | None = None
        binary = shutil.which("redis-server")
        if shared or binary is None:
            self.url = SHARED_REDIS
        else:
            port = free_port()
            self.url = f"redis://127.0.0.1:{port}/0"
            self.process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(workdir),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self.client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                self.client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        self.pid = int(self.client.info("server")["process_id"])

    @property
    def private(self) -> bool:
        return self.process is not None

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def keys(self) -> set[bytes]:
        """This deployment's keys, the queue's (``saq:<prefix>:*``, ``saq:job:<prefix>:*``) too."""
        found: set[bytes] = set()
        for pattern in (f"{self.prefix}:*", f"saq:{self.prefix}:*", f"saq:job:{self.prefix}:*"):
            found |= set(self.client.scan_iter(match=pattern, count=1000))
        return found

    def key_bytes(self, keys: set[bytes]) -> int:
        """What ``MEMORY USAGE`` counts for these keys (all of a stream's entries: SAMPLES 0)."""
        with self.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.memory_usage(key, samples=0)
            return sum(value or 0 for value in pipe.execute())

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        else:
            keys = list(self.keys())
            for i in range(0, len(keys), 500):
                self.client.delete(*keys[i : i + 500])
        self.client.close()


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return pids


@dataclass
class CpuMeter:
    """Cumulative CPU seconds per process of the deployment, sampled every ``interval`` s in a
    thread so processes that exit (a killed worker, a closed database connection) keep what they
    used. PostgreSQL: the backends of the benchmark's database and the server's background
    processes (WAL writer, checkpointer...), not other databases' sessions."""

    database: str
    postmaster: int | None
    redis_pid: int
    interval: float = 0.25
    groups: dict[str, list[int]] = field(default_factory=dict)  # group -> pids (API, worker...)
    seen: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (group, CPU s)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def add(self, group: str, pid: int) -> None:
        with self._lock:
            self.groups.setdefault(group, []).append(pid)

    _pg_pids: list[tuple[str, int]] = field(default_factory=list)
    _samples: int = 0

    def _postgres(self, refresh: bool) -> list[tuple[str, int]]:
        """The PostgreSQL processes to count: looked up again every 8th sample (a /proc scan)."""
        self._samples += 1
        if self.postmaster is not None and (refresh or self._samples % 8 == 1):
            self._pg_pids = self._find_postgres(self.postmaster)
        return self._pg_pids

    def _find_postgres(self, postmaster: int) -> list[tuple[str, int]]:
        found = [("postgres", postmaster)]
        for pid in _children(postmaster):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            words = title.split()
            if self.database in words:
                found.append(("postgres", pid))  # a session (or autovacuum) of our database
            elif "(" not in title and "[local]" not in title and "worker" not in title:
                found.append(("postgres", pid))  # checkpointer, WAL writer, background writer...
        return found

    def sample(self, refresh: bool = False) -> None:
        with self._lock:
            pids = [(g, p) for g, ps in self.groups.items() for p in ps]
        pids += [("redis", self.redis_pid), *self._postgres(refresh)]
        for group, pid in pids:
            try:
                value = pid_cpu(pid)
            except OSError:
                continue
            with self._lock:
                self.seen[pid] = (group, max(value, self.seen.get(pid, (group, 0.0))[1]))

    def totals(self) -> dict[str, float]:
        """CPU seconds so far by group, and ``total`` (a fresh sample)."""
        self.sample(refresh=True)
        out: dict[str, float] = {}
        with self._lock:
            for group, value in self.seen.values():
                out[group] = out.get(group, 0.0) + value
        out["total"] = sum(out.values())
        return out

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                self.sample()

        self.sample()
        threading.Thread(target=run, name="cpu-meter", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(v - before.get(k, 0.0), 3) for k, v in after.items()}


class Cluster:
    """API and worker processes sharing one database and one Redis."""

    def __init__(self, workdir: Path, model_url: str, *, shared_redis: bool) -> None:
        self.workdir = workdir
        self.database = Database()
        self.redis = Redis(workdir, shared=shared_redis)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("QUIZRELAY_", "OTEL_"))
        } | {
            "QUIZRELAY_DATABASE_URL": self.database.url,
            "QUIZRELAY_REDIS_URL": self.redis.url,
            "QUIZRELAY_REDIS_PREFIX": self.redis.prefix,
            "QUIZRELAY_LLM_BASE_URL": model_url,
            "QUIZRELAY_MODEL": "scripted-model",
            "QUIZRELAY_MODEL_PROFILE": "llama-cpp",
            "QUIZRELAY_RATE_LIMIT_ROUNDS_PER_MINUTE": "0",
            "QUIZRELAY_MIGRATE_ON_START": "false",  # `quizrelay migrate` made the schema
            "QUIZRELAY_DRAIN_GRACE": "2",
        }
        migrate = subprocess.run(
            [sys.executable, "-m", "quizrelay", "migrate"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=die_with_parent,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"quizrelay migrate failed:\n{migrate.stdout}{migrate.stderr}")
        self.apis: list[Child] = []
        self.workers: list[Child] = []
        self.meter = CpuMeter(self.database.name, self.database.postmaster_pid(), self.redis.pid)
        self.meter.start()
        self._count = 0
        self.phase = "start"  # the phase the workers started next belong to
        self.worker_phases: list[tuple[str, Child]] = []

    def _start(self, command: str, group: str, extra: list[str]) -> Child:
        """Start ``quizrelay <command>``; the caller waits for it (``wait_ready``)."""
        self._count += 1
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "quizrelay",
            command,
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ]
        child = Child(
            f"{group}-{self._count}",
            argv,
            self.env,
            self.workdir,
            f"http://127.0.0.1:{port}/healthz",
            wait=False,
        )
        child.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        self.meter.add(group, child.pid)
        return child

    def api(self) -> Child:
        self.apis.append(self._start("serve", "api", []))
        self.apis[-1].wait_ready(90)
        return self.apis[-1]

    def set_workers(self, count: int, concurrency: int) -> list[Child]:
        """Stop the running workers (they drain, all at once) and start ``count`` new ones."""
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            worker.stop(30)
        self.workers = [
            self._start("worker", "worker", ["--concurrency", str(concurrency)])
            for _ in range(count)
        ]
        self.worker_phases += [(self.phase, worker) for worker in self.workers]
        for worker in self.workers:
            worker.wait_ready(90)
        return self.workers

    def worker_running(self, worker: Child) -> int:
        import httpx

        try:
            health: dict[str, Any] = httpx.get(f"{worker.url}/healthz", timeout=2).json()  # type: ignore[attr-defined]
        except httpx.HTTPError:
            return 0
        return int((health.get("worker") or {}).get("running", 0))

    def close(self) -> None:
        self.meter.stop()
        for child in self.workers + self.apis:
            child.terminate()
        for child in self.workers + self.apis:
            child.stop(20)
        self.redis.close()
        self.database.drop()


LOG_SIGNS = {  # what a worker's log says when its rounds do not go as planned
    "lease_expired": "lease expired on attempt",
    "lease_renewal_failed": "lease renewal failed",
    "lease_renewal_late": "lease renewal late",
    "events_store_failed": "storing events failed",
    "checkpoint_failed": "checkpoint failed",
    "attempt_not_started": "could not start",
    "store_failed": "could not store round",
    "lost_claims": "another worker owns",
    "redis_pool_exhausted": "MaxConnectionsError",
    "redis_pool_waited_out": "No connection available",
    "saq_upkeep_failed": "Upkeep task failed",
}


def log_signs(worker_phases: list[tuple[str, Child]]) -> dict[str, dict[str, int]]:
    """Per phase, how often each of :data:`LOG_SIGNS` appears in its workers' logs."""
    found: dict[str, dict[str, int]] = {}
    for phase, worker in worker_phases:
        text = worker.log_path.read_text(errors="replace") if worker.log_path.exists() else ""
        counts = found.setdefault(phase, dict.fromkeys(LOG_SIGNS, 0))
        for name, sign in LOG_SIGNS.items():
            counts[name] += text.count(sign)
    return found
