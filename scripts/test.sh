#!/usr/bin/env bash
# Install benchroute with its dev tools and run every check: lint, format, types, tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "==> ruff check"
.venv/bin/ruff check src tests benchmarks
echo "==> ruff format --check"
.venv/bin/ruff format --check src tests benchmarks
echo "==> mypy"
.venv/bin/mypy
echo "==> import contract (.importlinter: the rule of direction)"
.venv/bin/lint-imports --no-cache
# The embedded-model tests (marker local_model) run in a pytest process of their own: in one
# process with the ~1,700 other tests, llama.cpp's first Gemma decode crashed the interpreter
# (SIGSEGV) on some runs, never in a fresh process (see docs/testing.md). Arguments given
# (a file, -k ...) run as one pytest invocation.
run_pytest() {
  set +e
  .venv/bin/python -m pytest "$@"
  local status=$?
  set -e
  if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests ($*)" >&2
    return 1
  fi
  return "$status"
}
if [ "$#" -gt 0 ]; then
  echo "==> pytest $*"
  run_pytest "$@"
  exit $?
fi
echo "==> pytest (all but the embedded-model tests)"
status=0
run_pytest -m "not local_model" || status=$?
echo "==> pytest (the embedded-model tests, in a fresh process)"
run_pytest -m local_model || status=$?
exit "$status"
