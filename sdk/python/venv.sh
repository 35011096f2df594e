# Sourced by run-tests.sh and lint.sh: makes sdk/python/.venv with the SDK and its test
# tools installed (once, and again when pyproject.toml or VERSION changes), after laying the
# generated stubs into the package (prepare_package.py). Sets HERE, ROOT, VENV.
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
# The generated stubs and the version, laid into the package (cheap; every time, so a
# regenerated gen/python or a new VERSION is always what the tests import).
"$PYTHON" "$HERE/prepare_package.py" >/dev/null
STAMP="$VENV/.installed"
if [ ! -f "$STAMP" ] || [ "$HERE/pyproject.toml" -nt "$STAMP" ] || [ "$ROOT/VERSION" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$HERE[test]"
  touch "$STAMP"
fi
