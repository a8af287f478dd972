# Quickstart on a fresh clone:
#   make demo   — set up .venv and run the demo on the bundled penguins workbook
#   make test   — set up .venv with the test tools and run the test suite
#   make lint   — ruff and mypy on sheetdl/ (their settings are in pyproject.toml)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# PyTorch, installed only when .venv has no torch yet (install a CUDA build into .venv first and this
# step leaves it alone). What `pip install torch==2.13.0` brings depends on the index pip uses: from
# the Python Package Index on Linux, the default build with NVIDIA's CUDA libraries (several GB); on
# macOS and Windows, a CPU-only build; on this project's CI machines, whose pip index carries the
# CPU-only wheel, that one. For the CPU-only build on Linux, pass PyTorch's CPU-only index (its
# address is on pytorch.org's install page): make demo TORCH_PIP_ARGS="--index-url URL"
TORCH  ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: demo test lint setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.setup: pyproject.toml | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_PIP_ARGS) "$(TORCH)"
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
