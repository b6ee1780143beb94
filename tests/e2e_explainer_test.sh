#!/bin/bash
# The model-and-explainer scenario end to end (examples/explainer/README.md), with the real ferry
# binary, the fixture channel and index, and a remote store that is radosgw (s3) or a directory.
#   e2e_explainer_test.sh FERRY SOURCE_DIR s3|file http|file [FIXTURES_DIR]
# Channels http: the fixture channel and index over HTTP from the fixture_http nginx
# (FERRY_FIXTURE_HTTP: its dir with url and access.log). Channels file: a copy of FIXTURES_DIR's
# channel and index as file:// URLs, deleted before the pod runs (the pod must need only the
# store). Store s3 needs FERRY_RADOSGW_ENV (the radosgw fixture's env file).
#
# Three machines, each with its own FERRY_HOME and only the remote store in common:
#   trainer    resolves examples/explainer/train_flow.py, pushes it, names it model-a:v1
#   scheduler  composes explainer/model-a-@{RUN_ID} from model-a:v1 + pandas + ferry-demo
#   pod        fetches that name at execution time and runs python importing both sides
set -uo pipefail
FERRY=$(realpath "$1")
SRC=$(realpath "$2")
MODE=$3
CHANNEL_MODE=${4:-http}
FIXTURES=${5:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-e2e-explainer.XXXXXX")
cleanup() {
  if [[ $MODE == s3 && -n ${STORE_ID:-} && -n ${FERRY_TEST_BUCKET:-} ]]; then
    "${AWS[@]}" s3 rm --quiet --recursive "s3://$FERRY_TEST_BUCKET/$STORE_ID/" >/dev/null 2>&1
  fi
  rm -rf "$T"
}
trap cleanup EXIT
FAILS=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
die() { echo "FAIL - $*"; echo "FATAL: cannot continue the scenario"; exit 1; }
# run_ok WHAT CMD...: runs CMD with stdout in $T/out, stderr in $T/err; prints both on failure.
run_ok() {
  local what=$1; shift
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [[ $rc == 0 ]]; then pass "$what"; return 0; fi
  fail "$what: exit $rc"
  echo "    \$ $*"; sed 's/^/    stdout: /' "$T/out" | head -20; sed 's/^/    stderr: /' "$T/err" | head -30
  return 1
}
expect_exit() {  # expect_exit CODE WHAT CMD...
  local want=$1 what=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [[ $got == "$want" ]]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, expected $want"; echo "    \$ $*"
    sed 's/^/    stderr: /' "$T/err" | head -20; fi
}
PY=/usr/bin/python3
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- services ----
if [[ $CHANNEL_MODE == http ]]; then
  [[ -f ${FERRY_FIXTURE_HTTP:-}/url ]] || die "FERRY_FIXTURE_HTTP/url missing (fixture_http not running?)"
  HTTP=$(cat "$FERRY_FIXTURE_HTTP/url")
  ACCESS_LOG=$FERRY_FIXTURE_HTTP/access.log
  CHANNEL=$HTTP/channel
  INDEX=$HTTP/pypi/simple
else
  [[ -d $FIXTURES/channel && -d $FIXTURES/pypi ]] || die "no fixture channel/index in '$FIXTURES'"
  mkdir -p "$T/fx"
  cp -r "$FIXTURES/channel" "$FIXTURES/pypi" "$T/fx/"
  ACCESS_LOG=/dev/null
  CHANNEL=file://$T/fx/channel
  INDEX=file://$T/fx/pypi/simple
fi
unset FERRY_STORE FERRY_HOME FERRY_CHANNELS FERRY_INDEX_URL RUN_ID
export XDG_CONFIG_HOME=$T/xdg  # no user ferry.toml
STORE_ID=e2e-$$-$RANDOM
if [[ $MODE == s3 ]]; then
  [[ -f ${FERRY_RADOSGW_ENV:-} ]] || die "FERRY_RADOSGW_ENV not set (radosgw fixture)"
  set -a; . "$FERRY_RADOSGW_ENV"; set +a
  AWS=(/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3")
  STORE=s3://$FERRY_TEST_BUCKET/$STORE_ID
  # remote_has KEY: the object exists (HEAD).
  remote_has() { "${AWS[@]}" s3api head-object --bucket "$FERRY_TEST_BUCKET" \
    --key "$STORE_ID/$1" >/dev/null 2>&1; }
  remote_cat() { "${AWS[@]}" s3 cp --quiet "s3://$FERRY_TEST_BUCKET/$STORE_ID/$1" -; }
  remote_keys() {  # remote_keys PREFIX: keys relative to the store root
    "${AWS[@]}" s3api list-objects-v2 --bucket "$FERRY_TEST_BUCKET" --prefix "$STORE_ID/$1" \
      --query 'Contents[].Key' --output text | tr '\t' '\n' | grep -v '^None$' |
      sed "s|^$STORE_ID/||" | sort
  }
else
  STORE_DIR=$T/remote
  mkdir -p "$STORE_DIR"
  STORE=file://$STORE_DIR
  remote_has() { [[ -f $STORE_DIR/$1 ]]; }
  remote_cat() { cat "$STORE_DIR/$1"; }
  remote_keys() { (cd "$STORE_DIR" && find "$1" -type f ! -name '.ferry-tmp*' 2>/dev/null | sort); }
fi
export FERRY_STORE=$STORE
echo "# store $STORE, channel $CHANNEL, index $INDEX"

cp "$SRC/examples/explainer/train_flow.py" "$SRC/examples/explainer/explain_flow.py" "$T/"
cd "$T" || exit 1

# ================= 1. trainer: resolve the training flow, push, name model-a:v1 =============
export FERRY_HOME=$T/trainer FERRY_CHANNELS=$CHANNEL FERRY_INDEX_URL=$INDEX
MODEL_LOCK=$T/ferry.lock
if run_ok "trainer: ferry resolve train_flow.py --platform linux-64 --push --name model-a:v1" \
    "$FERRY" resolve train_flow.py --platform linux-64 --push --name model-a:v1; then
  [[ -f $MODEL_LOCK ]] || fail "resolve train_flow.py wrote no ferry.lock beside the flow"
else
  # Keep exercising the rest of the scenario with the equivalent explicit commands.
  echo "# falling back to: ferry resolve --conda ... -o model-a.lock; ferry push; ferry alias"
  MODEL_LOCK=$T/model-a.lock
  run_ok "trainer (fallback): ferry resolve --conda 'python 3.11.*' --conda 'numpy 1.26.4' --conda scikit-learn" \
    "$FERRY" resolve --conda 'python 3.11.*' --conda 'numpy 1.26.4' --conda scikit-learn \
    --channel "$CHANNEL" --platform linux-64 -o "$MODEL_LOCK" || die "cannot resolve model A"
  run_ok "trainer (fallback): ferry push" "$FERRY" push "$MODEL_LOCK" || die "cannot push model A"
  run_ok "trainer (fallback): ferry alias model-a:v1" "$FERRY" alias "$MODEL_LOCK" model-a:v1 ||
    die "cannot name model A"
fi
[[ -f $MODEL_LOCK ]] || die "no model A lock"
"$FERRY" --json show "$MODEL_LOCK" >"$T/model.json" 2>"$T/err" || die "ferry show --json $MODEL_LOCK: $(cat "$T/err")"
N_ENVS=$(json "$T/model.json" 'len(d["environments"])')
[[ $N_ENVS == 1 ]] && pass "train_flow.py has one environment (all steps share it)" ||
  fail "train_flow.py: $N_ENVS environments, expected 1"
MODEL_ENV=$(json "$T/model.json" 'd["environments"][0]["env_id"]')
json "$T/model.json" '"\n".join("%s %s %s" % (p["kind"], p["name"], p["version"]) for p in d["environments"][0]["packages"])' >"$T/model.pkgs"
grep -qx "conda numpy 1.26.4" "$T/model.pkgs" && pass "model A: numpy 1.26.4 (the flow's pin)" ||
  fail "model A: no numpy 1.26.4: $(tr '\n' ';' <"$T/model.pkgs")"
grep -q "^conda python 3\.11\." "$T/model.pkgs" && pass "model A: python 3.11" || fail "model A: no python 3.11"
SKLEARN_V=$(awk '$2 == "scikit-learn" {print $3}' "$T/model.pkgs")
[[ -n $SKLEARN_V ]] && pass "model A: scikit-learn $SKLEARN_V" || fail "model A: no scikit-learn"
if grep -q "^conda pandas " "$T/model.pkgs"; then fail "model A already has pandas (the explainer must add it)"; fi
# Flow metadata (a flow lock only): every step maps to the one environment.
if [[ $MODEL_LOCK == $T/ferry.lock ]]; then
  $PY - "$MODEL_LOCK" >"$T/cmp" 2>&1 <<'PY' && pass "lock step map: start, train, end -> the one environment" ||
import json, sys
d = json.load(open(sys.argv[1]))
env = d["environments"][0]
assert d["flow"]["class"] == "ModelATrainFlow", d["flow"]
steps = {s["name"]: s for s in d["steps"]}
assert sorted(steps) == ["end", "start", "train"], sorted(steps)
for s in steps.values():
    assert s["kind"] == "environment" and s["environments"] == {"linux-64": env["req_id"]}, s
assert sorted(env["steps"]) == ["end", "start", "train"], env["steps"]
PY
    fail "lock step map: $(tail -3 "$T/cmp")"
fi
# Re-running resolve + push + alias is a no-op: same name, same env (immutable tag, same target).
run_ok "trainer: ferry push again (idempotent)" "$FERRY" push "$MODEL_LOCK"
run_ok "trainer: ferry alias model-a:v1 to the same env again (idempotent)" \
  "$FERRY" alias "$MODEL_LOCK" model-a:v1

# ---- the remote store holds blobs, the manifest and the name ----
remote_has "v1/names/model-a/v1" && pass "remote: v1/names/model-a/v1 exists" ||
  fail "remote: v1/names/model-a/v1 missing; names: $(remote_keys v1/names | tr '\n' ' ')"
remote_cat "v1/names/model-a/v1" >"$T/name-model" 2>/dev/null
[[ $(json "$T/name-model" 'd["env_id"]' 2>/dev/null) == "$MODEL_ENV" ]] &&
  pass "remote: model-a:v1 -> ${MODEL_ENV:0:12}" || fail "remote: model-a:v1 content: $(cat "$T/name-model")"
remote_has "v1/envs/$MODEL_ENV.json" && pass "remote: manifest of model A" || fail "remote: manifest of model A missing"
missing=0
remote_keys v1/blobs/sha256/ >"$T/blob-keys"
for sha in $(json "$T/model.json" '" ".join(p["sha256"] for p in d["environments"][0]["packages"])'); do
  grep -qx "v1/blobs/sha256/${sha:0:2}/$sha" "$T/blob-keys" ||
    { missing=$((missing + 1)); echo "    missing blob $sha"; }
done
[[ $missing == 0 ]] && pass "remote: every package blob of model A" || fail "remote: $missing blobs missing"

# ================= 2. scheduler: compose the explainer's environment ========================
export FERRY_HOME=$T/scheduler
RUN_ID=$((1700000000 + RANDOM * 1000 + $$ % 1000))
EXPLAINER_NAME="explainer/model-a-$RUN_ID"
EXPLAINER_LOCK=$T/explainer.lock
run_ok "scheduler: RUN_ID=$RUN_ID ferry compose model-a:v1 --conda pandas --pypi ferry-demo --name 'explainer/model-a-@{RUN_ID}'" \
  env RUN_ID="$RUN_ID" "$FERRY" compose model-a:v1 --conda pandas --pypi ferry-demo \
  --name 'explainer/model-a-@{RUN_ID}' -o "$EXPLAINER_LOCK" || die "compose failed"
"$FERRY" --json show "$EXPLAINER_LOCK" >"$T/explainer.json" 2>"$T/err" || die "ferry show --json explainer.lock: $(cat "$T/err")"
EXPLAINER_ENV=$(json "$T/explainer.json" 'd["environments"][0]["env_id"]')
[[ $(json "$T/explainer.json" 'd["environments"][0].get("name")') == "$EXPLAINER_NAME:latest" ||
   $(json "$T/explainer.json" 'd["environments"][0].get("name")') == "$EXPLAINER_NAME" ]] &&
  pass "explainer lock names $EXPLAINER_NAME (RUN_ID substituted)" ||
  fail "explainer lock name: $(json "$T/explainer.json" 'd["environments"][0].get("name")')"
# Base packages at their locked versions (same build, same file), plus the explainer's own.
$PY - "$T/model.json" "$T/explainer.json" <<'PY' >"$T/cmp" 2>&1
import json, sys
base = json.load(open(sys.argv[1]))["environments"][0]["packages"]
new = {(p["kind"], p["name"]): p for p in json.load(open(sys.argv[2]))["environments"][0]["packages"]}
bad = []
for p in base:
    q = new.get((p["kind"], p["name"]))
    if q is None:
        bad.append("%s %s dropped" % (p["kind"], p["name"]))
    elif (q["version"], q["build"], q["sha256"]) != (p["version"], p["build"], p["sha256"]):
        bad.append("%s %s %s %s -> %s %s" % (p["kind"], p["name"], p["version"], p["build"], q["version"], q["build"]))
for k in (("conda", "pandas"), ("pypi", "ferry-demo")):
    if k not in new:
        bad.append("%s %s not added" % k)
print("\n".join(bad) if bad else "%d base packages kept, %d packages in all" % (len(base), len(new)))
sys.exit(1 if bad else 0)
PY
[[ $? == 0 ]] && pass "explainer keeps model A's packages exactly: $(cat "$T/cmp")" ||
  fail "explainer vs model A: $(tr '\n' ';' <"$T/cmp")"
PANDAS_V=$(json "$T/explainer.json" '[p["version"] for p in d["environments"][0]["packages"] if p["name"] == "pandas"][0]')
DEMO_V=$(json "$T/explainer.json" '[p["version"] for p in d["environments"][0]["packages"] if p["name"] == "ferry-demo"][0]')
remote_has "v1/names/$EXPLAINER_NAME/latest" && pass "remote: v1/names/$EXPLAINER_NAME/latest exists" ||
  fail "remote: v1/names/$EXPLAINER_NAME/latest missing; names: $(remote_keys v1/names | tr '\n' ' ')"
remote_cat "v1/names/$EXPLAINER_NAME/latest" >"$T/name-explainer" 2>/dev/null
[[ $(json "$T/name-explainer" 'd["env_id"]' 2>/dev/null) == "$EXPLAINER_ENV" ]] &&
  pass "remote: $EXPLAINER_NAME -> ${EXPLAINER_ENV:0:12}" || fail "remote: explainer name content: $(cat "$T/name-explainer")"
remote_has "v1/envs/$EXPLAINER_ENV.json" && pass "remote: manifest of the explainer" ||
  fail "remote: manifest of the explainer missing"
# The same description from the store by name, on a machine that never saw the locks.
FERRY_HOME=$T/viewer "$FERRY" --json show model-a:v1 >"$T/show-name.json" 2>"$T/err"
[[ $(json "$T/show-name.json" 'd["environments"][0]["env_id"]' 2>/dev/null) == "$MODEL_ENV" ]] &&
  pass "ferry show --json model-a:v1 (from the store) = the trainer's lock" ||
  fail "ferry show model-a:v1: $(head -c 300 "$T/show-name.json") $(head -5 "$T/err")"

# The explainer flow file: explain is bound to the named environment, fetched at execution time.
if run_ok "ferry resolve explain_flow.py --platform linux-64 -o explain.lock" \
    "$FERRY" resolve explain_flow.py --platform linux-64 -o "$T/explain.lock"; then
  $PY - "$T/explain.lock" >"$T/cmp" 2>&1 <<'PY' && pass "explain.lock: explain -> named explainer/model-a-@{RUN_ID}, fetch_at_exec" ||
import json, sys
d = json.load(open(sys.argv[1]))
steps = {s["name"]: s for s in d["steps"]}
assert sorted(steps) == ["end", "explain", "start"], sorted(steps)
e = steps["explain"]
assert e["kind"] == "named" and e["named_env"] == "explainer/model-a-@{RUN_ID}" and e["fetch_at_exec"] is True, e
assert steps["start"]["kind"] == "none" and steps["end"]["kind"] == "none", steps
assert d["environments"] == [], d["environments"]
PY
    fail "explain.lock: $(tail -3 "$T/cmp")"
fi

# ================= 3. pod: a fresh FERRY_HOME, the name fetched at execution time ===========
export FERRY_HOME=$T/pod
unset FERRY_CHANNELS FERRY_INDEX_URL  # the pod needs only the store
[[ $CHANNEL_MODE == file ]] && rm -rf "$T/fx"  # ... and cannot reach the channel or the index
export RUN_ID
# Requests for the explainer's package files in nginx's log, before and after the pod's first run.
json "$T/explainer.json" '"\n".join("/" + p["filename"] for p in d["environments"][0]["packages"])' \
  >"$T/pkg-files"
pkg_requests() { grep -F -c -f "$T/pkg-files" "$ACCESS_LOG" 2>/dev/null || true; }
pkg_requests >"$T/log-before"
# Both sides working together: the explainer's pandas (conda) feeds model A's scikit-learn (the
# fixture's small sklearn exports LinearRegression at top level and fits 1-D data).
IMPORTS='import sys, numpy, sklearn, pandas, ferry_demo
df = pandas.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [1.0, 3.0, 5.0, 7.0]})
m = sklearn.LinearRegression().fit(df.data["x"], df.data["y"])
print("fit", m.coef_, m.intercept_)
print("numpy", numpy.__version__)
print("sklearn", sklearn.__version__)
print("pandas", pandas.__version__)
print("ferry_demo", ferry_demo.__version__)
print("prefix", sys.prefix)'
t0=$(date +%s%N)
run_ok "pod: RUN_ID=$RUN_ID ferry run 'explainer/model-a-@{RUN_ID}' -- python -c 'import numpy, sklearn, pandas, ferry_demo'" \
  "$FERRY" run 'explainer/model-a-@{RUN_ID}' -- python -c "$IMPORTS"
