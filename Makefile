# The two commands of a fresh machine: `make run` and `make test` (both set up first).
.PHONY: setup run down status test unit integration lint

setup:
	bash scripts/setup.sh

run: setup
	.venv/bin/hotline up

down:
	.venv/bin/hotline down

status:
	.venv/bin/hotline status

test: setup
	bash scripts/test.sh

unit: setup
	.venv/bin/pytest tests/unit

integration: setup
	.venv/bin/pytest tests/integration

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

