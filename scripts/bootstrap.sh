#!/usr/bin/env bash
# Create .venv (if needed) and install quizrelay with the embedded model and test tools, at the
# versions pinned in constraints.txt. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
    echo "quizrelay needs Python 3.11 (found: $("$PYTHON" --version 2>&1)); set PYTHON=python3.11" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi

# llama-cpp-python is a source distribution: pip compiles llama.cpp (a few minutes, once;
# pip caches the wheel). The multimodal library, tests and examples are not needed. GGML_NATIVE
# is off so the wheel is portable (AVX2/FMA, the llama.cpp default without -march=native): a
# native build on a VM whose CPU reports AMX crashed at the first token, and pip's cache carries
# a wheel to other machines.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"

.venv/bin/python -m pip install --quiet --upgrade "pip==26.3"
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[embedded,test]"

# The installed llama.cpp must run on this CPU (see scripts/check_llama.py); if it does not (a
# wheel from the cache, built elsewhere or natively), drop the cached wheel and build it here.
if ! .venv/bin/python scripts/check_llama.py >/dev/null 2>&1; then
    echo "bootstrap: llama.cpp does not run on this machine; rebuilding llama-cpp-python" >&2
    .venv/bin/python -m pip cache remove 'llama_cpp_python*' >/dev/null 2>&1 || true
    .venv/bin/python -m pip install --quiet --force-reinstall --no-deps -c constraints.txt llama-cpp-python
    .venv/bin/python scripts/check_llama.py
fi
