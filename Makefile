# One place for the commands the README and CI use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROVIDERS := $(wildcard providers/*/pyproject.toml)

.PHONY: setup demo test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned, so nothing later pulls the newest CUDA build (see constraints.txt)
setup: $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,eval]' $(foreach p,$(PROVIDERS),-e $(dir $(p)))

demo: setup
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/demo.sh

test: setup
	$(BIN)/python -m pytest -q

lint:
	$(BIN)/ruff check ftrouter providers tests benchmarks
	$(BIN)/mypy

# each script compares against a reference in the same run and prints the ratio (several minutes)
bench:
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .ftrouter-demo
