# The two commands: `make run` and `make test`. Everything they need is installed by them.
.PHONY: run test lint format bench screenshots reset-demo

VENV := .venv
PY := $(VENV)/bin/python
NEONCTL_DIR := tests/emulator/npm
AXE_DIR := tests/browser/npm

run:
	@scripts/bootstrap requirements.txt
	@$(PY) scripts/run.py

# The demo's data, both halves: the emulator's account (var/demo/) and the dashboard's SQLite.
reset-demo:
	rm -rf var/demo db.sqlite3 db.sqlite3-wal db.sqlite3-shm
	@echo "The next 'make run' starts the demo from its seed."

test:
	@scripts/bootstrap requirements-dev.txt
	@if [ -f $(NEONCTL_DIR)/package-lock.json ]; then npm ci --silent --no-audit --no-fund --prefix $(NEONCTL_DIR); fi
	@npm ci --silent --no-audit --no-fund --prefix $(AXE_DIR)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

lint:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Issue 9's table, in a few minutes: `make bench BENCH_ARGS="--quick"` for a smoke run, or
# e.g. BENCH_ARGS="--only pages,fragment --drill-seconds 30" (see --help).
# The fleet at scale: 50,000 projects by default (minutes); FLEET_ARGS="--seed 1000000
# --bulk 10000 --policy policy/example-policy.yaml" for the million-project run (about 35
# minutes on 2 cores).
FLEET_ARGS ?= --seed 50000 --bulk 10000 --policy policy/example-policy.yaml
bench:
	@scripts/bootstrap requirements-dev.txt
	$(PY) -m benchmarks.dashboard_bench $(BENCH_ARGS)
	$(PY) -m neon_emulator.bench
	$(PY) -m benchmarks.fleet_bench $(FLEET_ARGS)

screenshots:
	@echo "Start the app with 'make run' first; this signs in as demo and writes docs/screenshots/."
	$(PY) scripts/screenshots.py http://127.0.0.1:$${PORT:-8000}
