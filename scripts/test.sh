#!/bin/sh
# The project's test command (npm test = deno task test): the Deno suite, then the Python client's
# pytest suite. Both always run; the exit code is non-zero when either failed.
cd "$(dirname "$0")/.."
./node_modules/.bin/deno test -A --parallel tests/
deno_rc=$?
scripts/pytest.sh
py_rc=$?
[ "$deno_rc" = 0 ] && [ "$py_rc" = 0 ]
