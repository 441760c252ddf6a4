# The two commands of the README: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Use the local CPU wheel of torch when this machine has one (see constraints-local-cpu.txt).
LOCAL_TORCH := $(wildcard /opt/wheels/torch-2.13.0+cpu-*.whl)
CONSTRAINTS := $(if $(LOCAL_TORCH),-c constraints-local-cpu.txt,)
OUT ?= gaitsae-demo

.PHONY: setup demo test bench clean

$(BIN)/gaitsae: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(CONSTRAINTS) -e '.[dev,ray]'
	touch $@

setup: $(BIN)/gaitsae

demo: setup
	$(BIN)/gaitsae demo --out $(OUT)

# Two pytest-xdist workers (one torch/BLAS thread each, tests/conftest.py); tests sharing an
# expensive fixture stay on one worker (loadgroup). Single process: .venv/bin/python -m pytest -n 0
test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

bench: setup
	$(BIN)/python benchmarks/run.py --quick
	$(BIN)/python benchmarks/gaitrec_workflow.py --quick

clean:
	rm -rf $(VENV) $(OUT)
