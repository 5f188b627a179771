# MLOps in Practice. Two commands for learners: `make lab` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# uv installs the lock (with the machine's pip settings, see course/_install.py); it lives beside
# the venv's packages, not among them, and pip takes over wherever uv cannot be had.
UV_VERSION := 0.13.8
UV_DIR     := $(VENV)/uv
UV         := $(UV_DIR)/bin/uv

.PHONY: install system-deps lab test test-fast release check-release diagrams lint bench clean

# Debian packages some tests need (the grading sandbox, the classroom database, the browser,
# test, Prometheus, the model's container image: podman with runc, which also runs on hybrid-cgroup
# hosts, netavark and iptables for its network, mmdebstrap for a base image without a registry).
# Installed when missing and we are root with apt; otherwise those tests say why they skip.
DEB_PACKAGES := bubblewrap postgresql chromium prometheus podman runc netavark iptables mmdebstrap

install: $(STAMP)

# Re-runs only when the lock or the package metadata changes. Prints its progress as it goes.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "error: Python 3.11 or newer is needed; found $$($(PYTHON) --version 2>&1)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(BIN)/python -m pip install --disable-pip-version-check --target $(UV_DIR) \
	  uv==$(UV_VERSION) || echo "uv $(UV_VERSION) could not be installed: pip does the install"
	$(BIN)/python -m course._install $(BIN)/python $(UV)
	@touch $(STAMP)

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "warning: missing Debian packages:$$missing; the tests that need them will skip"; fi

# `make lab LAB_PORT=8899 MLFLOW_PORT=5055` picks the ports (defaults 8888 and 5000).
LAB_PORT    ?=
MLFLOW_PORT ?=

lab: install
	$(BIN)/course lab$(if $(LAB_PORT), --port $(LAB_PORT))$(if $(MLFLOW_PORT), --mlflow-port $(MLFLOW_PORT))

# Two lanes that share no state run side by side: the learner's journey (the whole course in one
# state dir, twice embedded and once against a server) with the suites that start their own
# services (Colab wheel, classroom database, the hostile and trust grading batches, the model's
# container image); the rest beside it.
SIDE := tests/journey tests/colab tests/classroom tests/grading/test_hostile.py tests/grading/test_trust.py \
	tests/grading/test_trust_functions.py \
	tests/stack/test_container.py

test: install system-deps
	@$(BIN)/python -m pytest -p no:cacheprovider --durations=15 $(SIDE) > .side-lane.log 2>&1 & side=$$!; \
	$(BIN)/python -m pytest --durations=25 $(addprefix --ignore=,$(SIDE)); rest=$$?; \
	wait $$side; lane=$$?; echo "--- side lane: $(SIDE)"; cat .side-lane.log; \
	[ $$rest -eq 0 ] && [ $$lane -eq 0 ]

test-fast: install
	$(BIN)/python -m pytest -m "not server and not notebook"

release: install
	$(BIN)/course release

check-release: install
	$(BIN)/course release --check

# Redraw docs/diagrams/draw.py's pictures and embed them into solutions/ (then `make release`).
diagrams: install
	$(BIN)/python docs/diagrams/draw.py --embed

lint: install
	$(BIN)/ruff check course tests bench solutions docs/diagrams
	$(BIN)/ruff format --check course tests bench docs/diagrams

bench: install
	$(BIN)/python bench/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache grading-out bench-out .side-lane.log
