#!/usr/bin/env bash
# Issue 7 end to end: a Metaflow-style flow resolved for two platforms over HTTP (a private nginx
# serving the fixtures), then
#   - re-running with the HTTP server STOPPED is a no-op (no index touched, lock byte-identical);
#   - --locked passes, and fails (exit 1, naming the step, writing nothing) after an edit;
#   - editing one decorator changes exactly that environment's entries.
# usage: resolve_flow_test.sh FERRY SRC_DIR FIXTURES_DIR
set -euo pipefail
FERRY=$1 SRC=$2 FX=$3
work=$(mktemp -d); svc="$work/nginx"
cleanup() { bash "$SRC/tests/support/services/nginx.sh" stop "$svc" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

bash "$SRC/tests/support/services/nginx.sh" start "$svc" 0 "$FX" >/dev/null
url=$(cat "$svc/url") port=$(cat "$svc/port")
export FERRY_HOME="$work/home" FERRY_CHANNELS="$url/channel" FERRY_INDEX_URL="$url/pypi/simple/"
cp "$SRC/examples/flow/train_flow.py" "$work/flow.py"

"$FERRY" resolve "$work/flow.py" --platform linux-64 --platform osx-arm64 >"$work/out1"
[ -f "$work/ferry.lock" ] || fail "no ferry.lock written beside the flow"
"$FERRY" show "$work/ferry.lock" --json >"$work/show1.json"
python3 - "$work/show1.json" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
envs = lock["environments"]
assert len(envs) == 6, f"expected 3 environments x 2 platforms, got {len(envs)}"
assert {e["platform"] for e in envs} == {"linux-64", "osx-arm64"}
steps = {s for e in envs for s in e["steps"]}
assert steps == {"start", "join", "end", "train", "report"}, steps   # not publish_local/explain
report = [e for e in envs if "report" in e["steps"] and e["platform"] == "linux-64"][0]
kinds = {p["kind"] for p in report["packages"]}
assert kinds == {"conda", "pypi"}, kinds
pypi = {p["name"]: p["version"] for p in report["packages"] if p["kind"] == "pypi"}
assert pypi.get("ferry-demo") == "0.2.0", pypi
for e in envs:
    for p in e["packages"]:
        assert len(p["sha256"]) == 64 and p["size"] > 0 and p["url"].startswith("http"), p
PY
cp "$work/ferry.lock" "$work/lock1"
requests_before=$(wc -l <"$svc/access.log")

# The server goes away: an unchanged flow must not need it.
bash "$SRC/tests/support/services/nginx.sh" stop "$svc" >/dev/null
"$FERRY" resolve "$work/flow.py" --platform linux-64 --platform osx-arm64 >"$work/out2" ||
  fail "re-running an unchanged flow needed the index"
cmp -s "$work/lock1" "$work/ferry.lock" || fail "re-running changed the lock"
grep -q "unchanged" "$work/out2" || fail "re-run did not report unchanged environments"
"$FERRY" resolve "$work/flow.py" --platform linux-64 --platform osx-arm64 --locked >/dev/null ||
  fail "--locked failed on an up-to-date lock"

# Edit one decorator: the train step gets joblib pinned.
sed -i 's/"scipy": "",  # any version/"scipy": "",\n            "joblib": "1.3.2",/' "$work/flow.py"
grep -q '"joblib": "1.3.2"' "$work/flow.py" || fail "test edit did not apply"
set +e
"$FERRY" resolve "$work/flow.py" --platform linux-64 --platform osx-arm64 --locked 2>"$work/locked.err"
rc=$?
set -e
[ $rc = 1 ] || fail "--locked on a stale lock exited $rc, expected 1"
grep -q "train" "$work/locked.err" || fail "--locked did not name the stale step: $(cat "$work/locked.err")"
cmp -s "$work/lock1" "$work/ferry.lock" || fail "--locked wrote the lock"

# Channel URLs are part of the requirement set (req-id): restart on the same port.
bash "$SRC/tests/support/services/nginx.sh" start "$svc" "$port" "$FX" >/dev/null
[ "$(cat "$svc/url")" = "$url" ] || fail "nginx restarted on another address"
"$FERRY" resolve "$work/flow.py" --platform linux-64 --platform osx-arm64 >"$work/out3"
"$FERRY" show "$work/ferry.lock" --json >"$work/show3.json"
python3 - "$work/show1.json" "$work/show3.json" <<'PY'
import json, sys
a = {(tuple(e["steps"]), e["platform"]): e for e in json.load(open(sys.argv[1]))["environments"]}
b = {(tuple(e["steps"]), e["platform"]): e for e in json.load(open(sys.argv[2]))["environments"]}
assert a.keys() == b.keys(), (a.keys(), b.keys())
changed = sorted(k for k in a if a[k]["req_id"] != b[k]["req_id"])
assert changed == [(("train",), "linux-64"), (("train",), "osx-arm64")], changed
PY
echo "resolve_flow: ok"
