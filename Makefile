# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint typecheck unit docs bench calibrate accuracy measure clean

# Published measured runs (a copy of shared/reference/calibration-training.csv, kept in the repo)
TRAINING_RUNS = tests/golden/data/calibration-training.csv
SERVING_RUNS = tests/golden/data/calibration-inference.csv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,profile,sweep]'
	touch $@ $(VENV)/.installed

## demo: install and run the flagship scenario end to end (writes plan-report.html), then the other models
demo: $(VENV)/.installed
	$(BIN)/computeplan plan scenarios/cloud-commitment-100b-5gw.yaml --report plan-report.html
	$(BIN)/computeplan plan scenarios/cloud-commitment-100b-5gw.yaml --samples 200 --seed 1 \
		--report plan-report.html
	@echo "open plan-report.html in a browser for the charts (P10-P90 bands from 200 draws at the end)"
	$(BIN)/computeplan compare scenarios/cloud-commitment-100b-5gw.yaml scenarios/portfolio-diversified.yaml \
		scenarios/own-build.yaml --html compare-report.html
	$(BIN)/computeplan chips
	$(BIN)/computeplan systems
	$(BIN)/computeplan models
	$(BIN)/computeplan facts
	$(BIN)/computeplan show chip trn2
	$(BIN)/computeplan train --model llama3-405b --chip h100-sxm --chips 16384 --seq 8192 \
		--global-batch-tokens 16M --tokens 15.6T --top 3
	$(BIN)/computeplan goodput --chips 16384 --model llama3-405b --days 54 --plot goodput.png
	$(BIN)/computeplan train --model llama3-405b --chip trn2 --chips 65536 --seq 8192 \
		--global-batch-tokens 16M --tokens 15.6T
	$(BIN)/computeplan serve --model llama3-70b --input 2048 --output 256 --tpot-ms 50 \
		--traffic 1e9tok/day --compare h100-sxm,h200-sxm,b200,trn2,tpu-v6e,mi300x

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
	$(BIN)/python benchmarks/search_training.py
	$(BIN)/python benchmarks/search_serving.py
	$(BIN)/python benchmarks/fleet_lp.py
	$(BIN)/python benchmarks/validate_scale.py

## calibrate: refit the efficiency parameters per chip family on the measured runs (held-out rows excluded)
calibrate: $(VENV)/.installed
	$(BIN)/computeplan calibrate $(TRAINING_RUNS) --out src/computeplan/catalog/data/efficiency.yaml
	$(BIN)/computeplan calibrate $(SERVING_RUNS) --out src/computeplan/catalog/data/inference_efficiency.yaml

## accuracy: regenerate docs/ACCURACY.md from the measured runs
accuracy: $(VENV)/.installed
	$(BIN)/computeplan validate $(TRAINING_RUNS) --markdown > docs/ACCURACY.md
	$(BIN)/computeplan validate $(SERVING_RUNS) --markdown >> docs/ACCURACY.md
	$(BIN)/python -m computeplan.calibration.spot_checks >> docs/ACCURACY.md
	cat docs/measured-cpu.md >> docs/ACCURACY.md
	cat docs/accuracy-whatif.md >> docs/ACCURACY.md
	$(BIN)/python -m computeplan.calibration.goodput_report >> docs/ACCURACY.md

## measure: profile this machine's CPU, time real steps against the predictions (docs/measured-cpu.md, ~1 min)
measure: $(VENV)/.dev-installed
	$(BIN)/computeplan profile --device cpu --quick --out examples/profile-cpu.yaml
	$(BIN)/computeplan measure --profile examples/profile-cpu.yaml --markdown > docs/measured-cpu.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
