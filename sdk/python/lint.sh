#!/usr/bin/env bash
# Lints the Python SDK with ruff (pinned in pyproject.toml; installed into .venv like the
# test tools): `ruff check` and `ruff format --check`. ./lint.sh --fix fixes what it can.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
cd "$HERE"
if [ "${1:-}" = "--fix" ]; then
  "$VENV/bin/ruff" format .
  exec "$VENV/bin/ruff" check --fix .
fi
status=0
"$VENV/bin/ruff" check . || status=1
"$VENV/bin/ruff" format --check . || status=1
exit $status
