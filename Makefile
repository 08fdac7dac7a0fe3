# The two commands of the README, and a few more.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test test-quick venv lint bench bench-deps clean

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

# bench.saga's peer (bench/peers/dbos_saga.py): Debian's PostgreSQL server, and a virtual environment of its
# own, because DBOS pins croniter >= 6 and Faust's mode-streaming < 6. GameVault's code is on its PYTHONPATH.
PEER_DEPS = dbos==3.4.0 aiokafka==0.14.0 'httpx>=0.27,<1' httpx-aiohttp==0.2.0 'fastapi>=0.115,<1' \
	'uvicorn>=0.30,<1' httptools uvloop orjson 'pydantic>=2.7,<3' email-validator cryptography 'pyjwt>=2.8,<3' \
	pyyaml sniffio
bench-deps: venv  ## PostgreSQL (apt) and .venv-peer for the DBOS peer of bench.saga
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql)
	$(PYTHON) -m venv .venv-peer
	.venv-peer/bin/pip install -q $(PEER_DEPS)
