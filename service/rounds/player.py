"""A human in the Answerer's seat.

In a ``human`` round the first run ends once the question is asked: the pipeline asks the seat
for the answer, the seat has none yet, and :class:`AwaitingPlayer` ends the attempt — the round
is stored as ``awaiting_answer`` (``RUN_FINISHED`` with an interrupt outcome) and nothing waits
in any process. The answer, posted to any API process, queues the round again; the next attempt
finds it in the seat and the Judge judges it in the round's second run. A round takes one
answer, once; a round nobody answers in time is queued by the sweeper and fails here with
``answer_timeout``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import errors


class AwaitingPlayer(Exception):
    """The round needs its player's answer before it can go on (not a failure)."""


@dataclass(frozen=True)
class PlayerSeat:
    answer: str | None = None
    """The player's answer, once it was posted."""
    timed_out: bool = False
    """The player did not answer in time (``QUIZRELAY_ANSWER_TIMEOUT``)."""
    timeout: float = 0.0
    """Seconds the player had (for the message)."""

    async def wait_for_answer(self) -> str:
        """The player's answer; raises :class:`AwaitingPlayer` while there is none."""
        if self.answer is not None:
            return self.answer
        if self.timed_out:
            raise errors.RoundFailure(
                errors.ANSWER_TIMEOUT,
                f"No answer arrived within {self.timeout:.0f} s (QUIZRELAY_ANSWER_TIMEOUT).",
                role="Answerer",
            )
        raise AwaitingPlayer()
