"""An event as it travels: numbered, typed, and encoded once.

The publisher encodes each AG-UI event to JSON once; the event log, the database and the SSE
writer all carry that same string, so an event costs one serialisation however far it goes.
"""

from __future__ import annotations

from dataclasses import dataclass

RUN_END_TYPES = frozenset({"RUN_FINISHED", "RUN_ERROR"})


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event of a stream: its id (1, 2, 3... per stream), its AG-UI type and its JSON."""

    id: int
    type: str
    json: str
    interrupt: bool = False
    """A ``RUN_FINISHED`` whose outcome is an interrupt: the round now waits for its player."""

    @property
    def ends_run(self) -> bool:
        return self.type in RUN_END_TYPES

    @property
    def ends_stream(self) -> bool:
        """Nothing follows this event unless the round is resumed by a player's answer."""
        return self.ends_run and not self.interrupt


EventBatch = list[EventRecord]
"""The records a reader gets at once (one socket write for the SSE client)."""
