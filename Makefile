# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline on generated data
#   make test   set up, then run the fast test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEMO_OUT ?= demo-output
# the web map's library (npm, locked by package-lock.json), installed beside the page
WEB := src/landslide_fusion/serve/web

.PHONY: setup system web demo test test-slow bench clean

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

$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the web map's library is not installed (landslide serve's page says so; its browser test skips)"; fi

web: $(WEB)/node_modules/.package-lock.json

setup: $(VENV)/.installed web

# Debian's packages some tests use, installed when missing (idempotent; each such test skips naming
# what it lacks where they cannot be installed): PostgreSQL + PostGIS for the STAC API backed by a
# database (tests/stac_api.py) and the jobs database of `landslide serve`, chromium for the web map's
# browser test, npm for the map library (`web` runs npm ci). Without root or apt-get it says so.
system:
	@need=""; \
	ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need="$$need postgresql"; \
	command -v chromium >/dev/null 2>&1 || need="$$need chromium"; \
	command -v npm >/dev/null 2>&1 || need="$$need npm"; \
	[ -n "$$need" ] || exit 0; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "note: not root with apt-get, so$$need stay missing: the tests that need them skip"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends $$need >/dev/null && \
	if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then \
		v=$$(ls /usr/lib/postgresql | sort -V | tail -n 1) && \
		apt-get install -y -qq --no-install-recommends postgresql-$$v-postgis-3 >/dev/null; fi

demo: setup
	$(VENV)/bin/landslide demo --out $(DEMO_OUT) --overwrite

test: system setup
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m pytest -q

test-slow: system setup
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info src/*.egg-info $(WEB)/node_modules
