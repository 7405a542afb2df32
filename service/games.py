"""Games and scores: what a game's next round is, how rounds score, and the leaderboard.

A game is a series of rounds with one pipeline and one mode (``ai``: AI against AI; ``human``:
a player answers). Its id is the AG-UI thread id of its rounds and the ``group_id`` of their
traces. A round scores 1 when its verdict is correct; ``points`` add up the verdicts' partial
scores. Failed rounds count as played, not as answered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .storage.tables import GameRow, RoundRow


class GameClosed(Exception):
    """The game has played all its rounds (the API answers 409)."""


@dataclass(frozen=True)
class RoundDefaults:
    pipeline: str
    mode: str
    category: str | None
    difficulty: str | None
    model: str | None = None


def score(rounds: list[RoundRow]) -> dict[str, Any]:
    verdicts = [r.verdict for r in rounds if r.verdict]
    correct = sum(1 for verdict in verdicts if verdict.get("correct"))
    return {
        "played": len(rounds),
        "answered": len(verdicts),
        "correct": correct,
        "failed": sum(1 for r in rounds if r.status == "failed"),
        "points": round(sum(float(verdict.get("score", 0.0)) for verdict in verdicts), 3),
        "accuracy": round(correct / len(verdicts), 3) if verdicts else None,
    }


def round_summary(row: RoundRow) -> dict[str, Any]:
    over = row.status in ("completed", "failed")
    return {
        "id": row.id,
        "status": row.status,
        "category": row.category,
        "difficulty": row.difficulty,
        "question": row.question,
        "answer": row.answer,
        "answered_by": row.answered_by,
        "reference_answer": row.reference_answer if over else None,
        "correct": row.verdict.get("correct") if row.verdict else None,
        "score": row.verdict.get("score") if row.verdict else None,
        "error_code": row.error_code,
        "total_ms": row.total_ms,
        "trace_id": row.trace_id,
        "links": {
            "round": f"/api/rounds/{row.id}",
            "trace": f"/api/traces/{row.trace_id}",
            "trace_page": f"/traces/{row.trace_id}",
        },
    }


def game_out(game: GameRow, rounds: list[RoundRow], *, with_rounds: bool) -> dict[str, Any]:
    settings = game.settings or {}
    planned = settings.get("rounds")
    finished = (
        planned is not None
        and sum(1 for r in rounds if r.status in ("completed", "failed")) >= planned
    )
    out: dict[str, Any] = {
        "id": game.id,
        "name": game.name,
        "pipeline": game.pipeline,
        "mode": game.mode,
        "categories": settings.get("categories"),
        "difficulty": settings.get("difficulty"),
        "model": settings.get("model"),
        "rounds_planned": planned,
        "status": "finished" if finished else "open",
        "score": score(rounds),
        "created_at": game.created_at,
        "links": {"self": f"/api/games/{game.id}", "traces": f"/api/traces?game_id={game.id}"},
    }
    if with_rounds:
        out["rounds"] = [round_summary(r) for r in rounds]
    return out


def next_round_defaults(game: GameRow, rounds_so_far: int) -> RoundDefaults:
    """What a round added to ``game`` plays unless the request says otherwise; categories
    take turns."""
    settings = game.settings or {}
    planned = settings.get("rounds")
    if planned is not None and rounds_so_far >= planned:
        raise GameClosed(f"game {game.id} has played all its {planned} rounds")
    categories = settings.get("categories") or []
    category = categories[rounds_so_far % len(categories)] if categories else None
    return RoundDefaults(
        pipeline=game.pipeline or "agents",
        mode=game.mode or "ai",
        category=category,
        difficulty=settings.get("difficulty"),
        model=settings.get("model"),
    )


def leaderboard(rounds: list[RoundRow]) -> list[dict[str, Any]]:
    """One line per (mode, pipeline, model), best accuracy first."""
    groups: dict[tuple[str, str, str], list[RoundRow]] = defaultdict(list)
    for row in rounds:
        groups[(row.mode or "ai", row.pipeline, row.model)].append(row)
    entries = []
    for (mode, pipeline, model), rows in groups.items():
        entry = {
            "mode": mode,
            "pipeline": pipeline,
            "model": model,
            "games": len({r.game_id for r in rows}),
            **score(rows),
        }
        entries.append(entry)
    entries.sort(key=lambda e: (-(e["accuracy"] or 0.0), -e["answered"], e["pipeline"]))
    for rank, entry in enumerate(entries, start=1):
        entry["rank"] = rank
    return entries
