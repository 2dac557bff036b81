# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
PACKAGES := libs/events libs/servicekit libs/devstack \
            services/intake services/portfolio services/resourcing services/reporting
STAMP  := $(VENV)/.installed
ROLES  ?= admin
SUB    ?= alice

.PHONY: run test lint typecheck unit integration e2e contracts token demo clean env

env: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3" "setuptools==84.2.1" "wheel==0.48.0"
	$(BIN)/python -m pip install --quiet --no-build-isolation -c constraints.txt -r requirements-dev.txt \
		$(foreach p,$(PACKAGES),-e $(p))
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m pmo_devstack run

demo: $(STAMP)
	$(BIN)/python -m pmo_devstack demo

token: $(STAMP)
	@$(BIN)/python -m pmo_devstack token --roles "$(ROLES)" --sub "$(SUB)"

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check libs services tests benchmarks
	$(BIN)/ruff format --check libs services tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration and not e2e"

integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/python tests/contract/snapshots.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
