# vireid — the two commands of the README, plus a few helpers.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint benchmarks notebooks checkpoints clean-venv browser-deps lab

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m vireid_core demo

test: $(STAMP) browser-deps
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	VIREID_BROWSER_TEST=1 $(PY) -m pytest

# Headless Chromium and its driver for tests/test_browser.py (Debian packages; skipped when present).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser-deps:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium chromium-driver; \
	else echo "error: tests/test_browser.py needs /usr/bin/chromium and /usr/bin/chromedriver (Debian: chromium, chromium-driver)" >&2; exit 1; fi

# The notebooks live in JupyterLab, with a fresh workspace each launch (tabs of an earlier session, and
# kernels for them, do not come back).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks --LabApp.workspaces_dir="$$(mktemp -d)" \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

# Re-train (or reuse the cached run of) synthvi-cpu and rewrite the shipped models in models/synthvi/.
checkpoints: $(STAMP)
	$(PY) -m vireid_core checkpoints --preset synthvi-cpu

benchmarks: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

# Re-run every notebook headless with its default parameters (writes figures/ and *_numbers.json).
notebooks: $(STAMP)
	mkdir -p runs/notebooks
	for nb in 01_modality_bias 02_distance_rectification 03_training 04_evaluation; do \
	  timeout 1800 $(VENV)/bin/papermill notebooks/$$nb.ipynb runs/notebooks/$$nb.ipynb --cwd notebooks \
	    --execution-timeout 1200 -k python3 || exit 1; \
	done

clean-venv:
	rm -rf $(VENV)
