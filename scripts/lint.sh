#!/usr/bin/env bash
# Lint and type-check: ruff (rules and formatting) over the service, the tests and the
# benchmarks, then mypy. The editable install maps the name `quizrelay` to service/ with an
# import hook that static checkers cannot follow, so mypy sees the package through a link in
# .venv/typecheck; its messages are rewritten to name the real files under service/.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p .venv/typecheck
ln -sfn ../../service .venv/typecheck/quizrelay

status=0
.venv/bin/ruff check service tests benchmarks || status=1
.venv/bin/ruff format --check service tests benchmarks || status=1
# mypy's exit code survives the sed through pipefail.
MYPYPATH=.venv/typecheck .venv/bin/mypy -p quizrelay -p tests -p benchmarks \
    | sed 's#\.venv/typecheck/quizrelay/#service/#g' || status=1
exit "$status"
