# Every target builds what it needs from scratch: a fresh clone runs `make test` or `make run`.
SHELL := /bin/bash
export PYENV_VERSION ?= 3.12.1
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

PYTHON ?= python3.12
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
# The SAM CLI pins boto3 and pydantic below the versions the app runs, so it gets its own venv.
SAM := $(SAM_VENV)/bin/sam

# A local run: the ports `sam local` and LocalStack users know, and the payment worker talking
# to the fake provider.
STACK_NAME ?= shop-api
API_PORT ?= 3000
AWS_PORT ?= 4566
PAYMENTS_PORT ?= 12111
RUN_FLAGS ?=

.PHONY: first-admin install lint format test test-unit test-integration test-localcloud test-e2e validate build run bench clean

install: $(VENV)/.installed $(SAM_VENV)/.installed

$(VENV)/.installed: requirements-dev.txt layers/shop/requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy functions layers/shop/shop layers/shop/secret_redaction localcloud tests bench

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint --template template.yaml

build: $(SAM_VENV)/.installed
	PATH="$$(dirname $$(pyenv which python3.12 2>/dev/null || command -v python3.12)):$$PATH" $(SAM) build --template template.yaml

run: $(VENV)/.installed
	$(BIN)/localcloud up --template template.yaml --stack-name $(STACK_NAME) \
		--api-port $(API_PORT) --aws-port $(AWS_PORT) --payments-port $(PAYMENTS_PORT) \
		--parameter-overrides PaymentApiBaseUrl=http://127.0.0.1:$(PAYMENTS_PORT) $(RUN_FLAGS)

test-unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit

test-integration: $(VENV)/.installed
	$(BIN)/pytest tests/integration

test-localcloud: $(VENV)/.installed
	$(BIN)/pytest tests/localcloud

test-e2e: $(VENV)/.installed
	$(BIN)/pytest tests/e2e

test: install lint validate build
	$(BIN)/pytest

# Each prints its figures and appends them to bench/RESULTS.md; none fails on a timing.
BENCHMARKS := api_latency aws_calls cold_start pipeline scale peers order_to_receipt invoke
bench: $(VENV)/.installed
	set -e; for name in $(BENCHMARKS); do $(BIN)/python -m bench.$$name; done

# The first admin of a stack: an account registered as usual gets the admin role, written straight
# into the table with the caller's AWS credentials (locally: AWS_ENDPOINT_URL and any credentials).
first-admin: $(VENV)/.installed
	@test -n "$(TABLE)" -a -n "$(EMAIL)" || { echo "usage: make first-admin TABLE=<table name> EMAIL=<registered email>" >&2; exit 2; }
	PYTHONPATH=layers/shop $(BIN)/python -m shop.entrypoints.first_admin --table-name "$(TABLE)" --email "$(EMAIL)"

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .mypy_cache .pytest_cache .ruff_cache
