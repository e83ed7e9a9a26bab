# Two entry points for users: `make check` (run every claim at quick scale) and
# `make test` (the test suite).  Both build their own virtual environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
DEPS   := setup.cfg pyproject.toml

.PHONY: check test test-slow test-all bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.core: $(BIN)/python $(DEPS)
	$(PIP) install -e .
	@touch $@

$(VENV)/.test: $(BIN)/python $(DEPS)
	$(PIP) install -e '.[test]'
	@touch $@

$(VENV)/.dev: $(BIN)/python $(DEPS)
	$(PIP) install -e '.[dev]'
	@touch $@

check: $(VENV)/.core
	$(BIN)/proofs-check run --scale quick

test: $(VENV)/.test
	$(BIN)/python -m pytest

test-slow: $(VENV)/.test
	$(BIN)/python -m pytest -m "slow"

test-all: $(VENV)/.test
	$(BIN)/python -m pytest -m ""

bench: $(VENV)/.dev
	$(BIN)/python -m bench

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
