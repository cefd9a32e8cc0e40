# stockdash: `make run` serves the product, `make test` checks it. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test
# pytest-xdist: the suite is mostly I/O-bound waits, so more processes than cores pays off.
PYTEST_ARGS ?= -n 4 --dist loadgroup
HAS_FRONTEND := $(wildcard frontend/package.json)

.PHONY: help run install lock deploy-check frontend test test-sqlite test-postgres test-mongo test-api-mongo test-frontend lint format client bench services clean mongo-server

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# The lock file pins every version (`make lock` rewrites it from pyproject.toml); as constraints it
# still lets a dependency just added to pyproject.toml install before the lock is rewritten.
$(STAMP): pyproject.toml requirements-dev.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements-dev.lock -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with its dev tools (versions from the lock)

UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --quiet
lock: install ## Rewrite requirements.lock (image) and requirements-dev.lock (make install, CI) from pyproject.toml
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -o requirements-dev.lock

deploy-check: install ## Lint/validate Dockerfile, compose.yaml, Kubernetes overlays, nginx, Prometheus rules, workflows
	bash scripts/deploy-check.sh

# node_modules is (re)installed from the lock file only when it is missing or older than the lock.
NODE_STAMP := frontend/node_modules/.package-lock.json
# The backend's OpenAPI document; a local .env (e.g. ENVIRONMENT=production) must not change or break it.
OPENAPI_DUMP := $(BIN)/python -c "import json; from stockdash.app import create_app; from stockdash.core.config import Settings; print(json.dumps(create_app(Settings(_env_file=None, environment='development')).openapi(), indent=2))"

NODE_DEPS := $(if $(HAS_FRONTEND),$(NODE_STAMP))

$(NODE_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend: $(NODE_DEPS) ## Build the frontend into frontend/dist (if the frontend exists)
ifneq ($(HAS_FRONTEND),)
	cd frontend && npm run build
endif

run: install frontend ## Install, build the frontend and serve on http://127.0.0.1:8000 (SQLite, offline snapshot)
	$(BIN)/stockdash serve --host $(HOST) --port $(PORT)

lint: install ## ruff check, ruff format --check, mypy (strict)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

test-sqlite: install ## The whole Python suite on SQLite (tests/scale runs PostgreSQL clusters: once, in test-postgres)
	STOCKDASH_TEST_DB=sqlite $(BIN)/pytest -q $(PYTEST_ARGS) --ignore=tests/scale

# tests/scale starts whole clusters (API instances, workers, scheduler, nginx) and checks the
# refresh schedule against the clock: it runs after the rest, so the suite's load cannot starve it.
test-postgres: install ## The whole Python suite on PostgreSQL (TEST_DATABASE_URL), then the scale-out clusters
	STOCKDASH_TEST_DB=postgres TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -q $(PYTEST_ARGS) --ignore=tests/scale
	STOCKDASH_TEST_DB=postgres TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/pytest -q tests/scale

test-frontend: install $(NODE_DEPS) ## Client in sync with the API, tsc, Vitest units, one build, the Playwright e2e in Debian chromium
ifneq ($(HAS_FRONTEND),)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  $(OPENAPI_DUMP) > "$$tmp/openapi.json" && \
	  node frontend/scripts/gen-client.mjs "$$tmp/openapi.json" "$$tmp/schema.d.ts" > /dev/null && \
	  if ! diff -u frontend/openapi.json "$$tmp/openapi.json" > "$$tmp/diff" || \
	     ! diff -u frontend/src/api/schema.d.ts "$$tmp/schema.d.ts" >> "$$tmp/diff"; then \
	    head -n 60 "$$tmp/diff"; \
	    echo "frontend/openapi.json or frontend/src/api/schema.d.ts is out of sync with create_app().openapi(): run \`make client\`" >&2; \
	    exit 1; \
	  fi
	cd frontend && npm run lint && npm test && npm run e2e
endif

# MongoDB test server: mongoeco's wire server (no mongod can be installed here) needs Python >= 3.13,
# so it gets its own venv; the app stays on its own Python. MONGODB_TEST_URL (a real single-node
# replica set) replaces it in the tests.
MONGO_PYTHON ?= $(firstword $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.1[3-9]*/bin/python3) $(shell command -v python3.13))
MONGO_VENV := .mongo-venv
MONGO_STAMP := $(MONGO_VENV)/.installed
MONGOECO_VERSION := 4.11.0

$(MONGO_STAMP): Makefile
	@test -x $(MONGO_VENV)/bin/python || $(MONGO_PYTHON) -m venv $(MONGO_VENV)
	$(MONGO_VENV)/bin/python -m pip install -q 'mongoeco[wire]==$(MONGOECO_VERSION)'
	@touch $(MONGO_STAMP)

mongo-server: $(MONGO_STAMP) ## Install the MongoDB wire-protocol test server (mongoeco, Python 3.13 venv in .mongo-venv)

test-mongo: install mongo-server ## The repository contract suite on MongoDB (mongoeco, or MONGODB_TEST_URL)
	STOCKDASH_TEST_DB=mongo $(BIN)/pytest -q $(PYTEST_ARGS) tests/contract

# The MongoDB pass: every API-facing suite, each test on a MongoDB database of its own (a mongoeco
# server per xdist worker). Left to the SQL passes: the analysis maths, the market service and its
# providers (tests/analysis, tests/market: no storage beyond what tests/contract checks on both),
# tests/contract (already run there on SQL and MongoDB side by side), the deploy files, the
# PostgreSQL scale-out clusters and the frontend.
MONGO_SUITES := tests/api tests/users tests/watchlist tests/dashboard tests/subscriptions \
	tests/admin tests/apikeys tests/alerts tests/notifications tests/security tests/events \
	tests/jobs tests/core tests/monitoring tests/resilience tests/market/test_market_service.py

test-api-mongo: install mongo-server ## The API suites on MongoDB: tests/api (`stockdash serve`), users, watchlist, dashboard, subscriptions, admin, API keys, alerts, notifications, security, events, jobs, core, monitoring, resilience, the market service (not analysis, the market providers and snapshot, contract, deploy, scale)
	STOCKDASH_TEST_DB=mongo $(BIN)/pytest -q $(PYTEST_ARGS) $(MONGO_SUITES)

# mongo-server first: the repository contract suite (tests/contract) runs each SQL pass's
# repositories and the MongoDB ones side by side.
test: services mongo-server lint deploy-check test-sqlite test-postgres test-api-mongo test-frontend ## Everything CI runs (starts PostgreSQL, Redis and RabbitMQ if they are down)

client: install $(NODE_STAMP) ## Regenerate frontend/openapi.json and the typed client from the backend, then type-check against it
	@tmp=$$(mktemp) && trap 'rm -f "$$tmp"' EXIT && $(OPENAPI_DUMP) > "$$tmp" && cp "$$tmp" frontend/openapi.json
	cd frontend && npm run gen:client && npm run lint

bench: install $(NODE_DEPS) ## Run the benchmarks and rewrite docs/benchmarks.md (fails if a frontend budget is missed)
	$(BIN)/python -m bench.run_all

services: ## Start (installing if needed) PostgreSQL, Redis, RabbitMQ (and nginx) for the tests
	bash scripts/ensure-services.sh

clean: ## Remove build output and caches
	rm -rf .pytest_cache .mypy_cache .ruff_cache frontend/dist
