# Developer and CI entry points. Tools live in cached venvs (see .ci/venv.sh), so the
# first run of a target builds what it needs and later runs start at once.
SHELL := /bin/bash

.PHONY: help test test-fast venv demo bench clean clean-venvs

help:
	@echo "make test        every test and CI gate (what .ci/run runs): build, galaxy-importer,"
	@echo "                 sanity and units on ansible-core 2.18-2.21, integration, ansible-lint,"
	@echo "                 docs lint, changelog lint, action group and version checks, EE"
	@echo "make test-fast   units and integration on the tools venv only (dev loop)"
	@echo "make venv        build the tools venv and print its path"
	@echo "make demo        the demo against the bundled simulator"
	@echo "make bench       the benchmark against the simulator (10-15 min; docs/benchmark.md)"
	@echo "make clean       remove test output and caches from the checkout"
	@echo "make clean-venvs remove this collection's cached venvs"
	@echo "one gate:        .ci/gates.sh list; .ci/gates.sh sanity 2.21; .ci/gates.sh ansible-lint"

test:
	.ci/gates.sh

test-fast:
	.ci/gates.sh fast

venv:
	.ci/venv.sh tools

demo:
	bash scripts/demo.sh

bench:
	python3 bench/run_bench.py $(BENCH_ARGS)

clean:
	rm -rf tests/output .pytest_cache .ansible bench/results tests/integration/inventory \
		tests/integration/integration_config.yml hostup-cloud-*.tar.gz
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +

clean-venvs:
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/hostup-cloud/venvs"
