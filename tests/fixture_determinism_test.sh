#!/bin/bash
# The fixture generators are deterministic: regenerating into a temporary directory gives
# byte-identical channels and index (same sha256 for every file) as the build's fixtures.
# usage: fixture_determinism_test.sh SOURCE_DIR FIXTURES_DIR
set -euo pipefail
SRC=${1:?usage: fixture_determinism_test.sh SOURCE_DIR FIXTURES_DIR}
FX=${2:?usage: fixture_determinism_test.sh SOURCE_DIR FIXTURES_DIR}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fixture-det.XXXXXX")
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 "$SRC/fixtures/make_channel.py" "$T" 2>/dev/null
/usr/bin/python3 "$SRC/fixtures/make_pypi.py" "$T" 2>/dev/null
sums() { (cd "$1" && find channel channel-unsafe channel-broken pypi pypi-broken -type f | LC_ALL=C sort | xargs sha256sum); }
if ! diff <(sums "$FX") <(sums "$T") >"$T.diff"; then
  echo "FAIL: regenerated fixtures differ from $FX:" >&2
  head -20 "$T.diff" >&2
  rm -f "$T.diff"
  exit 1
fi
rm -f "$T.diff"
echo "ok: $(sums "$T" | wc -l) generated files are byte-identical across runs"
