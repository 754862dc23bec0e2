# The two commands a user needs: `make demo` and `make test`. Both build ./.venv first if it is
# missing or older than pyproject.toml.
PY ?= python3.10
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PY) >/dev/null 2>&1 || { echo "error: $(PY) not found; install Python 3.10 (pyenv: the repo's .python-version asks for 3.10.13)" >&2; exit 2; }
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip setuptools wheel
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/python examples/demo.py

# One pytest worker per CPU (pytest-xdist); a test module stays on one worker so its fixtures are built once.
# First the emulator kernel's four signatures, compiled in parallel processes into numba's cache (warm.py): the
# workers then load them instead of waiting for each other's compiles.
test: setup
	$(VENV)/bin/python -m neurocomp.backends.emulator.warm
	$(VENV)/bin/python -m pytest -x -p no:cacheprovider -n auto --dist loadscope --durations=15

bench: setup
	$(VENV)/bin/python -m pip install -q -e '.[dev,bench]'

clean:
	rm -rf $(VENV) build *.egg-info
