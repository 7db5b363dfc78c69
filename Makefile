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

# Re-run every notebook headless with its default parameters: they write figures/ and figures/*_numbers.json
# (the default-parameter rule of vireid_core.output_paths.notebook_output) and their executed copies, with
# every output, into notebooks/executed/ (read before running; 10 MB in all at most). Each run goes into
# runs/notebooks/ first and replaces its executed copy only when it finished, so a failed or timed-out
# notebook leaves the previous copy; the others still run, and the target fails at the end naming it.
NB_TIMEOUT ?= 900
NOTEBOOKS  := 01_modality_bias 02_distance_rectification 03_training 04_evaluation
notebooks: $(STAMP)
	@mkdir -p runs/notebooks notebooks/executed
	@failed=""; for nb in $(NOTEBOOKS); do \
	  echo "notebook $$nb"; start=$$(date +%s); \
	  if timeout $(NB_TIMEOUT) $(VENV)/bin/papermill notebooks/$$nb.ipynb runs/notebooks/$$nb.ipynb --cwd notebooks \
	      --execution-timeout 600 -k python3 --no-progress-bar; then \
	    cp runs/notebooks/$$nb.ipynb notebooks/executed/$$nb.ipynb; \
	    echo "notebook $$nb: $$(( $$(date +%s) - start )) s"; \
	  else failed="$$failed $$nb"; fi; \
	done; \
	size=$$(cat notebooks/executed/*.ipynb | wc -c); echo "notebooks/executed/: $$size bytes"; \
	if [ "$$size" -gt 10485760 ]; then echo "error: notebooks/executed/ exceeds 10 MB" >&2; exit 1; fi; \
	if [ -n "$$failed" ]; then echo "error: failed or timed out:$$failed (see runs/notebooks/)" >&2; exit 1; fi

clean-venv:
	rm -rf $(VENV)
