# Kanyan — `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-kanyan
APT := DEBIAN_FRONTEND=noninteractive apt-get
# The recorder burns Chinese text into the video: it needs a CJK font. The inspection record's
# PDF is laid out by WeasyPrint, which needs Pango.
FONT_PKG := fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0
# iproute2: `ip netns` for the weak-network tests (tests/support/wan.py).
TEST_PKGS := chromium $(FONT_PKG) coturn postgresql iproute2

.PHONY: run test lint font test-deps clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

font:
	@dpkg -s $(FONT_PKG) >/dev/null 2>&1 || { $(APT) update -q && $(APT) install -y -q $(FONT_PKG); }

run: $(STAMP) font
	PYTHONUNBUFFERED=1 $(PY) -m server

test-deps:
	@missing=""; for p in $(TEST_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then $(APT) update -q && $(APT) install -y -q $$missing; fi

test: $(STAMP) test-deps
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check server recorder web tests bench
	$(PY) -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
