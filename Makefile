# The two commands of the README: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m threatscope.demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/bench_attack_import.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
