# Quickstart on a fresh clone:
#   make demo   — set up .venv and run the demo on the bundled penguins workbook
#   make test   — set up .venv with the test tools and run the test suite
#   make lint   — ruff and mypy on sheetdl/ (their settings are in pyproject.toml)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU build of PyTorch; on a machine with an NVIDIA GPU, install a CUDA build into .venv first
# (see README) and this step leaves it alone.
TORCH  ?= torch==2.13.0

.PHONY: demo test lint setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.setup: pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.setup-test: $(VENV)/.setup
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

$(VENV)/.setup-lint: $(VENV)/.setup
	$(BIN)/python -m pip install -q -e ".[lint]"
	touch $@

setup: $(VENV)/.setup

demo: $(VENV)/.setup
	$(BIN)/sheetdl demo

test: $(VENV)/.setup-test
	$(BIN)/python -m pytest

lint: $(VENV)/.setup-lint
	$(BIN)/python -m ruff check sheetdl
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) sheetdl-demo
