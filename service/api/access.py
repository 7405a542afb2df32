"""Who is calling: bearer tokens, what a player may see, and how often a client may start rounds.

With ``QUIZRELAY_API_TOKENS`` unset the API is open (a local, single-user service). With it set,
every ``/api`` route needs ``Authorization: Bearer <token>``; the token names a player, whose
games, rounds, traces and comparisons are theirs alone — another player's ids answer 404, as if
they did not exist.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from .deps import StateDep


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, detail=message, headers={"WWW-Authenticate": "Bearer"})


def current_player(request: Request, state: StateDep) -> str | None:
    """The calling player's name, or None when the API is open. Raises 401 otherwise."""
    players = state.settings.players_by_token()
    if not players:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("this API needs a bearer token: send 'Authorization: Bearer <token>'")
    for known, name in players.items():
        if secrets.compare_digest(known.encode(), token.strip().encode()):
            return name
    raise _unauthorized("the bearer token is not valid")


PlayerDep = Annotated[str | None, Depends(current_player)]


def visible(owner: str | None, player: str | None) -> bool:
    """Whether ``player`` may see something owned by ``owner`` (everything, when the API is
    open)."""
    return player is None or owner == player


class RateLimiter:
    """A token bucket per client: ``per_minute`` starts, refilled continuously."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> float | None:
        """Take one start for ``client``; returns None if allowed, else seconds to wait."""
        if self.per_minute <= 0:
            return None
        rate = self.per_minute / 60.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                return (1.0 - tokens) / rate
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:  # forget idle clients rather than grow forever
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
            return None


def limit_starts(request: Request, state: StateDep, player: PlayerDep) -> None:
    """Dependency of the routes that start work (rounds, comparisons): 429 when over the limit."""
    client = player or (request.client.host if request.client else "unknown")
    wait = state.limiter.check(client)
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        raise HTTPException(
            429,
            detail=(
                f"too many rounds started: at most {state.limiter.per_minute} per minute; "
                f"retry in {seconds} s"
            ),
            headers={"Retry-After": str(seconds)},
        )


StartLimit = Depends(limit_starts)
