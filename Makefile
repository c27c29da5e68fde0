# Two commands for everyone: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
.DEFAULT_GOAL := help

BIN := .venv/bin
INSTALLED := .venv/.installed
MODEL := models/current.tar.gz
TRAIN_INPUTS := config.yml domain.yml $(shell find data -name '*.yml' 2>/dev/null) \
	$(wildcard addons/*.py support_core/*.py)

.PHONY: help install train run test lint bench validate clean

help:
	@echo "make run    install, train if data changed, start the assistant"
	@echo "make test   install, train if data changed, run every test"
	@echo "make train  train the model if data or config changed"
	@echo "make bench  run the benchmarks"
	@echo "make lint   ruff"

install: $(INSTALLED)

$(INSTALLED): pyproject.toml scripts/bootstrap.sh widget/package-lock.json
	@scripts/bootstrap.sh
	@touch $@

train: $(MODEL)

# Rebuilt only when the training data, the config or the NLU add-ons change.
$(MODEL): $(INSTALLED) $(TRAIN_INPUTS)
	@echo "==> training (data or config changed)"
	@mkdir -p models
	$(BIN)/rasa train --fixed-model-name current --out models --quiet
	@touch $@

validate: $(INSTALLED)
	$(BIN)/rasa data validate --fail-on-warnings

run: $(MODEL)
	@scripts/run.sh

test: $(MODEL)
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .

bench: $(MODEL)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf models state results
