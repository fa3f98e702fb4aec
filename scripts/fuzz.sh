#!/usr/bin/env bash
# Runs every fuzz target of the module for the given time (default 10s).
# A fuzz target is a `func FuzzXxx(f *testing.F)` in a _test.go file; the
# package is found from the file's directory.
set -euo pipefail
fuzztime=${1:-10s}
cd "$(dirname "$0")/.."
status=0
while IFS=: read -r file name; do
  pkg="./$(dirname "$file")"
  echo "fuzz $pkg $name for $fuzztime"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
    status=1
  fi
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //; s|^\./||' | sort -u)
exit $status
