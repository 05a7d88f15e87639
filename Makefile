# Every target creates .venv on first use, so a fresh clone needs only Python: `make preview`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
STAMP := $(VENV)/.installed

.PHONY: help venv preview preview-all test bench taggable-types edge-functions clean diff diagram

help:
	@echo "make preview STACK=<stack>   offline preview (mocks + policy pack); writes build/<stack>.json"
	@echo "make test                    every test"
	@echo "make bench                   benchmarks (figures for the README)"
	@echo "make diff STACK=<s> BASE=<ref> review comment: BASE (default HEAD) vs the working tree; build/<s>-diff.md"
	@echo "make diagram STACK=<stack>   architecture picture: build/<stack>.svg and .png"
	@echo "make edge-functions          regenerate lambda_src/edge_function/*.js from the pinned crawler dataset"

$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt requirements-edge-data.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-edge-data.txt
	touch $(STAMP)

venv: $(STAMP)

preview: $(STAMP)
	$(PY) -m preview --stack $(STACK) --json build/$(STACK).json

preview-all: $(STAMP)
	@for s in dev staging prod; do $(PY) -m preview --stack $$s --json build/$$s.json --quiet || exit $$?; done

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/preview_and_policy.py
	$(PY) bench/scale.py
	$(PY) bench/edge_renderer.py
	$(PY) bench/edge_crawlers.py
	$(PY) bench/cost_model.py

taggable-types: $(STAMP)
	$(PY) tools/generate_taggable_types.py

edge-functions: $(STAMP)
	$(PY) tools/generate_edge_function.py

diff: $(STAMP)
	$(PY) -m review diff --stack $(STACK) --base $(or $(BASE),HEAD) --out build/$(STACK)-diff.md

diagram: $(STAMP)
	$(PY) -m review diagram --stack $(STACK) --out build/$(STACK)

clean:
	rm -rf build .pytest_cache
