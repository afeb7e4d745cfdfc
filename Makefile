# Two commands do all the set-up: `make run` (the app) and `make test` (the test suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: run test lint bench starter clean

$(BIN)/gptchat: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build first, so nothing below pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	# Ray too, so the tests run `gptchat index --ray` (a plain `pip install gptchat` has none).
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

run: $(BIN)/gptchat
	$(BIN)/gptchat

test: $(BIN)/gptchat
	$(BIN)/pytest -q

lint: $(BIN)/gptchat
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BIN)/gptchat
	$(BIN)/python benchmarks/index_benchmark.py

# Rebuilds gptchat/model/starter/ from ../shared/eval/squad-dev (about an hour on 2 cores).
starter: $(BIN)/gptchat
	$(BIN)/python scripts/build_starter.py

clean:
	rm -rf $(VENV)
