# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test install system-packages bench fixtures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

system-packages:
	./scripts/install-system-packages.sh

# guichet's whole job on local mail servers (Dovecot, SMTP on 127.0.0.1) through a simulated
# season; leaves the applicants' mails, the digests and the export in demo-out/.
demo: system-packages install
	$(BIN)/python scripts/demo.py

# The whole suite, from a fresh clone; pytest's "no tests collected" (5) is a failure.
test: system-packages install
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

# Figures the issues ask for (speed, memory); not part of the test suite.
bench: install
	$(BIN)/python -m bench

# Regenerate the dossier fixtures (needs LibreOffice for the PDF exports).
fixtures: system-packages install
	$(BIN)/python tests/fixtures/build_dossiers.py --pdf

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo-out test-artifacts
