"""What a comparison ran, recorded with it so that it can be reproduced and two can be diffed:
each arm's pipeline, model (server, model id, profile) and settings, a content hash of the
prompts and agent settings, and the versions of quizrelay and the libraries that shaped it."""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

from ..agent_specs import AgentsConfig
from ..named_models import NamedModel

LIBRARIES = ("openai-agents", "openai", "ag-ui-protocol", "reasoning-gym")


def prompts_hash(config: AgentsConfig) -> str:
    """SHA-256 of every file of the agents config folder (names and contents, in name order)."""
    digest = hashlib.sha256()
    for path in sorted(Path(config.source_dir).glob("*.yaml")):
        digest.update(path.name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_record(
    arms: list[dict[str, Any]], models: dict[str, NamedModel], config: AgentsConfig
) -> dict[str, Any]:
    return {
        "arms": [
            {
                **arm,
                "server": models[arm["model"]].base_url or "embedded",
                "model_id": models[arm["model"]].model,
                "profile": models[arm["model"]].profile,
            }
            for arm in arms
        ],
        "prompts_sha256": prompts_hash(config),
        "versions": {"quizrelay": _version("quizrelay"), **{p: _version(p) for p in LIBRARIES}},
    }


def diff_records(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Where two comparisons' records (and question settings) differ: ``{path, a, b}`` each."""
    changes: list[dict[str, Any]] = []

    def walk(path: str, left: Any, right: Any) -> None:
        if isinstance(left, dict) and isinstance(right, dict):
            for key in sorted(set(left) | set(right)):
                walk(f"{path}.{key}" if path else key, left.get(key), right.get(key))
        elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
            for index, (x, y) in enumerate(zip(left, right, strict=True)):
                walk(f"{path}[{index}]", x, y)
        elif left != right:
            changes.append({"path": path, "a": left, "b": right})

    walk("", a, b)
    return changes
