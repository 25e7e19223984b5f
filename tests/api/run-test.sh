#!/bin/sh
# tests/api/run-test.sh — automake's LOG_COMPILER for tests/api/test_*.py:
# runs one test file with python3 so that it can `import ogtest` (this
# directory, the source dir also in VPATH builds) and prints its TAP unbuffered.
# Not for: choosing which tests run (Makefile.am's TESTS does that).
here=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1
PYTHONUNBUFFERED=1
export PYTHONPATH PYTHONDONTWRITEBYTECODE PYTHONUNBUFFERED
exec python3 "$@"
