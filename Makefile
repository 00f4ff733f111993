# The two commands: `make demo` and `make test`. Both create .venv on first use.
# torch==2.13.0 is installed first, alone: that version is a CPU build already on disk here, and the
# package's own torch range admits it, so pip does not download CUDA packages.
# OMP_NUM_THREADS=1: tiny networks gain nothing from intra-op threads, and two torch threads on two
# busy cores can be 10x-250x slower (see docs/getting_started.rst and the README).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1

.PHONY: demo test docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[test,demo,docs,onnx,chem]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/python examples/demo_tox21.py

# the docs build executes the example gallery, so examples that break fail the tests
test: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

docs: $(VENV)/.installed
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_fit_overhead.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info docs/_build docs/generated docs/auto_examples docs/sg_execution_times.rst
