#!/bin/bash
# Cross-checks fixtures/cases.json with an independent solver: rattler 0.3.5 (resolvo, WASM,
# `npm install @conda-org/rattler@0.3.5`). Its simpleSolve has no virtual packages, so the
# channel is served through fixtures/oracle_channel.py (virtual packages become records).
# Exit 77 (skipped) when node/npm or the package is unavailable.
# usage: fixture_cases_rattler_test.sh SOURCE_DIR FIXTURES_DIR WORK_DIR
set -euo pipefail
SRC=${1:?}; FX=${2:?}; WORK=${3:?}
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: no node/npm"; exit 77; }
mkdir -p "$WORK"
if [ ! -d "$WORK/node_modules/@conda-org/rattler" ]; then
  (cd "$WORK" && timeout 300 npm install --no-audit --no-fund --silent @conda-org/rattler@0.3.5 \
     >/dev/null 2>&1) || { echo "SKIP: npm install @conda-org/rattler@0.3.5 failed"; exit 77; }
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fixture-rattler.XXXXXX")
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
/usr/bin/python3 "$SRC/fixtures/oracle_channel.py" "$FX/channel" "$T/default/channel"
/usr/bin/python3 "$SRC/fixtures/oracle_channel.py" "$FX/channel" "$T/cuda/channel" --virtual=__cuda=12.2
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/bin/python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$T" >"$T/http.log" 2>&1 &
PID=$!
for i in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
NODE_PATH="$WORK/node_modules" node "$SRC/tests/fixture_cases_rattler.cjs" "$FX/cases.json" \
  "http://127.0.0.1:$PORT"
