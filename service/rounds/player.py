"""A human in the Answerer's seat.

In a ``human`` round the round's task does not end after the question: it waits here for the
player's answer, which arrives on another HTTP request (``POST /api/rounds/{id}/answer``). The
first run of the round's AG-UI thread ends with ``RUN_FINISHED`` (outcome: interrupt, awaiting
an answer); the answer starts a second run in which the Judge judges it. A round takes one
answer, once; a round nobody answers in time fails with ``answer_timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from .. import errors


class AnswerRejected(Exception):
    """An answer the round cannot take; ``reason`` says why (the API answers 409)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PlayerSeat:
    def __init__(
        self,
        *,
        timeout: float,
        on_waiting: Callable[[], Awaitable[None]],
        on_resumed: Callable[[], None],
    ) -> None:
        self.timeout = timeout
        self._on_waiting = on_waiting
        self._on_resumed = on_resumed
        self._answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting = False
        self.closed = False

    async def wait_for_answer(self) -> str:
        """End the current run, wait for the player's answer, start the next run, return it."""
        if self._answer.done():
            return self._answer.result()
        self.waiting = True
        await self._on_waiting()
        try:
            answer = await asyncio.wait_for(asyncio.shield(self._answer), self.timeout)
        except TimeoutError:
            self.closed = True
            self._on_resumed()
            raise errors.RoundFailure(
                errors.ANSWER_TIMEOUT,
                f"No answer arrived within {self.timeout:.0f} s (QUIZRELAY_ANSWER_TIMEOUT).",
                role="Answerer",
            ) from None
        finally:
            self.waiting = False
        self._on_resumed()
        return answer

    def submit(self, answer: str) -> None:
        """Hand the player's answer to the waiting round (called by the API)."""
        if self._answer.done():
            raise AnswerRejected("this round has already been answered")
        if self.closed:
            raise AnswerRejected("this round no longer takes an answer")
        if not self.waiting:
            raise AnswerRejected("the question has not been asked yet; wait for RUN_FINISHED")
        self._answer.set_result(answer)
