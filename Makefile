# The two commands of the README, and a few more.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test test-quick venv lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

run: venv  ## start everything (Kafka, topics, workers + API, simulators, warehouse sink) with demo data
	$(BIN)/gamevault up --demo

test: venv  ## the whole suite (the slow 3-broker failover too), against real Kafka brokers the tests start themselves
	$(BIN)/pytest --durations=15

test-quick: venv  ## all but the `slow` scenario (the 3-broker failover, about 1.5 minutes)
	$(BIN)/pytest -m "not slow"

lint: venv
	$(BIN)/ruff check gamevault tests bench

bench: venv  ## the raw Kafka reference (other benchmarks: see docs/BENCHMARKS.md)
	$(BIN)/python -m bench.raw_kafka

clean:
	rm -rf $(VENV) .gamevault .pytest_cache
