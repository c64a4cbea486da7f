# The commands a user runs; each installs the locked environment (.venv) first if needed.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install test demo

install:
	bash scripts/install.sh

test: install
	$(PY) -m pytest -q

demo: install
	bash scripts/demo.sh
