# MLOps in Practice. Two commands for learners: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install system-deps lab test test-fast release check-release lint bench clean

# Debian packages some tests need (the grading sandbox, the classroom database, the browser
# test). Installed when missing and we are root with apt; otherwise those tests say why they skip.
DEB_PACKAGES := bubblewrap postgresql chromium

install: $(STAMP)

# Re-runs only when the lock or the package metadata changes.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "error: Python 3.11 or newer is needed; found $$($(PYTHON) --version 2>&1)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "warning: missing Debian packages:$$missing; the tests that need them will skip"; fi

lab: install
	$(BIN)/course lab

test: install system-deps
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
