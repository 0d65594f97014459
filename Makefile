# Earshot — every task a newcomer, ops or CI needs is a target here. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export EARSHOT_CACHE ?= $(HOME)/.cache/earshot
export PYTHONPATH := $(CURDIR)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
PY := $(CURDIR)/.venv/bin/python
STACK := bash deploy/local/stack.sh
PYTEST_ARGS ?=

.PHONY: help install model run test test-unit lint format typecheck bench up down stack-up stack-down stack-reset stack-status chaos topics templates council clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: ## create the Python env (cached outside the checkout) and build the model and gazetteer
	@bash deploy/scripts/venv.sh >/dev/null
	@$(MAKE) --no-print-directory model

model: ## build (or reuse) the sentiment model and the locality gazetteer, offline
	@$(PY) -m pipelines.sentiment build
	@$(PY) -m pipelines.locality build

run: install ## run Earshot end to end on the local stack with demo traffic, and say where to look
	@bash deploy/scripts/run.sh

test: install ## lint, typecheck, then every test layer (unit, contract, integration, e2e) on the real local stack
	@$(MAKE) --no-print-directory lint typecheck
	@$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: ## run only the fast layers (unit, contract)
	@$(PY) -m pytest tests -m "unit or contract" $(PYTEST_ARGS)

lint: ## ruff check and format check
	@$(PY) -m ruff check services pipelines schemas common devkit tests bench
	@$(PY) -m ruff format --check services pipelines schemas common devkit tests bench

format: ## apply ruff formatting and safe fixes
	@$(PY) -m ruff check --fix services pipelines schemas common devkit tests bench
	@$(PY) -m ruff format services pipelines schemas common devkit tests bench

typecheck: ## mypy --strict on services, pipelines, schemas, common and devkit
	@$(PY) -m mypy

bench: install ## run the benchmarks; results are written to bench/results/*.json
	@bash deploy/scripts/bench.sh

chaos: install ## fault suite on a stack of its own (29092/29200): kills, restarts, bench/results/chaos.json
	@$(PY) -m bench.bench_chaos --out bench/results/chaos.json

up: ## ops: start the full stack with docker compose (needs a Docker engine)
	docker compose up -d --build

down: ## ops: stop the docker compose stack
	docker compose down

stack-up: ## start the local Kafka and Elasticsearch (no Docker) on the data they have; never wipes
	@$(STACK) up

stack-down: ## stop the local stack processes (by pid); their data stays for the next stack-up
	@$(STACK) down

stack-reset: ## stop the local stack and DELETE its data (topics, offsets, ledger, cursors, indices)
	@$(STACK) reset

stack-status: ## tell whether the local stack is running and healthy
	@$(STACK) status

topics: ## create every declared topic on the configured broker (idempotent)
	@$(PY) -m services.cli topics

templates: ## install the Elasticsearch index templates (idempotent)
	@$(PY) -m services.cli templates

council: ## onboard a council: make council NAME="Sheffield" (or an ONS code); keeps your edits
	@test -n "$(NAME)" || { echo 'usage: make council NAME="<council name or ONS code>"'; exit 2; }
	@$(PY) -m services.cli council add "$(NAME)"
