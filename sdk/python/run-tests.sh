#!/usr/bin/env bash
# Installs the SDK into sdk/python/.venv (once, again when pyproject.toml changes) and runs
# its tests against real three-member clusters. Run from anywhere; needs the server built.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -f "$ROOT/dist/server/cli/cairn.js" ]; then
  (cd "$ROOT" && npx tsc -p .)
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.installed"
if [ ! -f "$STAMP" ] || [ "$HERE/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$HERE[test]"
  touch "$STAMP"
fi
cd "$HERE"
"$VENV/bin/python" -m mypy            # strict typing of the package and scenario.py
exec "$VENV/bin/python" -m pytest "$@"
