# The README's commands. `make run` and `make test` each set up .venv from requirements.lock first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed

# Embedded defaults; each is overridable from the environment the tools' standard way.
export PATH := $(BIN):$(PATH)
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
# Raw data mirror: on machines without access to the upstream servers use ../shared/data.
ifeq ($(origin SEQLAB_DATA_MIRROR), undefined)
  ifneq ($(wildcard ../shared/data),)
    export SEQLAB_DATA_MIRROR := $(abspath ../shared/data)
  endif
endif

.PHONY: help setup run smoke data ui up down status deploy bench test test-fast lint format typecheck lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/python -m pip install --quiet -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
	@touch $@

setup: $(STAMP)  ## create .venv and install the locked stack

run: setup  ## the whole pipeline of every dataset of params.yaml through Prefect into MLflow (default profile, about 9 min on 2 cores, plus 2 min to install the first time)
	seqlab run --dataset all --profile default

smoke: setup  ## the whole pipeline of the synthetic series in about a minute (smoke profile)
	seqlab run --dataset synthetic --profile smoke

data: setup  ## fetch, validate and prepare every dataset with dvc repro (no modelling)
	dvc repro --glob 'prepare@*'

ui: setup  ## the MLflow UI on the project's store (mlflow.db), opened on each dataset's pipeline runs
	seqlab ui --open

up: setup  ## start Prefect server + worker (pool seqlab) + MLflow server in the background: UIs on :4200, :5000
	seqlab up

down: setup  ## stop what `make up` started
	seqlab down

status: setup  ## what `make up` started: pid, alive, URL, healthy
	seqlab status

deploy: setup  ## register the scheduled pipeline (params.yaml pipeline.schedule) on the stack of `make up`
	seqlab deploy

bench: setup  ## quality, pipeline and speed benchmarks → BENCHMARKS.md, benchmarks/results.json (about 1 h 45 min on 2 cores)
	python -m benchmarks.run

test: setup lint typecheck  ## ruff, mypy, then the whole test suite (one worker per core, a file per worker)
	python -m pytest -q -n auto --dist loadfile --durations=25

test-fast: setup  ## unit tests only
	python -m pytest -q tests/unit

lint: setup  ## ruff lint and format check
	ruff check src tests flows benchmarks
	ruff format --check src tests flows benchmarks

format: setup  ## apply ruff's formatting and safe fixes
	ruff check --fix src tests flows benchmarks
	ruff format src tests flows benchmarks

typecheck: setup  ## mypy on src
	mypy src/seqlab

lock: setup  ## re-resolve requirements.lock from the current .venv
	@(echo "# Exact resolved stack for Python 3.11 (pip freeze). Regenerate with: make lock"; \
	  $(VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^seqlab') > requirements.lock.tmp
	mv requirements.lock.tmp requirements.lock

clean:  ## remove derived data, results and caches (keeps .venv, the DVC cache and the MLflow store)
	rm -rf data/raw data/prepared results .prefect/stamps .pytest_cache .mypy_cache .ruff_cache .hypothesis
