#!/usr/bin/env bash
# Every check the project has: lint, types, the dialplan linter, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests' own tools (SIPp, Chromium, the SMSC, axe-core) are set up by
# scripts/setup.sh --test (make test).
.venv/bin/ruff check .
.venv/bin/mypy
# Two workers: the real-call tests (tests/integration, one Asterisk) on one, the rest on the
# other (tests/conftest.py, pytest_xdist_make_scheduler).
.venv/bin/pytest tests -n 2 "$@"
