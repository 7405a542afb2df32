#!/usr/bin/env bash
# Install everything (first run: a few minutes) and serve the API on http://127.0.0.1:8000,
# on the embedded model unless QUIZRELAY_LLM_BASE_URL is set. Extra arguments go to
# `quizrelay serve` (for example --port 9000).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/quizrelay serve "$@"
