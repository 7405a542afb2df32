"""Where an attempt goes when the database or the event log fails it outside the pipeline.

Two cases, each found under overload in ``benchmarks/distributed.py``:

* the attempt cannot even be prepared (the event log or the database did not answer): it is
  handed back to the queue at once, instead of holding a lease nobody renews until the sweeper
  notices (:func:`give_back_unstarted`);
* the round's outcome cannot be stored: the round is stored as failed and its stream ends with
  ``RUN_ERROR storage_error`` in place of the outcome, so a live client and a later replay see
  the same end (:func:`store_as_failed`).
"""

from __future__ import annotations

import logging

from .. import errors
from ..storage.db import Database, retrying
from ..storage.tables import utcnow
from .attempt import Attempt
from .claims import Claim, ClaimLost, Claims
from .ports import Job, RoundQueue
from .progress import hand_back, save_progress

logger = logging.getLogger(__name__)


async def give_back_unstarted(
    database: Database, queue: RoundQueue, claim: Claim, exc: Exception
) -> None:
    """Hand a claimed round whose attempt could not start back to the queue."""
    logger.warning(
        "round %s: attempt %d could not start (%s: %s); handing it back",
        claim.id, claim.attempt, type(exc).__name__, exc,
    )  # fmt: skip
    try:
        if await retrying(lambda: hand_back(database, claim), within=10.0):
            await queue.submit(Job("round", claim.id, claim.attempt))
    except Exception as again:  # then the lease runs out and the sweeper requeues it
        logger.warning("round %s: could not hand it back either (%s)", claim.id, again)


async def store_as_failed(database: Database, attempt: Attempt) -> errors.RoundFailure:
    """Store the round as failed with ``storage_error``, its stream's staged end replaced by
    ``RUN_ERROR``; returns that failure. If even the events cannot be stored, the row alone is
    marked failed: never leave it running."""
    failure = errors.RoundFailure(
        errors.STORAGE_ERROR,
        "The round's result could not be stored.",
        role=attempt.ctx.events.current_step,
    )
    attempt.publisher.unstage_end()
    attempt.ctx.events.run_error(failure.code, failure.message)
    fields = {
        "status": "failed",
        "error_code": failure.code,
        "worker_id": None,
        "lease_expires_at": None,
        "error_message": failure.message,
        "finished_at": utcnow(),
    }
    try:
        await retrying(
            lambda: save_progress(database, attempt.claim, attempt.publisher, fields),
            within=10.0,
        )
        return failure
    except ClaimLost:
        return failure
    except Exception:
        logger.exception("could not store round %s's events either", attempt.round_id)
    try:
        async with database.transaction() as session:
            await Claims.write(session, attempt.claim, fields)
    except Exception:
        logger.exception("could not mark round %s failed either", attempt.round_id)
    return failure
