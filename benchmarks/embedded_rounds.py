"""Play N rounds of each pipeline against a running quizrelay and print a table.

    .venv/bin/quizrelay serve &            # on the embedded model, or any configured model
    .venv/bin/python benchmarks/embedded_rounds.py --rounds 20 [--url http://127.0.0.1:8000]

Rounds run one at a time, alternating pipelines (agents, chat, agents, ...) with the same seed
for each pair, so both pipelines get the same questions and the same machine conditions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter, defaultdict

import httpx


def play(client: httpx.Client, url: str, pipeline: str, seed: int) -> dict:
    started = time.perf_counter()
    first_delta = None
    events = []
    with client.stream(
        "POST", f"{url}/api/rounds", json={"pipeline": pipeline, "seed": seed}
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                events.append(event)
                if first_delta is None and event["type"] in (
                    "TEXT_MESSAGE_CONTENT",
                    "TOOL_CALL_ARGS",
                ):
                    first_delta = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    last = events[-1]
    custom = {e["name"]: e["value"] for e in events if e["type"] == "CUSTOM"}
    return {
        "pipeline": pipeline,
        "ok": last["type"] == "RUN_FINISHED" and "verdict" in custom,
        "error": last.get("code"),
        "seconds": elapsed,
        "ttft": first_delta,
        "correct": custom.get("verdict", {}).get("correct"),
        "usage": custom.get("usage", {}).get("total", {}),
        "events": len(events),
        "category": custom.get("round", {}).get("category"),
    }


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    results = defaultdict(list)
    with httpx.Client(timeout=300) as client:
        for i in range(args.rounds):
            for pipeline in ("agents", "chat"):
                result = play(client, args.url, pipeline, args.seed + i)
                results[pipeline].append(result)
                status = "ok" if result["ok"] else f"FAILED ({result['error']})"
                print(
                    f"{pipeline:6} round {i + 1:2}: {status:24} {result['seconds']:5.1f} s  "
                    f"{result['category']}",
                    flush=True,
                )
    print()
    header = (
        f"{'pipeline':8} {'verdicts':>9} {'median s':>9} {'p95 s':>7} {'ttft ms':>8} "
        f"{'calls':>6} {'in tok':>7} {'out tok':>8} {'correct':>8}"
    )
    print(header)
    print("-" * len(header))
    for pipeline, rows in results.items():
        seconds = [r["seconds"] for r in rows]
        ttfts = [r["ttft"] * 1000 for r in rows if r["ttft"] is not None]
        ok = sum(r["ok"] for r in rows)
        calls = statistics.mean(r["usage"].get("requests", 0) for r in rows)
        tokens_in = statistics.mean(r["usage"].get("input_tokens", 0) for r in rows)
        tokens_out = statistics.mean(r["usage"].get("output_tokens", 0) for r in rows)
        correct = sum(1 for r in rows if r["correct"])
        print(
            f"{pipeline:8} {ok:>4}/{len(rows):<4} {statistics.median(seconds):9.2f} "
            f"{pct(seconds, 0.95):7.2f} {statistics.median(ttfts):8.0f} {calls:6.1f} "
            f"{tokens_in:7.0f} {tokens_out:8.0f} {correct:>8}"
        )
        errors = Counter(r["error"] for r in rows if not r["ok"])
        if errors:
            print(f"         errors: {dict(errors)}")


if __name__ == "__main__":
    main()
