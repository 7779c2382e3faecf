# spikelearn: two commands are all a learner or CI needs.
#   make lab   - create .venv if missing, install, open the tutorials in JupyterLab
#   make test  - create .venv if missing, install, then lint, unit tests, notebooks (nbval), docs
#   make robustness - the tutorials' claims under other seeds, threads and CPUs (CI runs a subset)
#   make student    - the student edition (solutions removed) in student/; make grade SUBMISSIONS=dir
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch's index is chosen by .ci/setup_env.py: PyTorch's CPU wheels on Linux when that index
# answers, else (and on macOS) the default one. To choose: make lab TORCH_INDEX=URL (e.g. CUDA,
# https://download.pytorch.org/whl/cu128) or TORCH_INDEX=default; rm -rf .venv first to redo one.
TORCH_INDEX ?=
export TORCH_INDEX

.PHONY: lab test install lint unit notebooks robustness docs bench format execute clean browser student grade sdist-test

# .ci/setup_env.py also rebuilds a .venv made by a too old Python or left half-installed
$(STAMP): pyproject.toml constraints.txt .ci/setup_env.py $(BIN)/python
	$(PYTHON) .ci/setup_env.py --venv $(VENV)
	touch $(STAMP)

# a .venv whose Python is gone (removed, or the system's Python upgraded) is set up again
$(BIN)/python: ;

install: $(STAMP)

# .ci/lab_settings: JupyterLab's defaults for this course (no "official Jupyter news?" pop-up,
# no update check); a learner can still change them in JupyterLab's settings
lab: $(STAMP)
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) --LabApp.app_settings_dir=$(CURDIR)/.ci/lab_settings tutorials/

test: lint unit notebooks docs

lint: $(STAMP)
	$(BIN)/ruff check spikelearn tests benchmarks tutorials docs .ci
	$(BIN)/ruff format --check spikelearn tests benchmarks docs .ci

# the docs' offline-math check runs in `docs`, on the real build
unit: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest tests --ignore=tests/test_docs_browser.py

# lax: only cells tagged nbval-check-output (output exact by construction) are compared as text;
# every cell still runs, so every assert and claim still counts
notebooks: $(STAMP)
	$(BIN)/python -m pytest --nbval-lax tutorials docs/researchers.ipynb -p no:cacheprovider --nbval-current-env --nbval-sanitize-with .ci/nbval_sanitize.cfg

# every tutorial under seeds 0-4, one thread and emulated other CPUs; a table of every claim's
# margin (see .ci/robustness.py). The full matrix takes about 40 minutes on 2 cores. The survey
# behind docs/robustness.md (seeds 0-19 and the emulated CPUs) is resumable: see docs/developers.md.
ROBUSTNESS_CONFIGS ?= all
ROBUSTNESS_TABLE   ?= .robustness/table.md
robustness: $(STAMP)
	$(BIN)/python .ci/robustness.py --configs $(ROBUSTNESS_CONFIGS) --table $(ROBUSTNESS_TABLE)

# -q: only warnings and errors (which fail the build); then the formulas are checked in Chromium
# with the network off (tests/test_docs_browser.py; skips, saying why, without Chromium)
docs: $(STAMP)
	rm -rf docs/_build
	@echo ">>> Building the docs into docs/_build/html (about 20 s)"
	$(BIN)/sphinx-build -q -W --keep-going -b html docs docs/_build/html
	SPIKELEARN_DOCS_HTML=docs/_build/html $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_docs_browser.py

# The sdist installed into a temporary folder and every test it carries run against it
# (tests/test_packaging.py; `make test` only collects them). CI runs this.
sdist-test: $(STAMP)
	SPIKELEARN_SDIST_TESTS=all MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider tests/test_packaging.py -k sdist

# The widgets in a real browser (also part of `unit` when Chromium is found; skips saying why if not).
browser: $(STAMP)
	$(BIN)/python -m pytest tests/test_widgets_browser.py -v

# A course: the student edition is every tutorial without its cells tagged `solution` (nbconvert's
# TagRemovePreprocessor; docs/course.md). Grade handed-in notebooks, SUBMISSIONS/<student>/NN_x.ipynb,
# by running them here (no Docker, no server): a table on screen and one CSV row per student.
STUDENT     ?= student
SUBMISSIONS ?= submissions
GRADES      ?= grades.csv
student: $(STAMP)
	rm -rf $(STUDENT)
	$(BIN)/python -m spikelearn.teaching.course student tutorials/[0-9][0-9]_*.ipynb --out $(STUDENT)

grade: $(STAMP)
	$(BIN)/python -m spikelearn.teaching.course grade $(SUBMISSIONS) --reference tutorials --csv $(GRADES)

bench: $(STAMP)
	$(BIN)/python -c 'import spikingjelly' 2>/dev/null || $(BIN)/python -m pip install -q --no-deps spikingjelly loguru
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

execute: $(STAMP)
	$(BIN)/python .ci/execute_notebooks.py $(or $(NB),tutorials/[0-9][0-9]_*.ipynb)

format: $(STAMP)
	$(BIN)/ruff format spikelearn tests benchmarks docs .ci
	$(BIN)/ruff check --fix spikelearn tests benchmarks tutorials docs .ci

clean:
	rm -rf docs/_build .pytest_cache $(STUDENT)
