# Two commands for everyone: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
.DEFAULT_GOAL := help

BIN := .venv/bin
INSTALLED := .venv/.installed
MODEL := models/current.tar.gz
# The domain is the folder domain/ (one file per topic, merged by Rasa).
DOMAIN := domain
TRAIN_INPUTS := config.yml $(wildcard $(DOMAIN)/*.yml) $(shell find data -name '*.yml' 2>/dev/null) \
	$(shell find addons support_core -name '*.py' 2>/dev/null)

.PHONY: help install train run run-production test test-fast lint bench validate clean

help:
	@echo "make run    install, train if data changed, start the assistant"
	@echo "make run-production  the same behind nginx, 2 replicas of each, PostgreSQL + Redis"
	@echo "make test   install, train if data changed, run every test"
	@echo "make test-fast  unit and service tests only (no model, no browser), under a minute"
	@echo "make train  train the model if data or config changed"
	@echo "make bench  run the benchmarks"
	@echo "make lint   ruff"

install: $(INSTALLED)

$(INSTALLED): pyproject.toml scripts/bootstrap.sh widget/package-lock.json \
		tests/browser/package-lock.json
	@scripts/bootstrap.sh
	@touch $@

train: $(MODEL)

# Rebuilt only when the training data, the domain, the config or the NLU add-ons change.
$(MODEL): $(INSTALLED) $(TRAIN_INPUTS)
	@echo "==> training (data or config changed)"
	@mkdir -p models
	$(BIN)/rasa train --domain $(DOMAIN) --fixed-model-name current --out models --quiet
	@touch $@

validate: $(INSTALLED)
	$(BIN)/rasa data validate --domain $(DOMAIN) --fail-on-warnings

run: $(MODEL)
	@scripts/run.sh

# The production topology on this machine (REPLICAS=2 by default; see docs/deployment.md).
run-production: $(MODEL)
	@scripts/run_production.sh

test: $(MODEL)
	$(BIN)/python -m pytest

# The quick loop for a small change: unit and service tests (SQLite and PostgreSQL), no
# trained model, no Rasa process, no browser; two workers. `make test` stays the full run.
test-fast: $(INSTALLED)
	$(BIN)/python -m pytest tests/unit tests/handoff -m "not integration" -n 2 -q

lint: $(INSTALLED)
	$(BIN)/ruff check .

bench: $(MODEL)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf models state results
