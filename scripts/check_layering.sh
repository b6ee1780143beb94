#!/usr/bin/env bash
# Fails on an include that breaks ARCHITECTURE.md's layering:
#   resolver and store never include each other; nothing below cli includes cli/;
#   src/ (core) includes only src/ (platform code only from cli); curl only in src/platform;
#   sqlite3.h and archive.h only in store/.
set -uo pipefail
cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}"
fail=0
check() {  # check <description> <grep -rnE args...>
  local what="$1"; shift
  local hits
  hits=$(grep -rnE "$@" 2>/dev/null || true)
  if [ -n "$hits" ]; then
    echo "layering violation: $what"
    echo "$hits" | sed 's/^/  /'
    fail=1
  fi
}
check "resolver/ includes store/" '#include *"store/' resolver
check "store/ includes resolver/" '#include *"resolver/' store
check "src|resolver|store include cli/" '#include *"cli/' src resolver store
check "core (src/ outside platform) includes resolver|store|platform" \
  '#include *"(resolver|store|src/platform)/' --exclude-dir=platform src
check "resolver|store include src/platform (only cli composes real implementations)" \
  '#include *"src/platform/' --include='*.h' --include='*.cc' --exclude='*_test.cc' resolver store
check "curl included outside src/platform" '#include *<curl/' --exclude-dir=platform src resolver store cli
check "sqlite3.h included outside store/" '#include *<sqlite3.h>' src resolver cli
check "archive.h included outside store/" '#include *<archive(_entry)?.h>' src resolver cli
if [ $fail = 0 ]; then echo "layering: ok"; fi
exit $fail
