# Two commands for a newcomer: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: docs demo test lint typecheck unit bench bench-quality bench-templates bench-speed clean golden

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/runbook deployment lambda --root sample_observations
	@echo
	@echo "----- first screen of the runbook -----"
	@head -n 40 "$$(ls -1 sample_observations/runbooks/*-deployment-lambda.md | tail -n 1)"
	@echo
	@echo "----- the runbook library: regenerate twice (the second writes nothing), then the drift report -----"
	$(BIN)/runbook regenerate --root sample_observations
	$(BIN)/runbook regenerate --root sample_observations
	$(BIN)/runbook diff --root sample_observations || test $$? -eq 3
	@echo
	@echo "----- CI runs and CloudWatch, from local stand-ins (no AWS account, no GitHub token) -----"
	$(BIN)/python scripts/demo_sources.py

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/cog --check README.md || (echo "README tables are stale: run 'make docs'" && exit 1)

docs: $(STAMP)
	$(BIN)/cog -r README.md

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

golden: $(STAMP)
	$(BIN)/pytest tests/test_golden.py tests/test_shapes.py --update-golden

bench: bench-quality bench-templates bench-speed

bench-quality: $(STAMP)
	$(BIN)/python -m benchmarks.quality
	$(BIN)/python -m benchmarks.real_shapes

bench-templates: $(STAMP)
	$(BIN)/python -m benchmarks.templates

bench-speed: $(STAMP)
	$(BIN)/python -m benchmarks.speed

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .demo
