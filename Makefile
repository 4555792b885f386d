# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline on generated data
#   make test   set up, then run the fast test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEMO_OUT ?= demo-output
# the web map's library (npm, locked by package-lock.json), installed beside the page
WEB := src/landslide_fusion/serve/web

.PHONY: setup web demo test test-slow bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,onnx,dask]"
	touch $@

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the web map's library is not installed (landslide serve's page says so; its browser test skips)"; fi

web: $(WEB)/node_modules/.package-lock.json

setup: $(VENV)/.installed web

demo: setup
	$(VENV)/bin/landslide demo --out $(DEMO_OUT) --overwrite

test: setup
	$(PY) -m pytest -q

test-slow: setup
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info src/*.egg-info $(WEB)/node_modules
