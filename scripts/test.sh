#!/usr/bin/env bash
# Every check the project has: lint, types, the dialplan linter, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The SMS tests' SMSC (tests/smsc, Node.js): installed from its lock file when missing or
# when the lock file changed since.
if [ ! -e tests/smsc/node_modules/.package-lock.json ] \
   || ! cmp -s tests/smsc/package-lock.json tests/smsc/node_modules/.installed-lock.json; then
  npm ci --prefix tests/smsc --no-audit --no-fund --loglevel=error
  cp tests/smsc/package-lock.json tests/smsc/node_modules/.installed-lock.json
fi
# axe-core for the console's accessibility sweep (tests/browser/test_pages.py), the same way.
if [ ! -e tests/browser/node_modules/.package-lock.json ] \
   || ! cmp -s tests/browser/package-lock.json tests/browser/node_modules/.installed-lock.json; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
  cp tests/browser/package-lock.json tests/browser/node_modules/.installed-lock.json
fi
.venv/bin/ruff check .
.venv/bin/mypy
# Two workers: the real-call tests (tests/integration, one Asterisk) on one, the rest on the
# other (tests/conftest.py groups them).
.venv/bin/pytest tests -n 2 --dist loadgroup "$@"
