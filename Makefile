# The two commands of the quick start are `make lab` and `make test`.
# Both create .venv if it is missing and install the project into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU build of PyTorch: pinning the version first keeps pip from pulling a multi-GB CUDA
# build later. Override for a GPU machine, e.g. `make lab TORCH=torch`.
TORCH  ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: lab lab-deep test test-fast lint format notebooks korean site bench clean

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"
	touch $@

install: $(BIN)/.installed

lab: $(BIN)/.installed
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(BIN)/.installed
	$(BIN)/ruff check tlhelpers tlcourse tests benchmarks notebooks tools site/_ext
	$(BIN)/ruff format --check tlhelpers tlcourse tests benchmarks notebooks tools site/_ext
	TLHELPERS_QUICK=1 $(BIN)/python -m pytest -p no:cacheprovider --timeout 900 -q -m "not slow"

test-fast: $(BIN)/.installed
	TLHELPERS_QUICK=1 $(BIN)/python -m pytest -p no:cacheprovider -q -m "not integration and not slow" --ignore=tests/test_notebooks.py

lint: $(BIN)/.installed
	$(BIN)/ruff check tlhelpers tlcourse tests benchmarks notebooks tools site/_ext

format: $(BIN)/.installed
	$(BIN)/ruff check --fix tlhelpers tlcourse tests benchmarks notebooks
	$(BIN)/ruff format tlhelpers tlcourse tests benchmarks notebooks

# Re-run the numbered notebooks in place in FULL mode (the committed outputs), strip widget
# state and check for errors and absolute paths. One notebook: make notebooks NOTEBOOKS=notebooks/01_...
NOTEBOOKS ?= $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
notebooks: $(BIN)/.installed
	env -u TLHELPERS_QUICK $(BIN)/python tests/test_notebooks.py $(NOTEBOOKS)
	$(MAKE) korean

# The Korean edition (ko/) copies the English code cells and outputs: regenerate it after any
# run or edit of the English notebooks. It refuses a notebook whose translation is stale and
# `python tools/korean_edition.py --stale` lists the cells to re-translate.
korean: $(BIN)/.installed
	$(BIN)/python tools/korean_edition.py --write

# The course website from the committed notebooks (nothing is executed), offline, into
# site/_build/html/; serve it with `python -m http.server -d site/_build/html`.
site: $(BIN)/.installed
	$(BIN)/python tools/build_site.py

# Notebook 07's recorded deep run: six methods, five seeds, both datasets (79.7 minutes on
# the 2-core machine that recorded it). It rewrites notebooks/results/lab_deep.json; commit that file.
lab-deep: $(BIN)/.installed
	$(BIN)/python tools/lab_deep.py

# Performance comparisons (~20 minutes on an idle 2-core machine); never part of `make test`.
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench.py

clean:
	rm -rf $(VENV) build site/_build *.egg-info .pytest_cache .ruff_cache
