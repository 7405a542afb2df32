"""The live event log of a running round: every event kept, numbered, and fanned out.

A round runs in its own task and publishes into a :class:`RoundEventLog`; HTTP clients
subscribe to it from any point (``after`` = the last id they saw). So a client that drops and
comes back gets what it missed once and in order, two clients can watch one round, and a round
does not depend on the connection that started it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from ag_ui.core import BaseEvent

from ..errors import scrub

EventRecord = tuple[int, dict[str, Any]]
EventBatch = list[EventRecord]
"""Records a subscriber gets at once: every event available when it wakes, so a busy stream
is written with one socket write per batch rather than one per event."""
RUN_END_TYPES = ("RUN_FINISHED", "RUN_ERROR")


class RoundEventLog:
    def __init__(self, *, secrets: Iterable[str] = ()) -> None:
        self.records: list[EventRecord] = []
        self.closed = False
        self._secrets = [s for s in secrets if s]
        self._changed = asyncio.Event()
        self._staged: list[EventRecord] | None = None
        self.paused = False
        """True between the two runs of a human round (waiting for the answer)."""

    @property
    def last_id(self) -> int:
        return len(self.records)

    def publish(self, event: BaseEvent) -> None:
        data = event.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self._secrets:
            data = scrub(data, self._secrets)
        if self._staged is not None:
            self._staged.append((len(self.records) + len(self._staged) + 1, data))
            return
        self.records.append((len(self.records) + 1, data))
        self._wake()

    def stage(self) -> None:
        """Hold back the events published from now on (numbered, but not yet visible), so the
        round can be stored with its last events before any client sees them."""
        self._staged = []

    @property
    def staged(self) -> list[EventRecord]:
        return list(self._staged or [])

    def commit(self) -> None:
        """Make the held-back events visible, in order."""
        staged, self._staged = self._staged or [], None
        self.records.extend(staged)
        self._wake()

    def close(self) -> None:
        """No more events will come (the run finished, failed or awaits an answer)."""
        self.closed = True
        self._wake()

    def pause(self) -> None:
        """The round waits for a player's answer: nothing will come until it arrives."""
        self.paused = True
        self._wake()

    def resume(self) -> None:
        self.paused = False

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def subscribe(
        self, after: int = 0, *, until_run_end: bool = False, until_paused: bool = False
    ) -> AsyncIterator[EventBatch]:
        """Every event with an id above ``after``, then live ones until the log closes.

        ``until_run_end`` stops after the first ``RUN_FINISHED`` or ``RUN_ERROR``: a human round
        has two runs, and each request streams its own. ``until_paused`` stops once caught up
        with a round that waits for its player's answer (a re-attaching client would otherwise
        hang until the player answers)."""
        position = max(after, 0)
        while True:
            changed = self._changed
            if position < len(self.records):
                batch = self.records[position:]
                if until_run_end:
                    for index, record in enumerate(batch):
                        if record[1].get("type") in RUN_END_TYPES:
                            yield batch[: index + 1]
                            return
                position += len(batch)
                yield batch
                continue
            if self.closed or (until_paused and self.paused):
                return
            await changed.wait()
