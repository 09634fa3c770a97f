# greenai — the front door. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
comma  := ,

.DEFAULT_GOAL := help
.PHONY: help setup lock test test-gpu reproduce reproduce-check report measure lab benchmarks benchmarks-gpu clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-16s %s\n", $$1, $$2}'

# The lock: every package and version (with hashes) of the environment the committed outputs were made in,
# resolved for CPython 3.11 on x86_64 Linux. Elsewhere pyproject.toml's ranges are installed instead (with a
# note): the notebooks run, but the last digits of some outputs may differ from the committed ones.
LOCK     := requirements.lock
PLATFORM := $(shell $(PYTHON) -c 'import platform, sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}-{sys.platform}-{platform.machine()}")')
EXTRAS   := notebooks,dev,lightning,hf,timm,pytorchcv,vitpytorch,mmpretrain,monai

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv --clear $(VENV)
	$(PY) -m pip install -q pip==26.3
ifeq ($(PLATFORM),3.11-linux-x86_64)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
else
	@echo "note: $(LOCK) is for CPython 3.11 on x86_64 Linux (this is $(PLATFORM)): installing pyproject.toml's ranges"
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
endif
	touch $(STAMP)

lock: ## re-resolve requirements.lock from pyproject.toml (needs the package index; then make reproduce and commit both)
	$(PYTHON) -m pip install -q --target .lock-tools uv==0.13.9
	PYTHONPATH=.lock-tools $(PYTHON) -m uv pip compile pyproject.toml $(foreach e,$(subst $(comma), ,$(EXTRAS)),--extra $(e)) \
		--python-version 3.11 --python-platform x86_64-manylinux_2_28 --generate-hashes -o $(LOCK)

setup: $(STAMP) ## create .venv from requirements.lock and install greenai with the notebook, test, Lightning, Hugging Face, timm, pytorchcv, vit-pytorch, mmpretrain and MONAI extras (their callbacks and models are tested)

test: $(STAMP) ## run the test suite (CPU; GPU tests are skipped)
	$(PY) -m pytest -q

test-gpu: $(STAMP) ## run only the tests that need an NVIDIA GPU
	$(PY) -m pytest -q -m gpu

reproduce: $(STAMP) ## re-execute every notebook on the recorded results (no GPU needed)
	$(PY) -m greenai reproduce

reproduce-check: $(STAMP) ## re-execute every notebook, then fail if an output differs from the committed one (beyond the volatile fields)
	$(PY) -m greenai reproduce --check

report: $(STAMP) ## render the executed notebooks and the claims table as a static HTML site: results/report/index.html
	$(PY) -m greenai.report

measure: $(STAMP) ## on a GPU: run the measurement campaign into results/raw/ (GPUS=all: every local GPU; SCHEDULER=ADDR: a Dask cluster)
	$(PY) -m greenai.campaign $(if $(GPUS),--gpus $(GPUS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

benchmarks: $(STAMP) ## CPU benchmarks: dispatch sweep naive MILP (sampled, ~4 min) vs final, every solve of notebook 08, the recorded convolutions' speed by shape (~3 min) and the prediction fits (~1 min), into results/benchmarks/
	$(PY) benchmarks/dispatch_sweep.py && $(PY) benchmarks/dispatch_notebook.py && $(PY) benchmarks/convolution_speed.py
	$(PY) benchmarks/prediction_fits.py

benchmarks-gpu: $(STAMP) ## on a GPU: measurement methods + meter overhead + data pipeline + norm widths into results/
	$(PY) benchmarks/measurement_methods.py && $(PY) benchmarks/meter_overhead.py && $(PY) benchmarks/data_pipeline.py
	$(PY) benchmarks/meter_overhead.py --suite nonblocking && $(PY) benchmarks/callbacks_gpu.py
	$(PY) benchmarks/norm_width.py

lab: $(STAMP) ## open JupyterLab on the notebooks
	$(VENV)/bin/jupyter lab notebooks/

clean: ## remove what is regenerated and not committed: notebooks/*.ipynb, results/report/, caches (keeps .venv, data/, results/)
	rm -rf notebooks/*.ipynb notebooks/.ipynb_checkpoints results/report .pytest_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
