#!/usr/bin/env bash
# Locked versions are preferences the conda solver honours (issue 8's compose, issue 7's
# --upgrade-package): a channel gains new versions after a base environment was locked, then
#   - compose BASE --conda extra       keeps every base package exactly (strict pass);
#   - compose BASE --conda tool        (tool needs lib >=2) changes lib only; `other`, which could
#                                      move to its new 2.0, keeps 1.0; the changed list and the
#                                      strict explanation are printed;
#   - compose BASE --conda broken      (needs lib >=9) fails with exit 1 and an explanation;
#   - resolve --upgrade-package lib    upgrades lib and keeps `other` at its locked version.
# usage: compose_prefer_test.sh FERRY
set -euo pipefail
FERRY=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export FERRY_HOME="$work/home"
unset FERRY_CHANNELS FERRY_INDEX_URL FERRY_STORE

# A file:// channel; records only (compose and resolve never download packages).
channel() {  # channel RECORD_JSON...
  mkdir -p "$work/ch/linux-64" "$work/ch/noarch"
  python3 - "$work/ch/linux-64/repodata.json" "$@" <<'PY'
import hashlib, json, sys
out, recs = sys.argv[1], sys.argv[2:]
pkgs = {}
for r in recs:
    name, version, *deps = r.split(":")
    fn = f"{name}-{version}-0.tar.bz2"
    pkgs[fn] = {"name": name, "version": version, "build": "0", "build_number": 0,
                "depends": [d for d in deps if d], "sha256": hashlib.sha256(fn.encode()).hexdigest(), "size": 10}
json.dump({"info": {"subdir": "linux-64"}, "packages": pkgs, "packages.conda": {}}, open(out, "w"))
PY
  echo '{"info":{"subdir":"noarch"},"packages":{}}' >"$work/ch/noarch/repodata.json"
}
versions() {  # versions LOCK -> "name=version ..." sorted
  "$FERRY" --json show "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted(p["name"] + "=" + p["version"] for p in d["environments"][0]["packages"])))'
}
CH="file://$work/ch"

channel lib:1.0 other:1.0 app:1.0:lib
"$FERRY" resolve --conda app --conda other --channel "$CH" --platform linux-64 -o "$work/base.lock" \
  2>"$work/err" || fail "base resolve: $(cat "$work/err")"
[[ $(versions "$work/base.lock") == "app=1.0 lib=1.0 other=1.0" ]] || fail "base: $(versions "$work/base.lock")"

# The channel moves on.
channel lib:1.0 lib:2.0 other:1.0 other:2.0 app:1.0:lib extra:1.0 "tool:1.0:lib >=2" "broken:1.0:lib >=9"

"$FERRY" compose "$work/base.lock" --conda extra -o "$work/c1.lock" 2>"$work/err" ||
  fail "compose extra: $(cat "$work/err")"
[[ $(versions "$work/c1.lock") == "app=1.0 extra=1.0 lib=1.0 other=1.0" ]] ||
  fail "compose extra: $(versions "$work/c1.lock")"
grep -q "can keep its locked version" "$work/err" && fail "compose extra warned: $(cat "$work/err")"

"$FERRY" compose "$work/base.lock" --conda tool -o "$work/c2.lock" 2>"$work/err" ||
  fail "compose tool: $(cat "$work/err")"
[[ $(versions "$work/c2.lock") == "app=1.0 lib=2.0 other=1.0 tool=1.0" ]] ||
  fail "compose tool: other must keep 1.0 (a preference), lib must move: $(versions "$work/c2.lock")"
grep -q "not every package of .* can keep its locked version" "$work/err" || fail "no warning: $(cat "$work/err")"
grep -q "lib 1.0 0 -> 2.0 0" "$work/err" || fail "changed list lacks lib: $(cat "$work/err")"
grep -q "other 1.0" "$work/err" && fail "other listed as changed: $(cat "$work/err")"
grep -q "tool" "$work/err" || fail "explanation does not name tool: $(cat "$work/err")"

set +e
"$FERRY" compose "$work/base.lock" --conda broken -o "$work/c3.lock" 2>"$work/err"
rc=$?
set -e
[[ $rc == 1 ]] || fail "compose broken: exit $rc, want 1: $(cat "$work/err")"
grep -q "cannot compose" "$work/err" && grep -q "broken" "$work/err" ||
  fail "compose broken: $(cat "$work/err")"
[[ -e $work/c3.lock ]] && fail "compose broken wrote a lock"

# --upgrade-package: the requirement set is unchanged; only lib may move.
cp "$work/base.lock" "$work/up.lock"
"$FERRY" resolve --conda app --conda other --channel "$CH" --platform linux-64 -o "$work/up.lock" \
  --upgrade-package lib 2>"$work/err" || fail "upgrade-package: $(cat "$work/err")"
[[ $(versions "$work/up.lock") == "app=1.0 lib=2.0 other=1.0" ]] ||
  fail "--upgrade-package lib: $(versions "$work/up.lock")"
"$FERRY" resolve --conda app --conda other --channel "$CH" --platform linux-64 -o "$work/up.lock" \
  --upgrade 2>"$work/err" || fail "upgrade: $(cat "$work/err")"
[[ $(versions "$work/up.lock") == "app=1.0 lib=2.0 other=2.0" ]] || fail "--upgrade: $(versions "$work/up.lock")"
echo "compose/upgrade-package preferences: OK"
