# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_PASSWORD := reprise-57-demo

.PHONY: demo test lint dagster clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	MDPH_DELIVERY_PASSWORD=$(DEMO_PASSWORD) $(BIN)/mdph-reprise run sample_data/delivery --output output

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check migration assets tests sample_data bench
	$(BIN)/ruff format --check migration assets tests sample_data bench

dagster: $(STAMP)
	mkdir -p -m 700 .dagster_home
	MDPH_DELIVERY_PASSWORD=$(DEMO_PASSWORD) DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev

clean:
	rm -rf output .dagster_home
