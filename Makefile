# Convenor: the two set-up commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Pure modules (no Flask, SQLAlchemy or I/O) that pass `mypy --strict`; `make test` keeps them passing.
# Add a pure module here once it passes.
MYPY_PURE := \
	events/conference/programme.py \
	events/conference/timetable.py \
	events/checkin/rules.py \
	events/exchange/formats.py \
	events/exchange/calendar.py \
	carousels/cafe/engine.py \
	carousels/workshops/engine.py \
	bot/intents.py \
	bot/blocks.py \
	bot/reply.py
APT := $(shell if [ "$$(id -u)" = 0 ]; then echo apt-get; else echo sudo apt-get; fi)

.PHONY: demo test lint bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# PostgreSQL, Redis, Chromium and zbar for the tests; installed only when absent.
system-deps:
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	command -v zbarimg >/dev/null || missing="$$missing zbar-tools"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(APT) update -qq && DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq $$missing >/dev/null; \
	fi

demo: $(VENV)/.installed
	mkdir -p instance
	$(BIN)/flask --app app db upgrade
	HOST=$(HOST) PORT=$(PORT) $(BIN)/flask --app app demo
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python app.py

# Style, the import contracts in pyproject.toml (docs/architecture.md) and the pure modules' types.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy --strict $(MYPY_PURE)

test: lint system-deps
	$(BIN)/python -m pytest -q -ra

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/cafe.py
	$(BIN)/python benchmarks/rotation.py
	$(BIN)/python benchmarks/live.py
	$(BIN)/python benchmarks/checkin.py
	$(BIN)/python benchmarks/slack.py
	$(BIN)/python benchmarks/notify.py

clean:
	rm -rf $(VENV) instance/*.db
