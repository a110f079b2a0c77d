# clvreport — analysts' entry points. `make report CLIENT=demo` and `make test` set
# themselves up on a fresh clone: they create .venv and install the project first.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
CLIENT ?=
OPTS ?=
PYTEST_ARGS ?=

.PHONY: help install install-dev system-deps report reports clients test bench lint format docs clean

help:
	@echo "make install                     create .venv and install clvreport (what a report needs)"
	@echo "make install-dev                 ... plus the dev extra (pytest, ruff, quartodoc, pyspark)"
	@echo "make report CLIENT=demo [OPTS=\"--lang en --format pdf\"]"
	@echo "make reports                     render every client in data/"
	@echo "make test | bench | lint | docs | clean"

# Two stamps in one .venv: `make report` needs only the base install (no pytest, pyspark,
# quartodoc); `make test`, lint, docs and bench add the dev extra on top of it.
install: $(STAMP)

install-dev: $(DEV_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "clvreport needs Python 3.11 or newer (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name clvreport --display-name "clvreport" >/dev/null
	@touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# Optional system tools some tests use (headless Chromium for the HTML screenshot,
# poppler's pdftoppm for page images). Installed when we are root with apt-get;
# otherwise those tests skip and say why.
system-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing chromium and poppler-utils (apt-get)"; \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				chromium poppler-utils >/dev/null) || echo "apt-get failed: browser/page-image tests will skip"; \
		else echo "chromium/pdftoppm missing and not root: browser/page-image tests will skip"; fi; \
	fi

report: install
	@if [ -z "$(CLIENT)" ]; then \
		echo "usage: make report CLIENT=<name> [OPTS=\"--lang en\"]"; $(BIN)/clvreport clients; exit 2; fi
	$(BIN)/clvreport report --client "$(CLIENT)" $(OPTS)

reports: install
	@for client in $$($(BIN)/clvreport clients --names); do \
		$(BIN)/clvreport report --client "$$client" $(OPTS) || exit $$?; done

clients: install
	@$(BIN)/clvreport clients

test: install-dev system-deps
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/bench_summary.py
	$(BIN)/python bench/bench_models.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_report.py --full
	$(BIN)/python bench/bench_report.py --sizes 6000000 --out bench/results/report_1m_customers.md
	$(BIN)/python bench/bench_report.py --engines spark --out bench/results/report_spark.md
	$(BIN)/python bench/bench_discrete.py
	$(BIN)/python bench/bench_outputs.py

lint: install-dev
	$(BIN)/ruff check clvreport tests bench
	$(BIN)/ruff format --check clvreport tests bench

docs: install-dev
	$(BIN)/python -m clvreport.docs docs
	cd docs && ../$(BIN)/quartodoc build
	$(BIN)/python -m clvreport.docs docs --check
	@if command -v quarto >/dev/null 2>&1; then cd docs && quarto render; \
	else echo "quarto not on PATH: API pages written to docs/reference/, site not rendered"; fi

clean:
	rm -rf output docs/_site docs/reference docs/.quarto .pytest_cache .ruff_cache
