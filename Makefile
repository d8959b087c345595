# One command to set up and run the quickstart (make demo), one to set up and run the tests (make test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cobra-lab-installed

.PHONY: setup demo test lab clean-outputs

# The `cobra-lab` kernel lives in this checkout's .venv (--sys-prefix), so other checkouts (a CI clone, say)
# cannot repoint it. Jupyter looks in the user folder first: a user-level cobra-lab kernel left by an earlier
# set-up (it runs some checkout's .venv python) is removed so that it cannot shadow this one.
USER_KERNEL := $(HOME)/.local/share/jupyter/kernels/cobra-lab
setup: $(STAMP)
	@if grep -qs '/.venv/bin/python' $(USER_KERNEL)/kernel.json; then rm -r $(USER_KERNEL); fi
	$(PY) -m ipykernel install --sys-prefix --name cobra-lab --display-name "cobra-lab" >/dev/null

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,ray]'
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
