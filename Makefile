# citebot: `make run` answers questions (terminal, or Discord with DISCORD_TOKEN); `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch is installed first so that sentence-transformers does not pull a CUDA build.
# Override on other machines, e.g. `make setup TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.citebot-setup

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)"
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

run: setup
	$(VENV)/bin/citebot run

test: setup
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .citebot .pytest_cache
