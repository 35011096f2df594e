#!/usr/bin/env bash
# Installs the SDK into sdk/python/.venv (once, again when pyproject.toml changes) and runs
# its tests against real three-member clusters. Run from anywhere; needs the server built.
# Arguments go to pytest (npm test passes -q and --junitxml to count the results).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

if [ ! -f "$ROOT/dist/server/cli/cairn.js" ]; then
  (cd "$ROOT" && npx tsc -p .)
fi
cd "$HERE"
"$VENV/bin/python" -m mypy            # strict typing of the package and scenario.py
exec "$VENV/bin/python" -m pytest "$@"
