# claimflow developer entry points.
# A fresh clone needs only python3 (3.11+), a JDK 17+ (`java`) and Maven 3.8+ (`mvn`):
#   make install     bootstrap uv, build .venv/ from uv.lock, fetch the Kafka jars once
#   make up          the whole pipeline on the local stack with a 200-encounter demo (`claimflow up --demo`)
#   make test        lint, types, import contracts, Chromium for browser tests, the test suite (integration tests start their own stack in .local/test-stack/)
#   make stack-up    only Postgres + Kafka on loopback (`claimflow stack up`); stack-down, stack-status

SHELL := /bin/bash
.DEFAULT_GOAL := install

PYTHON ?= python3
UV_VERSION := 0.13.9
BOOTSTRAP := .local/bootstrap
UV := $(BOOTSTRAP)/bin/uv
UV_STAMP := $(BOOTSTRAP)/.uv-$(UV_VERSION)
VENV := .venv
CLAIMFLOW := $(VENV)/bin/claimflow

.PHONY: install up test lint browser stack-up stack-down stack-status

# A private venv holding a pinned uv, so nothing needs to be installed system-wide.
$(UV_STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (install Python 3.11+)" >&2; exit 1; }
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@touch $@

install: $(UV_STAMP)
	$(UV) sync --frozen
	$(CLAIMFLOW) stack fetch

up: install
	$(CLAIMFLOW) up --demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Browser tests drive Debian's Chromium through Playwright (no browser download of its own).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	else echo "error: browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium (or set CHROMIUM=)" >&2; exit 1; fi

test: lint browser
	CLAIMFLOW_CHROMIUM=$(CHROMIUM) $(VENV)/bin/python -m pytest

stack-up: install
	$(CLAIMFLOW) stack up

stack-down:
	$(CLAIMFLOW) stack down

stack-status:
	$(CLAIMFLOW) stack status
