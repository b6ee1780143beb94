#!/usr/bin/env bash
# The layering check passes on the tree and fails on a copy with one forbidden include.
set -euo pipefail
SRC="$1"
bash "$SRC/scripts/check_layering.sh" "$SRC"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/resolver" "$tmp/store" "$tmp/cli"
echo '#include "store/local/local_store.h"' > "$tmp/resolver/bad.cc"
if bash "$SRC/scripts/check_layering.sh" "$tmp" >/dev/null; then
  echo "layering check accepted resolver -> store"; exit 1
fi
rm "$tmp/resolver/bad.cc"; echo '#include <sqlite3.h>' > "$tmp/cli/bad.cc"
if bash "$SRC/scripts/check_layering.sh" "$tmp" >/dev/null; then
  echo "layering check accepted sqlite3.h in cli"; exit 1
fi
echo "layering test: ok"
