# Every target creates .venv on first use, so a fresh clone needs only Python: `make preview`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
# day-zero (a first deploy: nothing this stack creates exists yet), update (the stack exists), pull-request, or
# region-lost (a first deploy while LOST_REGION, default eu-west-1, does not answer): preview/world.py
WORLD ?= day-zero
STAMP := $(VENV)/.installed
# checkov has its own venv: its dependency pins conflict with ours (docs/security.md).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/.installed

.PHONY: help venv preview preview-all test bench bench-tests taggable-types edge-functions clean diff diagram docs
.PHONY: lint
.PHONY: scan checkov

help:
	@echo "make preview STACK=<stack>   offline preview (mocks + policy pack); writes build/<stack>.json"
	@echo "                              WORLD=update previews an update of an existing stack (default day-zero)"
	@echo "                              WORLD=region-lost: a first deploy while LOST_REGION (eu-west-1) is gone"
	@echo "make stack-references        regenerate preview/stack_references.json from the referenced stacks' previews"
	@echo "make quota-needs             regenerate stack_config/quota_needs.json (what the org requests) from the stacks' previews"
	@echo "make lint                    ruff check, ruff format --check, pyright (docs/development.md)"
	@echo "make test                    make lint, then every test"
	@echo "make bench                   benchmarks: bench/results/*.json, the figures make docs puts in the README"
	@echo "make bench-tests             how long make test takes: bench/results/test_suite.json"
	@echo "make diff STACK=<s> BASE=<ref> review comment: BASE (default HEAD) vs the working tree; build/<s>-diff.md"
	@echo "                              SECURITY=1 adds checkov's figures and the new failures (make checkov first)"
	@echo "make diagram STACK=<stack>   architecture picture: build/<stack>.svg and .png"
	@echo "make edge-functions          regenerate lambda_src/edge_function/*.js from the pinned crawler dataset"
	@echo "make docs                    regenerate the generated docs: policy table, architecture picture, figures"
	@echo "make scan STACK=<stack>      checkov's AWS checks on the preview; build/scan/<stack>/ (docs/security.md)"

# The edge benchmark's corpora and detectors: CrawlerDetect's fixtures ship only in its sdist (downloaded, not
# installed); isbot, ua-parser-js and Intoli's user-agents come from bench/node/package-lock.json.
# The access simulation's IAM simulator (AGPL-3.0, run as a separate process) comes from access/node/package-lock.json.
$(STAMP): requirements.txt requirements-dev.txt policies/requirements.txt requirements-edge-data.txt \
		requirements-edge-corpora.txt bench/node/package-lock.json access/node/package-lock.json
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-edge-data.txt
	$(PY) -m pip download --quiet --disable-pip-version-check --no-deps --no-binary crawlerdetect \
		-d $(VENV)/edge-corpora -r requirements-edge-corpora.txt
	npm ci --prefix bench/node --no-audit --no-fund --silent
	npm ci --prefix access/node --no-audit --no-fund --silent
	touch $(STAMP)

venv: $(STAMP)

preview: $(STAMP)
	$(PY) -m preview --stack $(STACK) --world $(WORLD) --json build/$(STACK).json --sarif build/$(STACK)-policy.sarif $(if $(LOST_REGION),--lost-region $(LOST_REGION))

preview-all: $(STAMP)
	@for s in dev staging prod prod-dr; do $(PY) -m preview --stack $$s --json build/$$s.json --quiet || exit $$?; done

# Lint first: a finding fails `make test` (and so CI) in about a minute, before the suite runs for several.
# PYRIGHT_PYTHON_IGNORE_WARNINGS: no PyPI "newer version?" query on each run; the pin decides the version.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYRIGHT_PYTHON_IGNORE_WARNINGS=1 $(VENV)/bin/pyright

# Both cores (pytest-xdist; what shares a costly session fixture stays on one worker: tests/conftest.py), and the
# slowest tests named on every run. One group alone: `$(PY) -m pytest -m preview` (or `-m corpus`, `-m "not preview"`).
test: $(STAMP) $(CHECKOV) lint
	$(PY) -m pytest -n auto --dist loadgroup --durations=30

bench: $(STAMP)
	$(PY) bench/preview_and_policy.py
	$(PY) bench/scale.py
	$(PY) bench/secret_scan.py
	$(PY) bench/quota_check.py
	$(PY) bench/edge_renderer.py
	$(PY) bench/edge_egress.py
	$(PY) bench/edge_crawlers.py
	$(PY) bench/cost_model.py
	@echo "then: make docs (the README and docs/performance.md tables, from bench/results/)"

# `make test`'s own time (lint + the whole suite, as `make test` runs it): bench/results/test_suite.json.
bench-tests: $(STAMP) $(CHECKOV)
	$(PY) bench/test_suite.py

taggable-types: $(STAMP)
	$(PY) tools/generate_taggable_types.py

.PHONY: stack-references
stack-references: $(STAMP)
	$(PY) -m tools.record_stack_references

.PHONY: quota-needs
quota-needs: $(STAMP)
	$(PY) -m tools.record_quota_needs

.PHONY: replace-on-change
replace-on-change: $(STAMP)
	$(PY) -m tools.generate_replace_on_change

edge-functions: $(STAMP)
	$(PY) tools/generate_edge_function.py

diff: $(STAMP)
	$(PY) -m review diff --stack $(STACK) --base $(or $(BASE),HEAD) --out build/$(STACK)-diff.md $(if $(SECURITY),--security)

diagram: $(STAMP)
	$(PY) -m review diagram --stack $(STACK) --out build/$(STACK)

docs: $(STAMP)
	$(PY) -m tools.generate_docs

clean:
	rm -rf build .pytest_cache

$(CHECKOV): scan/requirements.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r scan/requirements.txt
	touch $(CHECKOV)

checkov: $(CHECKOV)

scan: $(STAMP) $(CHECKOV)
	$(PY) -m preview --stack $(STACK) --json build/$(STACK).json --quiet
	$(PY) -m scan --stack $(STACK)
