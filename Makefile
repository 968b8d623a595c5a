# Two commands for a fresh machine (see README.md):
#   make run    set up .venv, build the demo data, serve on http://$(HOST):$(PORT)
#               (gunicorn, $(WORKERS) processes of $(THREADS) threads; WORKERS=1: one process, `python app.py`)
#   make test   the same set-up plus test extras, Chromium and redis-server, then the whole test suite
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
HOST    ?= 127.0.0.1
PORT    ?= 8050
WORKERS ?= 2
THREADS ?= 8
export HOST PORT

.PHONY: run test setup setup-test demo-data chromium chromium-optional redis-server bench clean

run: setup demo-data chromium-optional
ifeq ($(WORKERS),1)
	$(BIN)/python app.py
else
	$(BIN)/python -m gunicorn app:server -b $(HOST):$(PORT) -w $(WORKERS) --threads $(THREADS) --keep-alive 0
endif

test: setup-test demo-data chromium redis-server
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

# $(call apt_install,PROGRAM,PACKAGE): install a Debian package (as root) when its program is missing.
define apt_install
@command -v $(1) >/dev/null || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
  else echo "$(1) is missing: run 'sudo apt-get install $(2)'"; exit 1; fi; }
endef

# Browser tests and server-side PNG/SVG export use Debian's Chromium.
chromium:
	$(call apt_install,chromium,chromium)

# The Celery tests start their own redis-server (Debian's package).
redis-server:
	$(call apt_install,redis-server,redis-server)

chromium-optional:
	@$(MAKE) --no-print-directory chromium || echo "Warning: without Chromium the server-side PNG/SVG exports are unavailable; the figures' own PNG buttons still work."

bench: setup-test demo-data
	$(BIN)/python -m benchmarks all

clean:
	rm -rf $(VENV) data/demo data/cache
