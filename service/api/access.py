"""Who is calling: bearer tokens, what a player may see, and how often a client may start rounds.

With ``QUIZRELAY_API_TOKENS`` unset the API is open (a local, single-user service). With it set,
every ``/api`` route needs ``Authorization: Bearer <token>``; the token names a player, whose
games, rounds, traces and comparisons are theirs alone — another player's ids answer 404, as if
they did not exist.
"""

from __future__ import annotations

import math
import secrets
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from limits import RateLimitItemPerMinute

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


async def limit_starts(request: Request, state: StateDep, player: PlayerDep) -> None:
    """Dependency of the routes that start work (rounds, comparisons): 429 when over the limit.

    The limit is a moving window (the ``limits`` library) whose counters live with the other
    live state — in this process, or in Redis, where every API process shares them."""
    per_minute = state.settings.rate_limit_rounds_per_minute
    if per_minute <= 0:
        return
    client = player or (request.client.host if request.client else "unknown")
    item = RateLimitItemPerMinute(per_minute)
    limiter = state.backends.limiter
    if await limiter.hit(item, "starts", client):
        return
    window = await limiter.get_window_stats(item, "starts", client)
    seconds = max(1, math.ceil(window.reset_time - time.time()))
    raise HTTPException(
        429,
        detail=f"too many rounds started: at most {per_minute} per minute; retry in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


StartLimit = Depends(limit_starts)