t1=$(date +%s%N)
cp "$T/out" "$T/pod-out"
echo "# cold pod run: $(((t1 - t0) / 1000000)) ms"
for want in "fit 2.0 1.0" "numpy 1.26.4" "sklearn $SKLEARN_V" "pandas $PANDAS_V" "ferry_demo $DEMO_V" \
    "prefix $T/pod/envs/$EXPLAINER_ENV"; do
  grep -qxF "$want" "$T/pod-out" && pass "pod prints '$want'" ||
    fail "pod output lacks '$want': $(tr '\n' ';' <"$T/pod-out")"
done
pkg_requests >"$T/log-after"
# (the trainer and the scheduler did download these files from nginx: the pattern is live)
[[ $CHANNEL_MODE == http && $(cat "$T/log-before") == 0 ]] &&
  fail "no request for the explainer's package files in $ACCESS_LOG before the pod (log check dead)"
[[ $(cat "$T/log-before") == $(cat "$T/log-after") ]] &&
  pass "pod downloaded nothing from the channel or index (blobs came from the store)" ||
  fail "pod fetched package files over HTTP from the channel/index ($(cat "$T/log-before") -> $(cat "$T/log-after") log lines)"

run_ok "pod: ferry fetch (prints the prefix)" "$FERRY" fetch 'explainer/model-a-@{RUN_ID}'
P=$(tail -1 "$T/out")
[[ $P == "$T/pod/envs/$EXPLAINER_ENV" ]] && pass "prefix is FERRY_HOME/envs/<env-id>" || fail "prefix '$P'"
run_ok "pod: ferry verify PREFIX is clean" "$FERRY" verify "$P"
# `pip check` without pip in the environment: every installed distribution's Requires-Dist (whose
# markers hold for this python) is satisfied by an installed distribution (host packaging module).
$PY - "$P/lib/python3.11/site-packages" >"$T/out" 2>&1 <<'PY' && pass "requirements consistent: $(cat "$T/out")" ||
import importlib.metadata as md, sys
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
dists = {canonicalize_name(d.metadata["Name"]): d.version for d in md.distributions(path=[sys.argv[1]])}
env = {"python_version": "3.11", "python_full_version": "3.11.2", "sys_platform": "linux",
       "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64",
       "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
bad = []
for d in md.distributions(path=[sys.argv[1]]):
    for r in d.requires or []:
        req = Requirement(r)
        if req.marker and not req.marker.evaluate(env):
            continue
        have = dists.get(canonicalize_name(req.name))
        if have is None or (req.specifier and not req.specifier.contains(have, prereleases=True)):
            bad.append("%s requires %s, have %s" % (d.metadata["Name"], r, have))
for want in ("numpy", "scikit-learn", "pandas", "ferry-demo", "tinypkg"):
    if want not in dists:
        bad.append("no distribution " + want)
print("; ".join(bad) if bad else "%d distributions" % len(dists))
sys.exit(1 if bad else 0)
PY
  fail "requirements: $(cat "$T/out")"
expect_exit 7 "pod: ferry run ... -- sh -c 'exit 7' returns the command's status" \
  "$FERRY" run 'explainer/model-a-@{RUN_ID}' -- sh -c 'exit 7'

# A second run in the same pod is warm: nothing to fetch or extract.
"$FERRY" --json fetch 'explainer/model-a-@{RUN_ID}' >"$T/warm.json" 2>"$T/err"
[[ $(json "$T/warm.json" 'd.get("warm")' 2>/dev/null) == True ]] && pass "second fetch in the pod is warm" ||
  fail "second fetch not warm: $(head -c 400 "$T/warm.json") $(head -3 "$T/err")"
t0=$(date +%s%N)
run_ok "pod: second ferry run" "$FERRY" run 'explainer/model-a-@{RUN_ID}' -- python -c "$IMPORTS"
t1=$(date +%s%N)
cmp -s "$T/out" "$T/pod-out" && pass "second run prints the same" || fail "second run output differs"
t2=$(date +%s%N)
"$FERRY" run 'explainer/model-a-@{RUN_ID}' -- true
t3=$(date +%s%N)
echo "# warm pod run (python imports): $(((t1 - t0) / 1000000)) ms; warm 'ferry run NAME -- true': $(((t3 - t2) / 1000000)) ms"
# Without RUN_ID the name cannot be formed: a clear user error, nothing run.
env -u RUN_ID "$FERRY" run 'explainer/model-a-@{RUN_ID}' -- sh -c 'echo ran' >"$T/out" 2>"$T/err"
rc=$?
[[ $rc == 1 ]] && grep -q RUN_ID "$T/err" && ! grep -q ran "$T/out" &&
  pass "without RUN_ID: exit 1 naming RUN_ID" || fail "without RUN_ID: exit $rc: $(head -3 "$T/err")"

# ================= 4. names: the immutable tag cannot be re-pointed =========================
expect_exit 1 "ferry alias <explainer env> model-a:v1 is refused (immutable tag)" \
  "$FERRY" alias "$EXPLAINER_ENV" model-a:v1
grep -q "immutable" "$T/err" && pass "the error says the tag is immutable" || fail "error text: $(head -3 "$T/err")"
remote_cat "v1/names/model-a/v1" >"$T/name-model2" 2>/dev/null
[[ $(json "$T/name-model2" 'd["env_id"]' 2>/dev/null) == "$MODEL_ENV" ]] &&
  pass "model-a:v1 still points to model A" || fail "model-a:v1 now: $(cat "$T/name-model2")"
# A mutable tag moves.
run_ok "ferry alias <explainer env> model-a:latest (mutable)" "$FERRY" alias "$EXPLAINER_ENV" model-a:latest
run_ok "ferry alias <model A> model-a:latest (moves back)" "$FERRY" alias "$MODEL_ENV" model-a:latest

echo
if [[ $FAILS == 0 ]]; then echo "e2e explainer (store $MODE, channels $CHANNEL_MODE): all checks passed"; exit 0; fi
echo "e2e explainer (store $MODE, channels $CHANNEL_MODE): $FAILS check(s) failed"
exit 1
