# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint typecheck unit docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: install and run the most useful commands end to end (the catalog, until the planner lands)
demo: $(VENV)/.installed
	$(BIN)/computeplan chips
	$(BIN)/computeplan systems
	$(BIN)/computeplan models
	$(BIN)/computeplan facts
	$(BIN)/computeplan show chip trn2

## test: lint, type-check and run the whole test suite
test: lint typecheck unit

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed
	$(BIN)/pytest -q

## docs: regenerate generated documentation (docs/catalog.md)
docs: $(VENV)/.installed
	$(BIN)/python -m computeplan.catalog.docs > docs/catalog.md

## bench: run the speed benchmarks and print their tables (copy into docs/BENCHMARKS.md)
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/cli_startup.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
