"""Which tool a role's next model call must call: one policy for both pipelines.

A capable model is told ``"required"`` and picks its tool. llama-cpp-python's server crashes on
``"required"`` and streams nothing on ``"auto"``, but honours a *named* tool choice; for it each
role lists its tools in order (``[check_answer, submit_verdict]``) and every call names the first
one not yet done. Tools not offered in a given round or pipeline are skipped, so the Questioner's
list ``[draw_question, pose_question, transfer_to_answerer]`` works for all question sources
and for the baseline (which has no handoffs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..agent_specs import ToolChoiceSpec
from ..rounds.tools import TOOL_ERROR_PREFIX

KEYWORDS = ("auto", "required", "none")


@dataclass(frozen=True)
class ToolChoicePolicy:
    spec: ToolChoiceSpec

    def choose(self, offered: Iterable[str], done: Iterable[str]) -> str | None:
        """The tool choice for the next call: a keyword, a tool name, or None (send none).

        ``offered`` are the tool names in this call's request, ``done`` the ones this role has
        already called successfully.
        """
        offered_list = list(offered)
        if not offered_list:
            return None
        if isinstance(self.spec, str):
            if self.spec in KEYWORDS:
                return self.spec
            return self.spec if self.spec in offered_list else "required"
        sequence = [name for name in self.spec if name in offered_list]
        if not sequence:
            return "required"
        done_set = set(done)
        for name in sequence:
            if name not in done_set:
                return name
        return sequence[-1]


def _field(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return item.get(name)
    return getattr(item, name, None)


def done_tools_in_history(items: Iterable[Any]) -> set[str]:
    """Tools called successfully in a Responses-format history (the Agents SDK's model input).

    A call counts once its output is there and is not a tool error; the SDK hands each agent
    its own history (tool items are stripped at every handoff), so these are this role's calls.
    """
    calls: dict[str, str] = {}
    done: set[str] = set()
    for item in items:
        kind = _field(item, "type")
        if kind == "function_call":
            calls[str(_field(item, "call_id"))] = str(_field(item, "name"))
        elif kind == "function_call_output":
            name = calls.get(str(_field(item, "call_id")))
            output = _field(item, "output")
            failed = isinstance(output, str) and output.startswith(TOOL_ERROR_PREFIX)
            if name is not None and not failed:
                done.add(name)
    return done


def chat_tool_choice_param(choice: str | None) -> Any:
    """``choice`` in the shape of the Chat Completions ``tool_choice`` parameter."""
    if choice is None or choice in KEYWORDS:
        return choice
    return {"type": "function", "function": {"name": choice}}
