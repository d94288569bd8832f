# seatkeeper: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

## Run the demo: SQLite, a demo account, 30 days of history, live simulated agents.
demo: $(VENV)/.runtime
	$(BIN)/seatkeeper demo

## Install everything the tests need, then run lint, types, the layers and the whole suite.
test: $(VENV)/.test tests/oidc/node_modules/.installed tests/axe/node_modules/.installed
	scripts/ensure-chromium
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n auto

## Benchmarks (Debian's wrk; PostgreSQL when it answers): prints tables, writes bench/RESULTS.md.
bench: $(VENV)/.test
	$(BIN)/python -m bench $(ARGS)

# Each step says what it does; pip runs with -qq, which keeps its errors and drops the
# warnings some machines' pip configuration prints on every install.
PIP := $(BIN)/python -m pip install -qq

$(BIN)/python:
	@echo "Creating the virtual environment in $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	@echo "Upgrading pip in $(VENV) (a few seconds) ..."
	$(PIP) --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	@echo "Installing seatkeeper and its dependencies into $(VENV) (about a minute the first time) ..."
	$(PIP) -e .
	@echo "Installed seatkeeper."
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	@echo "Installing seatkeeper with its test and lint tools into $(VENV) (about two minutes the first time) ..."
	$(PIP) -e '.[test]'
	@echo "Installed seatkeeper and its test tools."
	touch $@ $(VENV)/.runtime

# The real OpenID Provider the single sign-on tests run (test-only JavaScript, from the
# committed lock file; never served to users). Without npm those tests skip, saying why.
tests/oidc/node_modules/.installed: tests/oidc/package-lock.json
	@if command -v npm >/dev/null; then \
		echo "Installing the test OpenID Provider (npm ci --prefix tests/oidc) ..."; \
		npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "Node.js/npm not found: the single sign-on tests against a real provider will be skipped"; \
	fi

# axe-core, the accessibility checker the browser tests inject into the pages (test-only
# JavaScript, from the committed lock file; never served to users). Without npm they skip.
tests/axe/node_modules/.installed: tests/axe/package-lock.json
	@if command -v npm >/dev/null; then \
		echo "Installing axe-core for the accessibility tests (npm ci --prefix tests/axe) ..."; \
		npm ci --prefix tests/axe --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "Node.js/npm not found: the accessibility tests will be skipped"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
