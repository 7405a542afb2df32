"""What the comparison routes call: start a comparison, follow it, cancel it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from ..execution.following import follow
from ..execution.ports import EventLog, Job, RoundQueue, Signals
from ..execution.service import new_id
from ..records import EventBatch
from ..storage.comparisons import ComparisonStore
from ..storage.db import Database
from ..storage.tables import ComparisonRow


@dataclass(frozen=True)
class Arm:
    """One way of playing the questions: a pipeline on a named model (with settings)."""

    pipeline: str
    model: str
    name: str
    model_settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "model": self.model, "name": self.name,
                "model_settings": dict(self.model_settings)}  # fmt: skip


def default_arms(pipelines: list[str], model: str) -> list[Arm]:
    """Every pipeline on the configured model (the arm is named after its pipeline)."""
    return [Arm(pipeline, model, pipeline) for pipeline in pipelines]


class ComparisonService:
    def __init__(
        self,
        *,
        database: Database,
        store: ComparisonStore,
        queue: RoundQueue,
        log: EventLog,
        signals: Signals,
        poll: float = 5.0,
    ) -> None:
        self.db = database
        self.store = store
        self.queue = queue
        self.log = log
        self.signals = signals
        self.poll = poll

    async def start(
        self,
        *,
        rounds: int,
        arms: list[Arm],
        baseline: str,
        categories: list[str] | None,
        difficulty: str | None,
        seed: int | None,
        owner: str | None,
        record: dict[str, Any] | None = None,
        rerun_of: str | None = None,
    ) -> str:
        comparison_id = new_id("cmp")
        settings: dict[str, Any] = {
            "rounds": rounds,
            "categories": categories,
            "difficulty": difficulty,
            "seed": seed if seed is not None else random.randrange(2**31 - 1000),
            "arms": [arm.as_dict() for arm in arms],
            "baseline": baseline,
            "pipelines": [arm.pipeline for arm in arms],
            "owner": owner,
            "record": record,
            "rerun_of": rerun_of,
        }
        await self.store.create(comparison_id, settings, owner)
        await self.queue.submit(Job("comparison", comparison_id))
        return comparison_id

    async def get(self, comparison_id: str) -> ComparisonRow | None:
        return await self.store.get(comparison_id)

    def events(self, comparison_id: str, after: int) -> AsyncIterator[EventBatch]:
        async def progress() -> tuple[bool, int]:
            return await self.store.progress(comparison_id)

        return follow(
            self.log,
            self.db,
            f"comparison:{comparison_id}",
            after,
            stop="end",
            progress=progress,
            poll=self.poll,
        )

    async def cancel(self, comparison_id: str, reason: str) -> ComparisonRow:
        row, wake = await self.store.request_cancel(comparison_id, reason)
        if wake:
            await self.queue.submit(Job("comparison", comparison_id, row.attempt))
        await self.signals.cancel(comparison_id, reason)
        return row
