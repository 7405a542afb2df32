#!/usr/bin/env bash
# Install everything and run the whole test suite (unit, API, scripted-model, fault and
# end-to-end tests on the embedded model). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
