#!/bin/sh
# Runs the Python client's tests (tests/python) with Debian's python3 and the pytest and mypy that
# scripts/install-deps.sh installs for it (the offline venv install uses Debian's setuptools wheel,
# which only Debian's python3 can run); another python3 >= 3.11 with pytest is the fallback.
# pytest's last line is its summary ("N passed, M failed in Xs"); .ci/run adds it to the count.
set -u
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
for py in /usr/bin/python3 python3; do
  if "$py" -c 'import pytest, sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    exec "$py" -m pytest -q -p no:cacheprovider tests/python "$@"
  fi
done
echo "pytest.sh: no python3 >= 3.11 with pytest found; run scripts/install-deps.sh (python3-pytest)" >&2
exit 1
