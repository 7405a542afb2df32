"""Where the time to first token goes, embedded mode against distributed mode, one round at a time.

    .venv/bin/python benchmarks/ttft_path.py [--rounds 10]

The paced scripted model runs inside this process, so the moment each model request arrives is
known on the same clock as the client's. A round's time to first token then splits into:

  start     POST sent -> the round's first model request arrives (planning, storing, queueing,
            claiming, the stream's first events, building the request)
  model     the model's own wait for its first delta (first-token delay + one token interval)
  delivery  the rest: the delta relayed from the model's socket to the client's (parse, event,
            event log, reader, SSE)

and "paired" is the added TTFT over pairs of rounds played one after the other (its median and
quartiles), less moved by the machine's drift than the difference of the two medians.

Needs what `distributed.py` needs (PostgreSQL at TEST_POSTGRES_URL, `redis-server` on the PATH).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.cluster import Cluster
from benchmarks.procs import free_port, start_service
from benchmarks.rounds import play_round
from tests.fakes.scripted_openai import ScriptedOpenAIServer, paced_auto_responder

FIRST_TOKEN_DELAY, TOKEN_INTERVAL = 0.1, 0.02


async def measure(
    server: ScriptedOpenAIServer, bases: dict[str, str], pipelines: list[str], rounds: int
) -> dict[tuple[str, str], list[tuple[float, float, float]]]:
    out: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=0)) as c:
        for base in bases.values():  # warm-up
            for pipeline in pipelines:
                await play_round(c, base, pipeline)
        for i in range(rounds):
            order = list(bases.items()) if i % 2 == 0 else list(reversed(bases.items()))
            for mode, base in order:
                for pipeline in pipelines:
                    seen = len(server.requests)
                    result = await play_round(c, base, pipeline)
                    if result.end != "RUN_FINISHED" or result.first_token is None:
                        print(f"{mode} {pipeline}: round failed ({result.error or result.end})")
                        continue
                    arrived = server.requests[seen].received_at - result.started_at
                    model = FIRST_TOKEN_DELAY + TOKEN_INTERVAL
                    delivery = result.first_token - arrived - model
                    out.setdefault((mode, pipeline), []).append(
                        (result.first_token, arrived, delivery)
                    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="rounds per pipeline and mode")
    parser.add_argument("--pipelines", default="agents,chat")
    args = parser.parse_args()
    pipelines = args.pipelines.split(",")
    with (
        tempfile.TemporaryDirectory(prefix="qr_ttft_") as tmp,
        ScriptedOpenAIServer(model="scripted-model") as server,
    ):
        server.responder = paced_auto_responder(FIRST_TOKEN_DELAY, TOKEN_INTERVAL)
        workdir = Path(tmp)
        cluster = Cluster(workdir, server.base_url, shared_redis=False)
        port = free_port()
        embedded = start_service("embedded", port, server.base_url, workdir)
        try:
            api = cluster.api()
            cluster.set_workers(1, 10)
            bases = {"embedded": f"http://127.0.0.1:{port}", "distributed": api.url}  # type: ignore[attr-defined]
            results = asyncio.run(measure(server, bases, pipelines, args.rounds))
        finally:
            embedded.stop()
            cluster.close()
    print(
        f"\nmedians over {args.rounds} rounds each, ms (model's own wait: "
        f"{(FIRST_TOKEN_DELAY + TOKEN_INTERVAL) * 1000:.0f} ms)"
    )
    print(f"{'pipeline':<10} {'mode':<12} {'TTFT':>8} {'start':>8} {'delivery':>9}")
    for pipeline in pipelines:
        rows = {mode: results.get((mode, pipeline), []) for mode in ("embedded", "distributed")}
        medians = {
            mode: [statistics.median(col) * 1000 for col in zip(*values, strict=True)]
            for mode, values in rows.items()
            if values
        }
        for mode, (ttft, start, delivery) in medians.items():
            print(f"{pipeline:<10} {mode:<12} {ttft:>8.1f} {start:>8.1f} {delivery:>9.1f}")
        if len(medians) == 2:
            added = [
                d - e for d, e in zip(medians["distributed"], medians["embedded"], strict=True)
            ]
            ttft, start, delivery = added
            print(f"{pipeline:<10} {'added':<12} {ttft:>+8.1f} {start:>+8.1f} {delivery:>+9.1f}")
            paired = paired_added(rows["embedded"], rows["distributed"])
            if paired is not None:
                low, mid, high = paired
                spread = f"(TTFT, quartiles {low:+.1f} .. {high:+.1f})"
                print(f"{pipeline:<10} {'paired':<12} {mid:>+8.1f}   {spread}")


def paired_added(
    embedded: list[tuple[float, float, float]], distributed: list[tuple[float, float, float]]
) -> tuple[float, float, float] | None:
    """Quartiles of the added TTFT, ms, over the pairs of rounds played next to each other
    (round i of each mode): the machine's drift between pairs cancels out, which the difference
    of two medians does not do."""
    pairs = [(d[0] - e[0]) * 1000 for e, d in zip(embedded, distributed, strict=False)]
    if len(pairs) < 4:
        return None
    low, mid, high = statistics.quantiles(pairs, n=4)
    return low, mid, high


if __name__ == "__main__":
    main()
