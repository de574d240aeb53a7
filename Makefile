# Two commands on a fresh machine: `make run` and `make test`.  Both idempotent.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUM    := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# What running needs, and on top of it what testing needs (test tools and the
# GPL pjsua2 wheel are never installed by `make run`).
RUNTIME := $(VENV)/.runtime-$(SUM)
STAMP  := $(VENV)/.installed-$(SUM)
CONFIG ?= config/example.yaml
# Browser libraries (npm, pinned by package-lock.json), staged to be served under /static/vendor/.
VENDOR := acd/web/static/vendor/manifest.json

.PHONY: run test lint typecheck unit e2e tools vendor bench clean

$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	rm -f $(VENV)/.runtime-*
	touch $@

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

$(VENDOR): package.json package-lock.json scripts/install_web_vendor
	scripts/install_web_vendor

vendor: $(VENDOR)

run: $(RUNTIME) $(VENDOR)
	$(BIN)/jono serve $(CONFIG) $(ARGS)

tools:
	@scripts/install_test_tools

lint: $(STAMP)
	$(BIN)/ruff check sip media acd tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit tests/integration

test: $(STAMP) tools $(VENDOR)
	$(BIN)/ruff check sip media acd tests scripts
	$(BIN)/mypy
	$(BIN)/pytest -q -n 2 --dist loadgroup

bench: $(STAMP) tools
	$(BIN)/python scripts/bench/sip_calls.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache node_modules acd/web/static/vendor
