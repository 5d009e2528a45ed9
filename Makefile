# The two commands of a fresh machine: `make run` and `make test` (both set up first).
# `make run OFFLINE=bundle.tar` sets up from a bundle `hotline bundle` built, with no network.
.PHONY: setup setup-test run down status test unit integration lint test-offline

setup:
	bash scripts/setup.sh $(if $(OFFLINE),--offline "$(OFFLINE)")

setup-test:
	bash scripts/setup.sh --test

run: setup
	.venv/bin/hotline up

down:
	.venv/bin/hotline down

status:
	.venv/bin/hotline status

test: setup-test
	bash scripts/test.sh

unit: setup-test
	.venv/bin/pytest tests/unit

integration: setup-test
	.venv/bin/pytest tests/integration

# The pictures of the Chinese manuals (docs/zh/img/), taken by the browser test that checks
# each page shows what its manual says.
.PHONY: screenshots
screenshots: setup-test
	HOTLINE_SCREENSHOTS=docs/zh/img .venv/bin/pytest tests/browser/test_manual_screenshots.py -q

lint: setup-test
	.venv/bin/ruff check .
	.venv/bin/mypy

# The whole offline install in a minimal Debian 12 with no network (minutes; not in `test`).
test-offline: setup
	bash scripts/test-offline.sh

