# MLOps in Practice. Two commands for learners: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install lab test test-fast release check-release lint bench clean

install: $(STAMP)

# Re-runs only when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "error: Python 3.11 or newer is needed; found $$($(PYTHON) --version 2>&1)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

lab: install
	$(BIN)/course lab

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not server and not notebook"

release: install
	$(BIN)/course release

check-release: install
	$(BIN)/course release --check

lint: install
	$(BIN)/ruff check course tests bench solutions
	$(BIN)/ruff format --check course tests bench

bench: install
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache grading-out bench-out
