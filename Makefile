# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := libs/events libs/servicekit libs/devstack \
            services/intake services/portfolio services/resourcing services/reporting
STAMP  := $(VENV)/.installed
#: Test code mypy checks too (a second run: mypy takes packages or files, not both).
TYPED_TESTS := conftest.py tests $(foreach p,$(PACKAGES),$(p)/tests)
# Tools the tests run that live outside .venv: the AsyncAPI reference parser (npm) and checkov, whose
# dependencies would clash with the project's pins (a virtual environment of its own).
NODE_TOOLS := tools/asyncapi/node_modules/.installed
TS_TOOLS := tools/openapi-typescript/node_modules/.installed
CHECKOV_VENV := tools/checkov/.venv
CHECKOV := $(CHECKOV_VENV)/.installed
#: Test processes (pytest-xdist): every test module runs whole in one of them (`--dist loadfile`: its module-scoped
#: broker and services start once). `make test PYTEST_WORKERS=0` runs everything in this one process, serially.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(if $(filter 0,$(PYTEST_WORKERS)),,--dist loadfile)
ROLES  ?= admin
SUB    ?= alice

.PHONY: help run test lint typecheck unit integration e2e contracts token demo reset clean env tools system-tools bench-env bench

env: $(STAMP)  ## create .venv and install every package (other targets do it when missing)

$(STAMP): constraints.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3" "setuptools==84.2.1" "wheel==0.48.0"
	$(BIN)/python -m pip install --quiet --no-build-isolation -c constraints.txt -r requirements-dev.txt \
		$(foreach p,$(PACKAGES),-e $(p))
	touch $(STAMP)

help:  ## list these targets
	@grep -E '^[a-z0-9-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed -E 's/^([a-z0-9-]+):.*## /\1\t/' | expand -t 14

# Exact versions from tools/asyncapi/package.json, no lock file; once per clone (or when it changes).
$(NODE_TOOLS): tools/asyncapi/package.json
	cd tools/asyncapi && npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

# openapi-typescript and tsc at exact versions (tools/openapi-typescript/package.json), no lock file.
$(TS_TOOLS): tools/openapi-typescript/package.json
	cd tools/openapi-typescript && npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $(TS_TOOLS)

$(CHECKOV): tools/checkov/requirements.txt tools/checkov/constraints.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade "pip==26.3"
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -c tools/checkov/constraints.txt -r tools/checkov/requirements.txt
	touch $(CHECKOV)

# The README's walkthrough (run by a test) uses curl and jq: install them where we may (CI runs as root).
# chromium (the Debian package) takes the console's screenshots in tests/e2e/test_console_demo.py.
system-tools:  ## curl, jq and chromium with apt-get when root, else name the missing one
	@for tool in curl jq chromium; do command -v $$tool >/dev/null && continue; \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends $$tool >/dev/null; \
		else echo "$$tool is missing: install it (apt-get install $$tool)"; exit 1; fi; done

tools: system-tools $(NODE_TOOLS) $(TS_TOOLS) $(CHECKOV)  ## the tools the tests run outside .venv (npm, checkov)

run: $(STAMP)  ## start the embedded stack (broker + 4 services)
	$(BIN)/python -m pmo_devstack run

demo: $(STAMP)  ## load a demo data set through the public APIs (with make run running)
	$(BIN)/python -m pmo_devstack demo

# The stack's data (every service's database) goes; the dev keys and .venv stay. Refused while `make run` runs.
reset: $(STAMP)  ## delete the stack's data (every service's database); keys and .venv stay
	$(BIN)/python -m pmo_devstack reset

token: $(STAMP)  ## print a development token (ROLES=admin SUB=alice)
	@$(BIN)/python -m pmo_devstack token --roles "$(ROLES)" --sub "$(SUB)"

test: $(STAMP) tools lint  ## everything CI runs: lint, then every test
	$(PYTEST)

lint: $(STAMP)  ## ruff, import contracts, mypy
	$(BIN)/ruff check libs services tests benchmarks examples
	$(BIN)/ruff format --check libs services tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/mypy $(TYPED_TESTS)

unit: $(STAMP)  ## tests marked neither integration nor e2e
	$(PYTEST) -m "not integration and not e2e"

integration: $(STAMP)  ## tests marked integration
	$(PYTEST) -m integration

e2e: $(STAMP)  ## tests marked e2e
	$(PYTEST) -m e2e

typecheck: $(STAMP)  ## mypy alone
	$(BIN)/mypy
	$(BIN)/mypy $(TYPED_TESTS)

contracts: $(STAMP)  ## regenerate the contract snapshots
	$(BIN)/python tests/contract/snapshots.py

# Benchmarks (not part of `make test`): the peers and tools live in their own pinned environment.
PEERS_VENV := benchmarks/.venv-peers
$(PEERS_VENV)/.installed: benchmarks/peers/requirements.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet -r benchmarks/peers/requirements.txt
	touch $@

bench-env: $(STAMP) $(PEERS_VENV)/.installed  ## the benchmarks' peers environment
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }

bench: bench-env  ## the benchmarks (commands.py, replay.py; not part of make test)
	cd benchmarks && ../$(BIN)/python commands.py && ../$(BIN)/python replay.py

clean:  ## remove .venv, var, caches and the tools' installs
	rm -rf $(VENV) var .pytest_cache .ruff_cache tools/asyncapi/node_modules tools/openapi-typescript/node_modules $(CHECKOV_VENV)
