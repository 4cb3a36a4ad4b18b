# One place for the commands the README and CI use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PROVIDERS := $(wildcard providers/*/pyproject.toml)

.PHONY: setup demo test test-fast lint docs bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch first, pinned, so nothing later pulls the newest CUDA build (see constraints.txt)
# a stamp, so `make test` / `make docs` reinstall only when a pyproject or the constraints change
STAMP := $(VENV)/.installed
$(STAMP): $(BIN)/python pyproject.toml constraints.txt $(PROVIDERS)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,eval]' $(foreach p,$(PROVIDERS),-e $(dir $(p)))
	touch $@

setup: $(STAMP)

demo: setup
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/demo.sh

# -n auto: one pytest worker per core (pytest-xdist); the local training tests are most of the time
test: setup
	$(BIN)/python -m pytest -q -n auto

# the inner loop: everything but the tests marked slow (training runs, subprocess workers); CI runs all
test-fast: setup
	$(BIN)/python -m pytest -q -n auto -m "not slow"

lint:
	$(BIN)/ruff check ftrouter providers tests benchmarks
	$(BIN)/mypy

# the documentation site (mkdocs-material, the `docs` extra); --strict fails on a broken link or nav entry
docs: setup
	$(BIN)/pip install -q -c constraints.txt -e '.[docs]'
	$(BIN)/python -m ftrouter.docs_reference
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -d site

# each script compares against a reference in the same run and prints the ratio (several minutes)
bench:
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .ftrouter-demo site
