#!/usr/bin/env bash
# Install everything, lint and type-check (scripts/lint.sh), then run the whole test suite
# (unit, API, scripted-model, fault, distributed (PostgreSQL + Redis), AG-UI client, packaging and
# end-to-end tests on the embedded model). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# The browser tests drive Debian's Chromium headless (no browser is downloaded by a test tool).
if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq chromium >/dev/null
    elif command -v sudo >/dev/null; then
        sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    else
        echo "the browser tests need Chromium: apt-get install chromium (as root)" >&2
    fi
fi
# docker-compose.yml is checked with `docker compose config` (no engine runs here): the client's
# compose plugin, or Debian's docker-compose when the plugin is missing.
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y -qq docker-compose >/dev/null || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }
    elif command -v sudo >/dev/null; then
        sudo apt-get install -y -qq docker-compose >/dev/null
    fi
fi
./scripts/lint.sh
# The AG-UI client test drives the service with the official TypeScript client (npm, pinned).
(cd tests/agui && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
# The distributed tests talk to a real PostgreSQL and Redis: the machine's own, or private ones
# started here (see scripts/test-services.sh) and stopped when the tests end.
source ./scripts/test-services.sh
trap qr_stop_test_services EXIT
.venv/bin/python -m pytest "$@"
