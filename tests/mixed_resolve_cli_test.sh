#!/usr/bin/env bash
# Mixed conda + PyPI resolution through the ferry CLI over HTTP (nginx serving the fixture channel
# and index): the joint solve (python 3.10 for a cp310-only wheel), a conda package providing a
# PyPI distribution under another name (purl), and a conflict between the sides (exit 1, both
# sides named).
# usage: mixed_resolve_cli_test.sh FERRY SRC_DIR FIXTURES_DIR
set -euo pipefail
FERRY=$1 SRC=$2 FX=$3
work=$(mktemp -d); svc="$work/nginx"
cleanup() { bash "$SRC/tests/support/services/nginx.sh" stop "$svc" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$SRC/tests/support/services/nginx.sh" start "$svc" 0 "$FX" >/dev/null
url=$(cat "$svc/url")
export FERRY_HOME="$work/home" FERRY_CHANNELS="$url/channel" FERRY_INDEX_URL="$url/pypi/simple/"

picks() {  # picks JSON: "kind name version" lines
  python3 -c '
import json, sys
for e in json.load(open(sys.argv[1]))["environments"]:
    for p in e["packages"]:
        print(p["kind"], p["name"], p["version"], p.get("filename", ""))' "$1"
}

# 1. conda's newest python (3.11) has no legacy-ext wheel: the joint solve picks python 3.10.
"$FERRY" --json resolve --conda python --conda numpy --pypi legacy-ext --pypi msgpack-user \
  --platform linux-64 -o "$work/joint.lock" >"$work/joint.json" 2>"$work/joint.err" ||
  { cat "$work/joint.err" >&2; fail "joint resolve failed"; }
picks "$work/joint.json" >"$work/joint.picks"
grep -q "^conda python 3.10.13 " "$work/joint.picks" || fail "python 3.10.13 expected: $(cat "$work/joint.picks")"
grep -q "^conda numpy 1.26.4 numpy-1.26.4-py310" "$work/joint.picks" || fail "numpy py310 build expected"
grep -q "^pypi legacy-ext 1.0.0 legacy_ext-1.0.0-cp310-cp310-manylinux" "$work/joint.picks" || fail "legacy-ext cp310 wheel expected"
grep -q "^pypi msgpack 1.0.8 " "$work/joint.picks" || fail "msgpack wheel expected"

# 2. msgpack-python (conda) provides msgpack through its purl: not installed twice.
"$FERRY" --json resolve --conda msgpack-python --conda "python 3.11.*" --pypi msgpack-user \
  --platform linux-64 -o "$work/purl.lock" >"$work/purl.json"
picks "$work/purl.json" >"$work/purl.picks"
grep -q "^conda msgpack-python 1.0.7 " "$work/purl.picks" || fail "conda msgpack-python expected"
grep -q "^pypi msgpack-user 1.0.0 " "$work/purl.picks" || fail "msgpack-user expected"
if grep -q "^pypi msgpack " "$work/purl.picks"; then fail "msgpack installed twice"; fi

# 3. A real conflict: exit 1, the explanation names both sides.
rc=0
"$FERRY" resolve --conda msgpack-python --pypi "msgpack>=1.0.8" --platform linux-64 \
  -o "$work/conflict.lock" >/dev/null 2>"$work/conflict.err" || rc=$?
[ "$rc" = 1 ] || { cat "$work/conflict.err" >&2; fail "conflict: exit $rc, expected 1"; }
for want in "with conda first (python 3.11" "solved jointly" "msgpack-python 1.0.7" \
            "PyPI requirement msgpack>=1.0.8" "without the PyPI distribution msgpack"; do
  grep -qF "$want" "$work/conflict.err" || { cat "$work/conflict.err" >&2; fail "explanation lacks: $want"; }
done
[ ! -e "$work/conflict.lock" ] || fail "a lock was written for an unsolvable request"
echo "mixed_resolve_cli: ok"
