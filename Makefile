# GridCommons: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DISTS := shared gateway asset-service metering-service deal-service monitoring-service community-service
STAMP := $(VENV)/.installed

.PHONY: install run test lint format bench clean

install: $(STAMP)

$(STAMP): constraints.txt requirements-dev.txt $(foreach d,$(DISTS),$(d)/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements-dev.txt $(foreach d,$(DISTS),-e ./$(d))
	@touch $(STAMP)

run: install
	$(PY) -m gridcommons.stack run

test: install
	$(PY) -m pytest

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy shared/gridcommons gateway/gateway asset-service/asset_service metering-service/metering_service \
		deal-service/deal_service monitoring-service/monitoring_service community-service/community_service

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: install
	$(PY) bench/gateway_overhead.py

clean:
	rm -rf $(VENV) .data
