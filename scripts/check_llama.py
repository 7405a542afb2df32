"""Generate one token with the embedded model: exits 0 if llama.cpp runs on this CPU.

A llama-cpp-python wheel built on another machine (pip reuses its cache across machines, and
whatever ``CMAKE_ARGS`` were set then) may use instructions this CPU or its hypervisor refuses:
seen on a VM whose CPU reports AMX, where every completion died of a general protection fault
in ``libggml-cpu``. ``scripts/bootstrap.sh`` runs this after installing and rebuilds if it fails.
"""

from __future__ import annotations

from llama_cpp import Llama

from quizrelay.embedded.server import model_path

# A prompt of some length and two threads: the batched matrix kernels are where it crashed
# (one short prompt on one thread ran fine).
llama = Llama(model_path=str(model_path()), n_ctx=512, n_threads=2, verbose=False)
llama.create_completion("Hello, my name is " * 20, max_tokens=2)
print("llama.cpp runs on this machine")
