# One command for each habit. Every target installs what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13 (the functions' runtime) where the machine has it, else the newest python3 >= 3.11.
PYTHON ?= $(shell infra/tools/find-python)
VENV := .venv
SAM_VENV := .venv-sam
# checkov pins a boto3 of its own that the SAM CLI's cannot share: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
UV := $(BIN)/uv
PYTHON_DIR := $(dir $(PYTHON))
# axe-core, injected by the browser tests into every page and email they check (npm, pinned).
AXE_CORE := .local/node_modules/axe-core/axe.min.js
AXE_CORE_VERSION := 4.14.1
API_PORT ?= 3000
MOTO_PORT ?= 5000

.PHONY: help
help: ## List the commands
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8

# Exactly what uv.lock pins (--locked: a lock that no longer matches pyproject.toml is an error).
$(VENV)/.installed: pyproject.toml uv.lock | $(BIN)/python
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --quiet --locked --extra dev --python $(BIN)/python
	touch $@

$(SAM_VENV)/.installed: | $(BIN)/python
	$(UV) venv --quiet --python $(PYTHON) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python aws-sam-cli==1.170.0 cfn-lint==1.58.0
	touch $@

$(CHECKOV_VENV)/.installed: | $(BIN)/python
	$(UV) venv --quiet --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python checkov==3.3.30
	touch $@

.PHONY: install
install: $(VENV)/.installed ## Make the development environment (.venv) from uv.lock

.PHONY: run
run: install ## Start the whole system locally: moto, the API on :3000, the stream poller, the demo page
	$(BIN)/python -m infra.local --api-port $(API_PORT) --moto-port $(MOTO_PORT)

.PHONY: digest
digest: install ## Send the digest of overdue requests now, on the running local stack (EVENT='{"scheduled_time": "..."}')
	$(BIN)/python -m infra.local.invoke DigestFunction --api-port $(API_PORT) --moto-port $(MOTO_PORT) --event '$(or $(EVENT),{})'

.PHONY: summary
summary: install ## Send the weekly summary of the last whole week now, on the running local stack (EVENT='{"scheduled_time": "..."}')
	$(BIN)/python -m infra.local.invoke WeeklySummaryFunction --api-port $(API_PORT) --moto-port $(MOTO_PORT) --event '$(or $(EVENT),{})'

.PHONY: sweep
sweep: install ## Run the staff-alert sweep now, on the running local stack
	$(BIN)/python -m infra.local.invoke StaffAlertSweepFunction --api-port $(API_PORT) --moto-port $(MOTO_PORT) --event "$$(cat infra/events/sweep-schedule.json)"

.PHONY: ses-event
ses-event: install ## Deliver an SES bounce to the delivery-events function of the running stack (EVENT=infra/events/ses-complaint.json)
	$(BIN)/python -m infra.local.invoke DeliveryEventsFunction --api-port $(API_PORT) --moto-port $(MOTO_PORT) --event "$$(cat $(or $(EVENT),infra/events/ses-bounce.json))"

.PHONY: test
# axe-core only where npm is (CI installs it): the browser tests say when it is missing.
AXE_IF_NPM := $(if $(shell command -v npm 2>/dev/null),$(AXE_CORE))

$(AXE_CORE):
	npm install --silent --no-audit --no-fund --no-save --no-package-lock --prefix .local axe-core@$(AXE_CORE_VERSION)

test: lint install $(AXE_IF_NPM) ## Lint, then every test in one run (unit, infra, integration, e2e with the browser)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: unit
unit: install ## Unit tests and template.yaml's promises: no AWS, no network (tests/unit, tests/infra)
	$(BIN)/python -m pytest tests/unit tests/infra $(PYTEST_ARGS)

.PHONY: integration
integration: install ## The handlers against moto in-process, the HTTP contract's scenarios (tests/integration)
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

.PHONY: e2e
e2e: install $(AXE_IF_NPM) ## The local stack over real HTTP, and the form in headless Chromium (tests/e2e)
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

