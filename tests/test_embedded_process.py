"""The embedded model server's child process: started, waited for and stopped, with its log file.

A stand-in child (a few lines of ``http.server``) takes the model server's place, so these run
in a second; the real server is started by ``tests/test_e2e_embedded.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from quizrelay.embedded.process import EmbeddedModelProcess
from quizrelay.errors import ModelServerError
from quizrelay.settings import Settings

READY_SERVER = """
import http.server, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.end_headers()
    def log_message(self, *args):
        pass
print("stand-in model server listening", flush=True)
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
"""


@pytest.fixture
def logs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where ``tempfile`` puts the child's log during the test (only this test's files)."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _process(monkeypatch: pytest.MonkeyPatch, script: str, **settings: Any) -> EmbeddedModelProcess:
    process = EmbeddedModelProcess(Settings(_env_file=None, **settings))
    command = [sys.executable, "-c", script, process.host, str(process.port)]
    monkeypatch.setattr(process, "command", lambda: command)
    return process


def _logs(directory: Path) -> list[Path]:
    return sorted(directory.glob("quizrelay-model-*.log"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_start_then_stop_leaves_no_log_file(logs_dir, monkeypatch):
    process = _process(monkeypatch, READY_SERVER)
    assert await process.start() == process.base_url
    pid = process.pid
    assert pid is not None and _alive(pid)
    (log,) = _logs(logs_dir)  # the child writes to it while it runs
    assert "stand-in model server listening" in log.read_text()
    await process.stop()
    assert _logs(logs_dir) == []
    assert not _alive(pid) and process.pid is None
    await process.stop()  # a second stop is harmless


async def test_a_server_that_exits_early_reports_its_log_and_leaves_none(logs_dir, monkeypatch):
    script = "import sys; print('cannot load the model file', flush=True); sys.exit(3)"
    process = _process(monkeypatch, script)
    with pytest.raises(ModelServerError) as failure:
        await process.start()
    message = str(failure.value)
    assert "exited with code 3" in message and "cannot load the model file" in message
    assert _logs(logs_dir) == []


async def test_a_server_that_never_answers_is_stopped_and_leaves_no_log(logs_dir, monkeypatch):
    script = (
        "import os, time; print('loading, slowly: pid', os.getpid(), flush=True); time.sleep(60)"
    )
    process = _process(monkeypatch, script, embedded_start_timeout=0.5)
    with pytest.raises(ModelServerError) as failure:
        await process.start()
    message = str(failure.value)
    assert "did not answer within" in message and "loading, slowly" in message
    assert _logs(logs_dir) == []
    assert process.pid is None
    assert not _alive(int(message.rsplit("pid", 1)[1])), "the child was left running"
