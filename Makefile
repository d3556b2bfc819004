# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= var/data
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck init clean

$(BIN)/fmar: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/fmar

init: $(BIN)/fmar
	$(BIN)/fmar init --data-dir $(DATA_DIR) --base-iri http://$(HOST):$(PORT)/ --demo

run: init
	$(BIN)/fmar serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

test: $(BIN)/fmar
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(BIN)/fmar
	$(BIN)/ruff check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var
