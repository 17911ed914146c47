# Developer entry points. Versions are pinned in pyproject.toml only.
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
STAMP       := $(VENV)/.installed
# The AsyncAPI parser (npm) the tests validate the services' AsyncAPI documents with
NODE_MODULES := tests/asyncapi/node_modules/.installed
PYTEST_ARGS ?=
FUZZ_EXAMPLES ?= 150

.PHONY: help venv node-modules asyncapi-docs services run test unit-tests integration-tests e2e-tests \
	browser-tests screenshots test-faults fuzz demo bench rebuild-read-models compose-up compose-down clean

help: ## List the targets
	@grep -E '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install the project with test extras

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -e '.[test]'
	touch $@

node-modules: $(NODE_MODULES) ## Install the AsyncAPI parser for the tests (npm ci, tests/asyncapi/package-lock.json)

$(NODE_MODULES): tests/asyncapi/package-lock.json
	bash infra/local-services.sh node
	cd tests/asyncapi && npm ci --no-audit --no-fund --ignore-scripts
	touch $@

asyncapi-docs: venv ## Rewrite docs/asyncapi/<service>.json from the code (a unit test checks they match it)
	$(PY) -m services.asyncapi_docs

services: ## Start/check local RabbitMQ and PostgreSQL, create databases
	bash infra/local-services.sh ensure

run: venv services ## Run every service locally with the demo (foreground, Ctrl-C stops)
	DEVELOPMENT=true $(PY) -m services.run_local

test: venv services node-modules ## Run the whole test suite (PYTEST_ARGS=... to pass options): every tier, then the browser tests
	$(PY) -m pytest tests $(PYTEST_ARGS)
	CASES_TESTS_IN_BROWSER=1 $(PY) -m pytest tests $(PYTEST_ARGS)

unit-tests: venv node-modules ## Run unit tests only
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration-tests: venv services ## Run integration tests only
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

browser-tests: venv services ## Run the browser tests only (Playwright, Debian's chromium; a process without eventlet)
	CASES_TESTS_IN_BROWSER=1 $(PY) -m pytest tests $(PYTEST_ARGS)

screenshots: venv services ## Retake docs/screenshots/*.png: the demo's main pages in chromium
	$(PY) -m tests.browser.screenshots

e2e-tests: venv services ## Run end-to-end tests only
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

test-faults: venv services ## Kill -9 each service, restart RabbitMQ, stop PostgreSQL, under load (also in make test)
	$(PY) -m pytest tests/faults -s $(PYTEST_ARGS)

fuzz: venv services ## Schemathesis on every service's OpenAPI, ~4,000 requests each (make test runs a small one)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest tests/fuzz $(PYTEST_ARGS)

demo: venv ## Load the demo into running services (make run does it for empty stores)
	$(PY) -m services.demo

bench: venv services ## Benchmarks beside the raw limits, both stores (BENCH_ARGS=--quick); bench/results/latest.json
	$(PY) -W ignore::DeprecationWarning -m bench $(BENCH_ARGS)

rebuild-read-models: venv ## Drop and replay a service's read model (SERVICE=initiatives|meetings|letters_of_intent|evaluations)
	$(VENV)/bin/read-models rebuild $(SERVICE)

compose-up: ## Make missing secrets under ./secrets, then build and start the stack (docs/operations.md)
	bash infra/make-secrets.sh
	docker compose up -d --build

compose-down: ## Stop the docker compose stack (its named volumes, the data, are kept)
	docker compose down

clean: ## Remove .venv, data and pytest cache
	rm -rf $(VENV) data .pytest_cache
