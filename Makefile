# Two commands do everything on a fresh machine:
#   make demo   set up, then run the whole pipeline on generated data
#   make test   set up, then run the fast test suite
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEMO_OUT ?= demo-output

.PHONY: setup postgres demo test test-slow bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev,onnx,dask]"
	touch $@

setup: $(VENV)/.installed

# PostgreSQL + PostGIS from Debian's packages, for the tests on a STAC API backed by a database
# (tests/stac_api.py starts its own server in a temporary folder). Idempotent: nothing happens when
# PostGIS is installed; without root or apt-get it says so and those tests skip, naming the reason.
postgres:
	@if ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "note: PostgreSQL/PostGIS are not installed and this is not root with apt-get:" \
		     "the database-backed STAC API tests will skip"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null && \
	v=$$(ls /usr/lib/postgresql | sort -V | tail -n 1) && \
	apt-get install -y -qq --no-install-recommends postgresql-$$v-postgis-3 >/dev/null

demo: setup
	$(VENV)/bin/landslide demo --out $(DEMO_OUT) --overwrite

test: setup postgres
	$(PY) -m pytest -q

test-slow: setup postgres
	$(PY) -m pytest -q -m slow

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info src/*.egg-info
