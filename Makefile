# SPDX-License-Identifier: Apache-2.0
.PHONY: help demo test bench bench-load vectors lock

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

demo:  ## Install from the lock file, then start Sceau's demo.
	@scripts/bootstrap
	.venv/bin/sceau demo

test:  ## Install from the lock file, then lint, type-check and run every test.
	scripts/test

bench:  ## Run the benchmarks and print their figures.
	@scripts/bootstrap
	.venv/bin/python bench/core.py

bench-load:  ## Load benchmark: whole validations on SQLite, PostgreSQL, 2 nodes; 10 000 streams.
	@scripts/bootstrap
	@scripts/system-packages
	.venv/bin/python bench/validations.py --config sqlite --levels 1,16,64 --rate half
	.venv/bin/python bench/validations.py --config postgres --levels 1,16,64 --rate half
	.venv/bin/python bench/validations.py --config cluster --levels 1,16,64 --rate half
	.venv/bin/python bench/validations.py --config sqlite --streams 10000

vectors:  ## Regenerate Sceau's own protocol test vectors.
	@scripts/bootstrap
	.venv/bin/python scripts/make_vectors.py

lock:  ## Refresh uv.lock after a dependency change.
	@scripts/bootstrap
	UV_PYTHON_DOWNLOADS=never .tools/bin/uv lock
