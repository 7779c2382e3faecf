# spikelearn: two commands are all a learner or CI needs.
#   make lab   - create .venv if missing, install, open the tutorials in JupyterLab
#   make test  - create .venv if missing, install, then lint, unit tests, notebooks (nbval), docs
#   make robustness - the tutorials' claims under other seeds, threads and CPUs (CI runs a subset)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# CUDA: make lab TORCH_INDEX=https://download.pytorch.org/whl/cu128 (see the README)
TORCH_INDEX ?=

.PHONY: lab test install lint unit notebooks robustness docs bench format execute clean browser

$(STAMP): pyproject.toml constraints.txt
	@echo ">>> Setting up $(VENV): torch, snnTorch, JupyterLab and the dev tools, about 1 GB."
	@echo ">>> The first time this takes 2-5 minutes (later runs skip it); pip reports only errors."
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)
	@echo ">>> $(VENV) is ready."

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) tutorials/

test: lint unit notebooks docs

lint: $(STAMP)
	$(BIN)/ruff check spikelearn tests benchmarks tutorials docs .ci
	$(BIN)/ruff format --check spikelearn tests benchmarks docs .ci

unit: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests

# lax: only cells marked NBVAL_CHECK_OUTPUT (output exact by construction) are compared as text;
# every cell still runs, so every assert and claim still counts
notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax tutorials -p no:cacheprovider --nbval-current-env --nbval-sanitize-with .ci/nbval_sanitize.cfg

# every tutorial under seeds 0-4, one thread and emulated other CPUs; a table of every claim's
# margin (see .ci/robustness.py). The full matrix takes about 40 minutes on 2 cores. The survey
# behind docs/robustness.md (seeds 0-19 and the emulated CPUs) is resumable: see docs/developers.md.
ROBUSTNESS_CONFIGS ?= all
ROBUSTNESS_TABLE   ?= .robustness/table.md
robustness: $(STAMP)
	$(BIN)/python .ci/robustness.py --configs $(ROBUSTNESS_CONFIGS) --table $(ROBUSTNESS_TABLE)

docs: $(STAMP)
	rm -rf docs/_build
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

# The widgets in a real browser (also part of `unit` when Chromium is found; skips saying why if not).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/test_widgets_browser.py -v

bench: $(STAMP)
	$(BIN)/python -c 'import spikingjelly' 2>/dev/null || $(BIN)/python -m pip install -q --no-deps spikingjelly loguru
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

execute: $(STAMP)
	$(BIN)/python .ci/execute_notebooks.py $(or $(NB),tutorials/[0-9][0-9]_*.ipynb)

format: $(STAMP)
	$(BIN)/ruff format spikelearn tests benchmarks docs .ci
	$(BIN)/ruff check --fix spikelearn tests benchmarks tutorials docs .ci

clean:
	rm -rf docs/_build .pytest_cache
