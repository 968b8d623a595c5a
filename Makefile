# Two commands for a fresh machine (see README.md):
#   make run    set up .venv, build the demo data, serve on http://$(HOST):$(PORT)
#   make test   the same set-up plus test extras and Chromium, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8050
export HOST PORT

.PHONY: run test setup setup-test demo-data chromium bench clean

run: setup demo-data chromium-optional
	$(BIN)/python app.py

test: setup-test demo-data chromium
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); \
	  else echo "python3 -m venv failed: install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	@touch $@

$(VENV)/.installed-test: requirements-test.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-test.txt
	@touch $@

# The demo datasets, then what their pages open with (atlas, trained models; seeded, stored once).
demo-data: setup
	$(BIN)/python -m core.datasets.build_demo
	$(BIN)/python -m dashboard.services.prebuild

# Browser tests and server-side PNG/SVG export use Debian's Chromium.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is missing: run 'sudo apt-get install chromium'"; exit 1; fi; }

chromium-optional:
	@$(MAKE) --no-print-directory chromium || echo "Warning: without Chromium the server-side PNG/SVG exports are unavailable; the figures' own PNG buttons still work."

bench: setup-test demo-data
	$(BIN)/python -m benchmarks all

clean:
	rm -rf $(VENV) data/demo data/cache
