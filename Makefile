# The two commands of the README, and a few more.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test test-all venv lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

run: venv  ## start everything (Kafka, topics, workers + API, simulators, warehouse sink) with demo data
	$(BIN)/gamevault up --demo

test: venv  ## the suite (all but the `slow` scenarios), against a real Kafka broker the tests start themselves
	$(BIN)/pytest -m "not slow"

test-all: venv  ## also the slow scenario: the 3-broker cluster failover
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check gamevault tests bench

bench: venv  ## the raw Kafka reference (other benchmarks: see docs/BENCHMARKS.md)
	$(BIN)/python -m bench.raw_kafka

clean:
	rm -rf $(VENV) .gamevault .pytest_cache