.PHONY: lint
lint: install $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed ## ruff, the layers contract, mypy --strict, cfn-lint, sam validate --lint, checkov
	$(BIN)/ruff check functions tests infra
	$(BIN)/ruff format --check functions tests infra
	PYTHONPATH=functions $(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(SAM_VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml --region us-east-1
	@# Every check must pass or be skipped in the resource's Metadata with its reason; offline.
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

.PHONY: format
format: install ## Format and fix what ruff can
	$(BIN)/ruff format functions tests infra
	$(BIN)/ruff check --fix functions tests infra

# The functions' packages as uv.lock pins them, with the hash of every wheel of each version
# (arm64 and x86_64 alike), so `pip install -r` installs these files or nothing.
.PHONY: requirements
requirements: | $(BIN)/python ## Relock (uv lock) and regenerate functions/requirements.txt, hashed, from uv.lock
	$(UV) lock --quiet
	$(UV) export --quiet --locked --no-dev --no-emit-project --format requirements-txt \
	  --output-file functions/requirements.txt

.PHONY: holidays
holidays: install ## Regenerate functions/callbacks/core/us_holidays.json from the pinned holidays library
	$(BIN)/python -m infra.tools.holidays_table

.PHONY: openapi
openapi: install ## Regenerate infra/openapi.json from the code
	$(BIN)/python -m infra.tools.openapi > infra/openapi.json

# functions/Makefile builds each function: dependencies for Lambda's platform, every module
# compiled. It ships the native extensions of both architectures unless told one:
# `make build LAMBDA_ARCHITECTURES=arm64`.
.PHONY: build
build: $(SAM_VENV)/.installed ## sam build: the functions' package, compiled (python3.13 found automatically)
	PATH="$(PYTHON_DIR):$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml

# ENV names a samconfig.toml environment (default, staging); STACK a deployed stack by name.
ENV ?=
STACK ?=

.PHONY: deploy
deploy: build ## sam deploy with samconfig.toml (ENV=staging; first time ARGS=--guided), then make doctor
	$(SAM_VENV)/bin/sam deploy --config-env $(or $(ENV),default) $(ARGS)
	$(MAKE) --no-print-directory doctor ENV=$(or $(ENV),default)

.PHONY: doctor
doctor: install ## Can it deliver? The local stack (make run), or STACK=<name> / ENV=<samconfig env> on AWS
	$(BIN)/python -m infra.tools.doctor $(if $(STACK),--stack $(STACK),$(if $(ENV),--config-env $(ENV),--endpoint-url http://127.0.0.1:$(MOTO_PORT)))

.PHONY: sam-local
sam-local: install $(SAM_VENV)/.installed ## sam local start-api on :3001: Docker, the Lambda image, sam build, the local AWS
	infra/sam/run.sh

.PHONY: sam-local-stop
sam-local-stop: ## Stop the Docker engine that make sam-local (or make sam-test) started, and nothing else
	infra/sam/engine.sh stop

.PHONY: sam-test
sam-test: install $(SAM_VENV)/.installed ## The SAM CLI tests only (tests/sam: sam build, sam local invoke, start-lambda, start-api)
	$(BIN)/python -m pytest tests/sam --no-cov $(PYTEST_ARGS)

.PHONY: bench
bench: install build ## What Lambda loads, measured: cold start against a boto3 floor, warm requests, package size
	PYTHON="$(PYTHON)" $(BIN)/python -m infra.tools.bench

.PHONY: instructions
instructions: install ## After make bench: instructions its fresh processes execute (valgrind), steadier than a clock
	PYTHON="$(PYTHON)" $(BIN)/python -m infra.tools.instructions

.PHONY: rotate-secret
rotate-secret: install ## Rotate a deployed stack's signing secret (STACK=<name>); the old one stays valid until the next
	@test -n "$(STACK)" || { echo "usage: make rotate-secret STACK=<stack name>" >&2; exit 2; }
	$(BIN)/python -m infra.tools.rotate_secret --stack $(STACK)

# One visitor's data (docs/privacy.md): PHONE=... or EMAIL=...; STACK=<name> for a
# deployed stack (the local stack of `make run` otherwise); YES=1 lets forget skip its question.
.PHONY: export
export: install ## Print everything held about one visitor as JSON: make export PHONE=... (or EMAIL=...)
	@$(BIN)/python -m infra.tools.privacy export

.PHONY: forget
forget: install ## Erase one visitor's requests after asking, and list what to purge from the mailboxes
	@$(BIN)/python -m infra.tools.privacy forget

.PHONY: spam
spam: install ## The honeypot's catches of the last 7 days (STACK=<name> for a deployed stack)
	@$(BIN)/python -m infra.tools.privacy spam

.PHONY: loadtest
loadtest: install ## Load on the local stack: req/s, p50/p99, 5xx, stored vs accepted, emails per request
	$(BIN)/python -m infra.tools.loadtest $(ARGS)

.PHONY: clean
clean: ## Remove environments and build output
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .local .pytest_cache .mypy_cache .ruff_cache .coverage
