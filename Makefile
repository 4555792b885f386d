# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline on generated data
#   make test   set up, then run the fast test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEMO_OUT ?= demo-output

.PHONY: setup demo test test-slow bench clean

# PyTorch's CPU build: on the public PyPI, torch==$(TORCH_VERSION) is the CUDA build (several GB of
# nvidia-* wheels); the CPU build (+cpu) lives on PyTorch's own index. A +cpu wheel that pip already
# finds without an index (find-links: a local wheel folder) is used as is, with no network look-up;
# otherwise PyTorch's CPU index is added. TORCH_CPU_INDEX= (empty) uses pip's configuration alone.
TORCH_VERSION := $(shell sed -n 's/^torch==//p' constraints.txt)
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if [ -z "$(TORCH_CPU_INDEX)" ] || $(PY) -m pip install -q --dry-run --no-deps --no-index \
	        "torch==$(TORCH_VERSION)+cpu" 2>/dev/null; then \
	    $(PY) -m pip install -q -c constraints.txt -e ".[dev,onnx,dask]"; \
	else \
	    $(PY) -m pip install -q -c constraints.txt --extra-index-url $(TORCH_CPU_INDEX) -e ".[dev,onnx,dask]"; \
	fi
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/landslide demo --out $(DEMO_OUT) --overwrite

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info src/*.egg-info
