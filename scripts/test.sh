#!/usr/bin/env bash
# Install everything, lint and type-check (scripts/lint.sh), then run the whole test suite
# (unit, API, scripted-model, fault and end-to-end tests on the embedded model). Extra
# arguments go to pytest.
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
./scripts/lint.sh
exec .venv/bin/python -m pytest "$@"
