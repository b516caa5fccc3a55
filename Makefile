# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/tracker: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

run: $(BIN)/tracker
	$(BIN)/tracker run $(ARGS)

test: $(BIN)/tracker
	$(BIN)/ruff check tracker workers tests bench
	$(BIN)/pytest $(ARGS)

bench: $(BIN)/tracker
	bash bench/run.sh

clean:
	rm -rf $(VENV) var .pytest_cache
