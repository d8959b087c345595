# One command to set up and run the quickstart (make demo), one to set up and run the tests (make test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cobra-lab-installed

.PHONY: setup demo test lab clean-outputs

# The kernel is (re)registered on every call: a user-level kernel is shared by every checkout, so another
# checkout's set-up (a CI clone, say) may have pointed it at its own .venv since this one was installed.
setup: $(STAMP)
	$(PY) -m ipykernel install --user --name cobra-lab --display-name "cobra-lab" >/dev/null

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: setup
	mkdir -p outputs/00_quickstart
	$(PY) -m papermill notebooks/00_quickstart.ipynb outputs/00_quickstart/00_quickstart.ipynb -k cobra-lab
	@echo "executed notebook and figures: outputs/00_quickstart/"

test: setup
	$(PY) -m pytest -q

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean-outputs:
	find outputs -mindepth 1 -not -name README.md -not -name .gitignore -delete
