#!/bin/bash
# Rehydrate benchmark (issue 8): a >= 20k-file environment (the fixture CPython + 20 generated
# wheels of ~1000 files), measured with hyperfine in one run:
#   1. warm `ferry fetch` (all packages extracted in the store, env dir removed before each run)
#      vs `cp -al` of the same materialized tree (the physical limit of a hardlink farm);
#   2. vs `pip install --no-index --find-links` of the same wheels into a fresh venv;
#   3. `ferry run ENV -- true` on the warm environment.
# usage: bench/fetch_bench.sh BUILD_DIR   (a Release build; needs the `fixtures` target built in
# BUILD_DIR). Env: RUNS, RUNS_RUN, RUNS_PIP (hyperfine runs), SKIP_PIP=1, BENCH_DIR.
# Prints wall and CPU (user+sys) per measurement and the ratios (wall and CPU).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build}
FERRY=$B/cli/ferry; FX=$B/fixtures
[[ -f $FX/channel/linux-64/repodata.json ]] || ninja -C "$B" fixtures >/dev/null
if [[ -n ${BENCH_DIR:-} ]]; then T=$BENCH_DIR; else
  T=$(mktemp -d /tmp/ferry-fetch-bench.XXXXXX); trap 'rm -rf "$T"' EXIT; fi
mkdir -p $T; export FERRY_HOME=$T/home; unset FERRY_STORE
/usr/bin/python3 $SRC/bench/fetch_bench_wheels.py $T/wheels 20 1000
WHEELS=$(cd $T/wheels && ls *.whl)
ID=$(/usr/bin/python3 $SRC/tests/materialize_mklock.py $T/lock.json $FX/channel $T/wheels \
     python-3.11.2-h_ferry_0_cpython.conda $WHEELS)
P=$($FERRY fetch $T/lock.json)   # cold: download (file://), extract, link
FILES=$(find $P -type f | wc -l)
echo "environment $ID: $FILES files, $(du -sh $P | cut -f1)"
J=$T/hyperfine.json
hyperfine -N --warmup 2 --runs ${RUNS:-10} --export-json $J \
  --prepare "rm -rf $P" -n "ferry fetch (warm)" "$FERRY fetch $T/lock.json" \
  --prepare "rm -rf $T/cpal" -n "cp -al" "cp -al $P $T/cpal"
hyperfine -N --warmup 3 --runs ${RUNS_RUN:-30} --export-json $T/run.json \
  -n "ferry run ENV -- true" "$FERRY run $ID -- true" \
  -n "ferry --version" "$FERRY --version"
if [ -n "${SKIP_PIP:-}" ]; then
  echo '{"results": [{"command": "pip install --no-index --find-links", "mean": 0, "stddev": 0, "min": 0}]}' > $T/pip.json
else
# pip into a fresh venv (Debian python + its bundled pip wheel; venv creation timed separately)
rm -rf $T/venv
hyperfine -N --runs ${RUNS_PIP:-3} --export-json $T/pip.json \
  --prepare "rm -rf $T/venv" -n "python3 -m venv" "/usr/bin/python3 -m venv $T/venv" \
  --prepare "bash -c 'rm -rf $T/venv && /usr/bin/python3 -m venv $T/venv'" \
  -n "pip install --no-index --find-links" \
  "$T/venv/bin/pip install -q --no-index --no-compile --find-links $T/wheels $(cd $T/wheels && ls *.whl | sed 's/-1.0.0.*//' | tr '\n' ' ')"
fi
/usr/bin/python3 - $J $T/run.json $T/pip.json $FILES <<'PY'
import json, sys
m = {}
for f in sys.argv[1:4]:
    for r in json.load(open(f))["results"]:
        m[r["command"]] = (r["mean"], r["stddev"], r["min"], r.get("user", 0) + r.get("system", 0))
fetch, cpal = m["ferry fetch (warm)"], m["cp -al"]
pip = m["pip install --no-index --find-links"]
print("\n| measurement | wall mean | wall min | CPU mean (user+sys) |\n|---|---|---|---|")
for k, (mean, sd, mn, cpu) in m.items():
    print("| %s | %.1f ms ± %.1f | %.1f ms | %.1f ms |" % (k, mean * 1e3, sd * 1e3, mn * 1e3, cpu * 1e3))
print("\nfiles=%s" % sys.argv[4])
print("warm fetch / cp -al: wall %.2fx (min %.2fx), CPU %.2fx   (target <= 2x)"
      % (fetch[0] / cpal[0], fetch[2] / cpal[2], fetch[3] / cpal[3]))
if pip[0]:
    print("pip / warm fetch:    wall %.1fx, CPU %.1fx   (target >= 20x)"
          % (pip[0] / fetch[0], pip[3] / fetch[3]))
r = m["ferry run ENV -- true"]
print("ferry run ENV -- true: wall %.1f ms mean, %.1f ms min, CPU %.1f ms   (target < 50 ms)"
      % (r[0] * 1e3, r[2] * 1e3, r[3] * 1e3))
PY
