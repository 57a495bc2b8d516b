# The two quick-start commands (make demo, make test) set themselves up:
# a .venv with the pinned dependency set from constraints.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The example code location and the demo live outside the package, in examples/dot_demo.
EXAMPLE := PYTHONPATH=examples

.PHONY: demo test lint dev emulator confluence-emulator bench clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(EXAMPLE) $(PY) -m dot_demo.demo

test: $(STAMP)
	$(PY) -m ruff check dot_orchestration examples/dot_demo tests bench
	$(PY) -m mypy
	$(PY) -m pytest

dev: $(STAMP)
	$(EXAMPLE) $(PY) -m dot_demo.dev

emulator: $(STAMP)
	$(VENV)/bin/dot-orchestration emulator --port 8765

confluence-emulator: $(STAMP)
	$(VENV)/bin/dot-orchestration confluence-emulator --port 8766

bench: $(STAMP)
	for script in bench/bench_*.py; do $(PY) $$script || exit 1; done

# Regenerate the pinned set after changing pyproject.toml's dependencies; run it on a fresh
# .venv (make clean first), or packages nothing requires any more stay pinned.
lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .dagster_home build *.egg-info
