PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test typecheck fuzz bench install clean chromium

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) -m compileall -q core schemas    # bytecode, as a wheel install has it (also under PYTHONDONTWRITEBYTECODE)
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/edubalance demo

# The HTML report is tested in headless Chromium, with CJK fonts for its screenshots.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium and fonts-noto-cjk (for the HTML report test)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

# mypy reads the package as installed (edubalance is core/ with schemas/ inside, see setup.cfg),
# so it checks a tree of links laid out that way; errors name the files by their link paths.
TYPECHECK := build/typecheck
typecheck: $(STAMP)
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/edubalance
	ln -s "$(CURDIR)"/core/* $(TYPECHECK)/edubalance/
	ln -s "$(CURDIR)/schemas" $(TYPECHECK)/edubalance/schemas
	$(VENV)/bin/mypy

test: $(STAMP) chromium
	$(VENV)/bin/ruff check .
	$(MAKE) --no-print-directory typecheck
	$(PY) -m pytest -q

#: The seeded mutation fuzzer for FUZZ_SECONDS (failing cases are saved in fuzz-failures/).
FUZZ_SECONDS ?= 600
FUZZ_SEED ?= 1
fuzz: $(STAMP)
	$(PY) tests/fuzz.py --seconds $(FUZZ_SECONDS) --seed $(FUZZ_SEED) --out fuzz-failures

bench: $(STAMP)
	$(PY) benchmarks/run.py
	$(PY) benchmarks/service.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache
