# Quickstart on a fresh clone:
#   make demo   — set up .venv and run the demo on the bundled penguins workbook
#   make test   — set up .venv with the test tools and run the test suite
#   make test-lowest — a subset of the tests at the lowest versions pyproject.toml allows (a few minutes)
#   make lint   — ruff and mypy on sheetdl/ (their settings are in pyproject.toml), and the task pane
#                 checked against Office.js's type definitions (needs Node.js and npm; see lint-pane)
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

.PHONY: demo test test-lowest lint lint-pane setup clean

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

# The floors: each direct dependency at the lowest version pyproject.toml allows (tools/floors.py reads
# them from there and checks they are what got installed), in a fresh $(LOWEST), with the newest
# releases of everything they need in turn; then the tests that touch each dependency (every module
# imports; folders; workbook reading incl. merged cells; schema; the server and its request checks; a
# model saved before the layout change) and the demo, trained and used to predict. Costs (2 CPU cores,
# Python 3.11): about 3 GB downloaded — torch 2.3 has no CPU-only wheel on the Python Package Index,
# so its default Linux build comes with NVIDIA's libraries — 5 GB on disk until the end, and 3 to 5
# minutes (measured: 4 min 49 s with pip's cache off, of which the tests 40 s and the demo 15 s). On a
# newer Python the floors of packages with no wheel for it can't install; run it on 3.11.
LOWEST ?= .venv-lowest
LOWEST_TESTS := tests/test_layout.py tests/test_folders.py tests/schema tests/sheets/test_table.py \
	tests/test_bad_inputs.py::test_merged_group_titles_above_the_header tests/server/test_config.py \
	tests/server/test_guard.py tests/server/test_server.py tests/test_model_before_layout.py \
	tests/models/test_efficientnet.py tests/models/test_trees.py tests/models/test_dropout.py

test-lowest:
	rm -rf $(LOWEST)
	$(PYTHON) -m venv $(LOWEST)
	$(PYTHON) tools/floors.py > $(LOWEST)/floors.txt
	$(LOWEST)/bin/python -m pip install -q -c $(LOWEST)/floors.txt -e . pytest hypothesis xlsxwriter httpx palmerpenguins
	# once, an install here came out with a folder of NVIDIA's libraries missing: reinstall torch then
	$(LOWEST)/bin/python -c "import torch" 2>/dev/null || $(LOWEST)/bin/python -m pip install -q \
	    --force-reinstall -c $(LOWEST)/floors.txt torch
	$(LOWEST)/bin/python tools/floors.py --check
	$(LOWEST)/bin/python -m pytest -p no:cacheprovider $(LOWEST_TESTS)
	mkdir $(LOWEST)/demo
	cd $(LOWEST)/demo && SHEETDL_HOME="$$PWD/home" ../bin/sheetdl demo --time-budget 5 --quiet
	cd $(LOWEST)/demo && SHEETDL_HOME="$$PWD/home" ../bin/sheetdl predict sheetdl-demo/Penguins.xlsx \
	    --model "sheetdl-demo/Penguins (SheetDL).sheetdl" --quiet
	test -f "$(LOWEST)/demo/sheetdl-demo/Penguins (SheetDL 2).xlsx"
	rm -rf $(LOWEST)

lint: $(VENV)/.setup-lint lint-pane
	$(BIN)/python -m ruff check sheetdl
	$(BIN)/python -m mypy

# The task pane (plain JavaScript, no build step) against Microsoft's Office.js type definitions with
# the TypeScript compiler, and the Office.js requirement sets it needs against the manifest's
# (addin/api-sets.mjs, addin/api-sets.md). The versions are pinned in addin/package-lock.json. Without
# Node.js this fails, with a message: CI has Node.js, and a check that skips itself there checks nothing.
lint-pane: addin/node_modules/.installed
	cd addin && node node_modules/typescript/bin/tsc --project tsconfig.json
	cd addin && node api-sets.mjs

addin/node_modules/.installed: addin/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	    echo "make lint: the task pane's check needs Node.js (18 or later) and npm, which this computer lacks."; \
	    echo "Install them (https://nodejs.org, or your system's nodejs and npm packages) and run make lint again."; \
	    exit 1; }
	cd addin && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf $(VENV) $(LOWEST) sheetdl-demo addin/node_modules
