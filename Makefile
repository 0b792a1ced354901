# Shortcuts for the scripts in scripts/ (the README has the details).
#   make run              install, migrate, seed and serve on http://127.0.0.1:8000
#   make test             the whole suite: lint, checks, pytest on SQLite and PostgreSQL
#   make test ARGS="-k admin"   extra pytest arguments
#   make lint             ruff check and ruff format --check only
#   make bench            the benchmarks (scripts/bench)

.PHONY: run test lint bench

ARGS ?=

run:
	./scripts/run $(ARGS)

test:
	./scripts/test $(ARGS)

lint:
	./scripts/ensure-venv requirements-dev.txt
	.venv/bin/python -m ruff check .
	.venv/bin/python -m ruff format --check .

bench:
	@if [ -x scripts/bench ]; then ./scripts/bench $(ARGS); \
	else echo "make bench: scripts/bench does not exist yet; there are no benchmarks to run." >&2; exit 1; fi
