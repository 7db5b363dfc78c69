# vireid — the two commands of the README, plus a few helpers.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint benchmarks notebooks checkpoints clean-venv

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; set PYTHON=/path/to/python3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m vireid_core demo

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
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
