# GridCommons: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The kernel and every service of deploy/services.toml (the registry script needs only the stdlib).
REGISTRY := $(PYTHON) shared/gridcommons/registry.py
DISTS := $(shell $(REGISTRY) dists)
MYPY_PATHS := $(shell $(REGISTRY) mypy-paths)
ifeq ($(strip $(DISTS)),)
$(error could not read deploy/services.toml with $(PYTHON) (Python 3.11 or later needed: make PYTHON=python3.11))
endif
STAMP := $(VENV)/.installed
# The AsyncAPI parser the tests validate deploy/asyncapi.yaml with (npm, pinned by its package-lock.json).
ASYNCAPI_PARSER := tests/deploy/asyncapi_parser
NPM := $(shell command -v npm 2>/dev/null)
PARSER_STAMP := $(if $(and $(NPM),$(wildcard $(ASYNCAPI_PARSER)/package.json)),$(ASYNCAPI_PARSER)/node_modules/.installed)

.PHONY: install run test lint format bench clean compose asyncapi

install: $(STAMP) $(PARSER_STAMP)

$(STAMP): constraints.txt requirements-dev.txt deploy/services.toml $(foreach d,$(DISTS),$(d)/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt $(foreach d,$(DISTS),-e ./$(d))
	@touch $(STAMP)

$(ASYNCAPI_PARSER)/node_modules/.installed: $(ASYNCAPI_PARSER)/package.json $(ASYNCAPI_PARSER)/package-lock.json
	cd $(ASYNCAPI_PARSER) && npm ci --silent
	@touch $@

run: install
	$(PY) -m gridcommons.stack run

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy $(MYPY_PATHS)

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# docker-compose.yml is generated from the registry (tests/deploy/test_compose.py checks it is current).
compose:
	$(REGISTRY) compose > docker-compose.yml

# deploy/asyncapi.yaml is generated from the services' events and workers (tests/deploy/test_asyncapi.py
# checks it is current and valid).
asyncapi: install
	$(PY) -m gridcommons.asyncapi > deploy/asyncapi.yaml.new && mv deploy/asyncapi.yaml.new deploy/asyncapi.yaml

bench: install
	$(PY) bench/gateway_overhead.py

clean:
	rm -rf $(VENV) .data $(ASYNCAPI_PARSER)/node_modules
