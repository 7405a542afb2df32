"""The writing end of a stream: numbers events, sends them to the event log, keeps them to store.

Pipelines publish synchronously (``RoundEvents`` calls :meth:`StreamPublisher.publish` from
anywhere in the round's task); a flusher task sends what accumulated to the event log in one
append per wake-up, so a burst of token deltas costs one round trip, not one per token. The
publisher is the stream's only sequencer, which is what makes the ids increase by one.

Every record stays in memory until the round ends, so nothing is lost when the event log is: a
failed append is retried with backoff, and the retry resends everything the log may lack (the
log skips ids it already has). A refused append (:class:`StaleWriter`) means another worker owns
the round now; the publisher stops and the round's task is told (``on_lost``).

``stage()``/``commit()`` hold back the events published in between (numbered, not yet sent),
so a round can be stored with its last events before any client sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable

from ag_ui.core import BaseEvent

from ..errors import scrub
from .ports import EventLog, EventRecord, StaleWriter

logger = logging.getLogger(__name__)

RETRY_DELAYS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)


def encode(event: BaseEvent, secrets: list[str]) -> tuple[str, str, bool]:
    """(type, JSON, is an interrupt) of an AG-UI event, with secrets scrubbed."""
    data = event.model_dump(mode="json", by_alias=True, exclude_none=True)
    if secrets:
        data = scrub(data, secrets)
    kind = str(data.get("type"))
    outcome = data.get("outcome")
    interrupt = (
        kind == "RUN_FINISHED" and isinstance(outcome, dict) and outcome.get("type") == "interrupt"
    )
    return kind, json.dumps(data, ensure_ascii=False, separators=(",", ":")), interrupt


class StreamPublisher:
    def __init__(
        self,
        log: EventLog,
        stream: str,
        *,
        token: int,
        history: Iterable[EventRecord] = (),
        secrets: Iterable[str] = (),
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.log = log
        self.stream = stream
        self.token = token
        self.records: list[EventRecord] = list(history)
        """Every event of the stream: those of earlier attempts, then this attempt's."""
        self.stored = 0
        self.storing = asyncio.Lock()
        """Held while events are written to the database: a heartbeat and a checkpoint must not
        both store the same unstored events."""
        """How many of ``records`` the database has (the recorder advances it)."""
        self._secrets = [secret for secret in secrets if secret]
        self._sent = len(self.records)
        self._staged: list[EventRecord] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._on_lost = on_lost
        self.lost = False
        self._flusher = asyncio.create_task(self._flush_loop(), name=f"publish {stream}")

    @property
    def last_id(self) -> int:
        staged = len(self._staged) if self._staged is not None else 0
        return len(self.records) + staged

    def publish(self, event: BaseEvent) -> None:
        kind, payload, interrupt = encode(event, self._secrets)
        record = EventRecord(self.last_id + 1, kind, payload, interrupt)
        if self._staged is not None:
            self._staged.append(record)
            return
        self.records.append(record)
        self._kick()

    def stage(self) -> None:
        self._staged = []

    @property
    def staged(self) -> list[EventRecord]:
        return list(self._staged or [])

    def unstage_end(self) -> None:
        """Take back a staged ``RUN_FINISHED``/``RUN_ERROR`` (the outcome it announces could not
        be stored: the run must end otherwise). The events staged before it stay."""
        if self._staged and self._staged[-1].type in ("RUN_FINISHED", "RUN_ERROR"):
            self._staged.pop()

    def commit(self) -> None:
        staged, self._staged = self._staged or [], None
        self.records.extend(staged)
        self._kick()

    def unstored(self) -> list[EventRecord]:
        """Records (staged ones included) the database does not have yet."""
        return self.records[self.stored :] + self.staged

    def _kick(self) -> None:
        if self._sent < len(self.records):
            self._idle.clear()
            self._wake.set()

    async def flushed(self) -> bool:
        """Wait until the event log has every committed record (the caller bounds the wait);
        False if the stream was lost to another worker."""
        await self._idle.wait()
        return not self.lost

    async def _flush_loop(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._sent < len(self.records):
                batch = self.records[self._sent :]
                try:
                    await self.log.append(self.stream, batch, token=self.token)
                except StaleWriter:
                    logger.warning("%s: another worker owns this stream now; stopping", self.stream)
                    self.lost = True
                    self._idle.set()
                    if self._on_lost is not None:
                        self._on_lost()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the log is down: keep everything, retry, resend all
                    delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS) - 1)]
                    if failures == 0:
                        logger.warning("%s: event log unavailable (%s); retrying", self.stream, exc)
                    failures += 1
                    self._sent = 0
                    await asyncio.sleep(delay)
                    continue
                if failures:
                    logger.info(
                        "%s: event log back after %d failed append(s)", self.stream, failures
                    )
                    failures = 0
                self._sent += len(batch)
            self._idle.set()

    async def close(self) -> None:
        self._flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._flusher
