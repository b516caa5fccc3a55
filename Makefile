# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast screenshots bench bench-webhook bench-rollup bench-reports bench-useragents bench-memory bench-cluster clean

$(BIN)/tracker: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	touch $@

# The first `make run` on a fresh var/ adds the demo brand (DEMO=0 skips it, DEMO=1 forces it).
DEMO ?= $(if $(wildcard var/demo-created),0,1)

run: $(BIN)/tracker
	$(BIN)/tracker run $(if $(filter 1,$(DEMO)),--demo,) $(ARGS)

test: $(BIN)/tracker
	bash tests/ensure-chromium.sh
	$(BIN)/ruff check tracker workers tests bench
	$(BIN)/pytest $(ARGS)

# The fast part: all but the browser, Redis Cluster and whole-process tests (marked slow), on 2 processes.
test-fast: $(BIN)/tracker
	$(BIN)/ruff check tracker workers tests bench
	$(BIN)/pytest -n 2 -m "not slow" $(ARGS)

# The README's screenshots (docs/screenshots/*.png), from the browser tests that take them.
screenshots: $(BIN)/tracker
	bash tests/ensure-chromium.sh
	SCREENSHOTS=1 $(BIN)/pytest -q tests/test_dashboard.py tests/test_breakdowns.py -k "overview_numbers or comparison or per_link_page"

bench: $(BIN)/tracker
	bash bench/run.sh

bench-webhook: $(BIN)/tracker
	bash bench/run.sh webhook

bench-rollup: $(BIN)/tracker
	bash bench/run.sh rollup

bench-reports: $(BIN)/tracker
	bash bench/run.sh reports

bench-useragents: $(BIN)/tracker
	bash bench/run.sh useragents

bench-memory: $(BIN)/tracker
	bash bench/run.sh memory

bench-cluster: $(BIN)/tracker
	bash bench/run.sh cluster

clean:
	rm -rf $(VENV) var .pytest_cache
