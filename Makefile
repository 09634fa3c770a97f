# greenai — the front door. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help setup test test-gpu reproduce report measure lab benchmarks benchmarks-gpu clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[notebooks,dev,lightning,hf,timm]'
	touch $(STAMP)

setup: $(STAMP) ## create .venv and install greenai with the notebook, test, Lightning, Hugging Face and timm extras (their callbacks and models are tested)

test: $(STAMP) ## run the test suite (CPU; GPU tests are skipped)
	$(PY) -m pytest -q

test-gpu: $(STAMP) ## run only the tests that need an NVIDIA GPU
	$(PY) -m pytest -q -m gpu

reproduce: $(STAMP) ## re-execute every notebook on the recorded results (no GPU needed)
	$(PY) -m greenai reproduce

report: $(STAMP) ## render the executed notebooks and the claims table as a static HTML site: results/report/index.html
	$(PY) -m greenai.report

measure: $(STAMP) ## on a GPU: run the measurement campaign into results/raw/ (GPUS=all: every local GPU; SCHEDULER=ADDR: a Dask cluster)
	$(PY) -m greenai.campaign $(if $(GPUS),--gpus $(GPUS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

benchmarks: $(STAMP) ## CPU benchmarks: dispatch sweep naive MILP (sampled, ~4 min) vs final, and every solve of notebook 08, into results/benchmarks/
	$(PY) benchmarks/dispatch_sweep.py && $(PY) benchmarks/dispatch_notebook.py

benchmarks-gpu: $(STAMP) ## on a GPU: measurement methods + meter overhead + data pipeline into results/
	$(PY) benchmarks/measurement_methods.py && $(PY) benchmarks/meter_overhead.py && $(PY) benchmarks/data_pipeline.py
	$(PY) benchmarks/meter_overhead.py --suite nonblocking && $(PY) benchmarks/callbacks_gpu.py

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

clean: ## remove what is regenerated and not committed: notebooks/*.ipynb, results/report/, caches (keeps .venv, data/, results/)
	rm -rf notebooks/*.ipynb notebooks/.ipynb_checkpoints results/report .pytest_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
