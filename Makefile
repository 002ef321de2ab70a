# citebot: `make run` answers questions (terminal, or Discord with DISCORD_TOKEN); `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch is installed first so that sentence-transformers does not pull a CUDA build.
# Override on other machines, e.g. `make setup TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"`.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.citebot-setup
# Every other package at the version the figures in bench/RESULTS.md were measured with; `make lock` refreshes it.
LOCK := requirements.lock
# Bytecode for our packages, written even where PYTHONDONTWRITEBYTECODE is set: without it every cold
# `citebot ask` compiles 40 modules from source first (0.2 s of its 0.9 s; bench/RESULTS.md, issue 11).
COMPILE := $(VENV)/bin/python -m compileall -q bot embeddings knowledge

.PHONY: setup run test bench lock clean

setup: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet "$(TORCH_SPEC)"
	$(VENV)/bin/python -m pip install --quiet -c $(LOCK) -e ".[test]"
	# The model fine-tuned on the bundled train questions, and its ONNX export, made now so that no answer
	# waits for them (and no answer imports torch).
	$(VENV)/bin/citebot prepare
	$(COMPILE)
	@touch $(STAMP)

# Resolve the newest versions pyproject.toml allows in a scratch virtualenv and pin them all in $(LOCK).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet "$(TORCH_SPEC)"
	.lock-venv/bin/python -m pip install --quiet -e ".[test]"
	{ echo "# Constraints for \`make setup\` (pip install -c): the versions bench/RESULTS.md was measured with."; \
	  echo "# Refresh with \`make lock\`, then re-run the benchmarks. torch comes from TORCH_SPEC in the Makefile."; \
	  .lock-venv/bin/python -m pip freeze --exclude-editable | grep -v -i -E '^(torch|pip|setuptools)=='; } > $(LOCK)
	rm -rf .lock-venv

run: setup
	@$(COMPILE)
	$(VENV)/bin/citebot run

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .citebot .pytest_cache
