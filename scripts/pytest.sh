#!/bin/sh
# Runs the Python client's tests (tests/python) with a python3 that has pytest: Debian's
# python3-pytest from scripts/install-deps.sh (a pyenv or venv python3 earlier on PATH may lack it).
# pytest's last line is its summary ("N passed, M failed in Xs"); .ci/run adds it to the count.
set -u
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import pytest, sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    exec "$py" -m pytest -q -p no:cacheprovider tests/python "$@"
  fi
done
echo "pytest.sh: no python3 >= 3.11 with pytest found; run scripts/install-deps.sh (python3-pytest)" >&2
exit 1
