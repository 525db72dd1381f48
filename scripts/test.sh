#!/usr/bin/env bash
# The whole test suite: lint, format check, then every pytest suite (SQLite and PostgreSQL,
# the real Hub, the browser and container tests). Extra arguments go to pytest.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
export PATH="$here/.venv/bin:$PATH"

echo "== ruff"
ruff check . || exit 1
ruff format --check . || exit 1

echo "== pytest"
started=$(date +%s)
# The slowest tests are listed at the end: where the suite's time goes, run after run.
python -m pytest -ra -p no:cacheprovider --durations=30 "$@"
status=$?
echo "== pytest finished in $(( $(date +%s) - started )) s (exit $status)"
if [ "$status" -eq 5 ]; then
  # pytest's 5 means no test was collected: with a filter that is a mistake, say so plainly.
  echo "no tests were collected" >&2
  exit 1
fi
exit "$status"
