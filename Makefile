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

# The quickstart's runs are computed first by the sweep its notebook runs, so the terminal shows each run's
# distillation and evaluation bars (papermill shows only its cell counter); the notebook reads them back.
demo: setup
	mkdir -p outputs/00_quickstart
	$(VENV)/bin/cobra-lab sweep params/00_quickstart.yaml
	$(PY) -m papermill notebooks/00_quickstart.ipynb outputs/00_quickstart/00_quickstart.ipynb -k cobra-lab
	@echo "executed notebook and figures: outputs/00_quickstart/"

# The tests use Debian's Fashion-MNIST: installed first where we may (root, apt-get); elsewhere its tests skip.
test: setup
	@if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) \
			|| echo "could not install dataset-fashion-mnist: the tests that need it skip"; fi
	$(PY) -m pytest -q

# As root (containers) Jupyter needs --allow-root; the URL to open, token included, is printed first.
LAB_IP ?= 127.0.0.1
LAB_PORT ?= 8888
lab: setup
	@token=$$($(PY) -c 'import secrets; print(secrets.token_hex(16))'); \
	echo "JupyterLab: open http://$(LAB_IP):$(LAB_PORT)/lab?token=$$token"; \
	exec $(VENV)/bin/jupyter lab notebooks/ --no-browser --ip=$(LAB_IP) --port=$(LAB_PORT) \
		--ServerApp.port_retries=0 --IdentityProvider.token=$$token $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean-outputs:
	find outputs -mindepth 1 -not -name README.md -not -name .gitignore -delete
