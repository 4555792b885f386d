# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline on generated data
#   make test   set up, then run the fast test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEMO_OUT ?= demo-output

.PHONY: setup demo test test-slow bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,onnx,dask]"
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
