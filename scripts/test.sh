#!/usr/bin/env bash
# Every check the project has: lint, types, the dialplan linter, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest tests "$@"
