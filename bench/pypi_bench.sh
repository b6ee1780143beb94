#!/bin/bash
# PyPI resolve benchmark (issue 5): ferry vs `pip install --dry-run --ignore-installed --report`
# on the same local indexes, served by nginx on 127.0.0.1 (PEP 691 negotiation, ETag/304):
#   fixture   the fixture index (fixtures/make_pypi.py), request `ferry-demo[plot] requests newpy
#             yanked-pkg fastcalc bt-a prerel Friendly_Name.Pkg`
#   typical   the 1,000-project synthetic index (fixtures/make_scale.py), requests.json pypi.typical
#             (20 late projects, ~107 in the closure)
#   hard      same index, requests.json pypi.hard (`pbt-root`: 8 projects x 20 versions pin
#             pbt-hub; hubs 0-8 need a missing pbt-leaf>=100, so only versions agreeing on hub 9
#             work: backtracking-heavy)
# Both tools resolve the same problem: CPython 3.11 on linux x86_64, wheels only
# (pip: --python-version 3.11 --implementation cp --platform manylinux2014_x86_64
#  --only-binary=:all: --target DIR; ferry: --platform linux-64 --python 3.11).
#
# usage: bench/pypi_bench.sh [BUILD_DIR] [RUNS] [PIP_RUNS] [PIP_HARD_RUNS]
#   BUILD_DIR      default build-pbench (Release). Needs BUILD/cli/ferry (if its `resolve` has
#                  --pypi) or BUILD/bench/pypi_resolve_driver, and the fixtures
#                  (BUILD/fixtures/pypi: `ninja fixtures`; BUILD/fixtures/scale/pypi:
#                  `ninja fixtures_scale`; built here if missing). FIXTURE_PYPI / SCALE_DIR
#                  override the fixture locations; FERRY / DRIVER override the binaries.
#   RUNS           timed ferry runs per cell (median reported), default 5
#   PIP_RUNS       timed pip runs per cell, default 3
#   PIP_HARD_RUNS  timed pip runs on the hard request, default 2
#   ONLY (env)     rows to run, default "fixture typical hard"
#   WHATIF_NOFSYNC=1 (env) adds a column: ferry cold with fsync/fdatasync made no-ops by an
#                  LD_PRELOAD shim (built here with cc), i.e. what cache writes without fsync
#                  would give (see bench/RESULTS.md, "PyPI resolve").
# Cold = pip with a fresh --cache-dir / ferry with an empty FERRY_HOME, every run.
# Warm = the same cache dir / FERRY_HOME as a previous run (index pages revalidated with ETag,
# metadata from the cache). Times are hyperfine medians (wall); "CPU" is user+sys (mean), which
# is less sensitive to a loaded machine. Ratio = pip / ferry (target: >= 10).
# The last column checks that both picked the same versions for the requested names (a WARNING
# row lists the differences).
set -euo pipefail
set -f  # requests like ferry-demo[plot] are expanded unquoted into command lines: no globbing
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build-pbench}" && pwd)
RUNS=${2:-5}
PIP_RUNS=${3:-3}
PIP_HARD_RUNS=${4:-2}
FIXTURE_PYPI=${FIXTURE_PYPI:-$BUILD/fixtures/pypi}
SCALE_DIR=${SCALE_DIR:-$BUILD/fixtures/scale}
PY=/usr/bin/python3  # Debian's pip 23.0.1; works offline against a local index
WORK=$(mktemp -d /tmp/ferry-pypi-bench.XXXXXX)
NGINX="$ROOT/tests/support/services/nginx.sh"
cleanup() {
  bash "$NGINX" stop "$WORK/nginx-fixture" >/dev/null 2>&1 || true
  bash "$NGINX" stop "$WORK/nginx-scale" >/dev/null 2>&1 || true
  bash "$NGINX" stop "$WORK/nginx-channel" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

command -v hyperfine >/dev/null || { echo "pypi_bench: hyperfine is required" >&2; exit 2; }
[[ -d "$FIXTURE_PYPI/simple" ]] || ninja -C "$BUILD" fixtures >&2
[[ -f "$SCALE_DIR/requests.json" && -d "$SCALE_DIR/pypi/simple" ]] ||
  ninja -C "$BUILD" fixtures_scale >&2

FERRY=${FERRY:-$BUILD/cli/ferry}
DRIVER=${DRIVER:-$BUILD/bench/pypi_resolve_driver}
if [[ -x "$FERRY" ]] && "$FERRY" resolve --help 2>&1 | grep -q -- '--pypi'; then
  MODE=cli
elif [[ -x "$DRIVER" ]]; then
  MODE=driver
  echo "pypi_bench: $FERRY has no 'resolve --pypi': timing $DRIVER (ResolvePypi + CurlHttpClient)" >&2
else
  echo "pypi_bench: need $FERRY with 'resolve --pypi' or $DRIVER" >&2; exit 2
fi

NOFSYNC=""
if [[ ${WHATIF_NOFSYNC:-0} == 1 ]]; then
  printf 'int fsync(int fd) { (void)fd; return 0; }\nint fdatasync(int fd) { (void)fd; return 0; }\n' \
    >"$WORK/nofsync.c"
  cc -O2 -shared -fPIC -o "$WORK/nofsync.so" "$WORK/nofsync.c"
  NOFSYNC="$WORK/nofsync.so"
fi

bash "$NGINX" start "$WORK/nginx-fixture" 0 "$FIXTURE_PYPI" >/dev/null
bash "$NGINX" start "$WORK/nginx-scale" 0 "$SCALE_DIR/pypi" >/dev/null
CHANNEL_URL=""
if [[ $MODE == cli ]]; then
  # `--python 3.11` makes the CLI resolve python from a conda channel first (SPEC §2: conda
  # chooses python; the request goes through resolver/mixed/: conda first, then PyPI): give it
  # the small fixture channel, which has python 3.11.2 — its repodata.json only (records, no
  # packages; the JSON-only copy dates from a .zst decoding bug fixed in b858174 and keeps the
  # figures comparable with the earlier ones).
  for sub in linux-64 noarch; do
    mkdir -p "$WORK/channel/$sub"
    cp "$FIXTURE_PYPI/../channel/$sub/repodata.json" "$WORK/channel/$sub/"
  done
  bash "$NGINX" start "$WORK/nginx-channel" 0 "$WORK/channel" >/dev/null
  CHANNEL_URL=$(cat "$WORK/nginx-channel/url")
fi
FIXTURE_URL="$(cat "$WORK/nginx-fixture/url")/simple"
SCALE_URL="$(cat "$WORK/nginx-scale/url")/simple"

export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export PYTHONDONTWRITEBYTECODE=1

# pip_cmd URL CACHE REPORT REQ...: one command line (no shell quoting needed: no spaces).
pip_cmd() {
  local url=$1 cache=$2 report=$3; shift 3
  echo "$PY -m pip install -q --dry-run --ignore-installed --report $report --cache-dir $cache" \
    "--index-url $url --python-version 3.11 --implementation cp --platform manylinux2014_x86_64" \
    "--only-binary=:all: --target $WORK/pip-target $*"
}
# ferry_cmd URL OUT REQ...: FERRY_HOME comes from the environment (cli) or the HOME argument
# (driver, $FERRY_HOME expanded by the caller).
ferry_cmd() {
  local url=$1 home=$2 out=$3; shift 3
  if [[ $MODE == cli ]]; then
    local args="" r
    for r in "$@"; do args+=" --pypi $r"; done
    echo "env FERRY_HOME=$home $FERRY --json --quiet resolve$args --index-url $url" \
      "--channel $CHANNEL_URL --platform linux-64 --python 3.11 -o $out"
  else
    echo "$DRIVER $url $home 3.11 linux-64 $*"
  fi
}

# picks FILE KIND: "name version" lines (PEP 503 names) from a pip report or ferry's output.
picks() {
  "$PY" - "$1" "$2" <<'PY'
import json, re, sys
path, kind = sys.argv[1], sys.argv[2]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
if kind == "pip":
    out = [(norm(i["metadata"]["name"]), i["metadata"]["version"])
           for i in json.load(open(path))["install"]]
elif kind == "cli":
    out = [(norm(p["name"]), p["version"]) for e in json.load(open(path))["environments"]
           for p in e["packages"] if p["kind"] == "pypi"]
else:
    out = [tuple(l.split()[:2]) for l in open(path) if l.strip()]
for n, v in sorted(out):
    print(n, v)
PY
}

# compare PIP_PICKS FERRY_PICKS REQ...: "yes" or "WARNING: name pip=X ferry=Y; ..."
compare() {
  "$PY" - "$@" <<'PY'
import re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
load = lambda p: dict(l.split() for l in open(p) if l.strip())
pip, ferry = load(sys.argv[1]), load(sys.argv[2])
names = [norm(re.split(r"[\[<>=!~; ]", r, 1)[0]) for r in sys.argv[3:]]
bad = ["%s pip=%s ferry=%s" % (n, pip.get(n, "-"), ferry.get(n, "-"))
       for n in names if pip.get(n) != ferry.get(n)]
every = sorted(set(pip) | set(ferry))
other = [n for n in every if n not in names and pip.get(n) != ferry.get(n)]
if bad:
    print("WARNING: " + "; ".join(bad))
else:
    print("yes (%d/%d names; whole closure %s)" % (len(names), len(names),
          "identical" if not other else "differs: " + ", ".join(other[:5])))
PY
}

# timed NAME RUNS PREPARE CMD: hyperfine; prints "median_s cpu_s".
timed() {
  local name=$1 runs=$2 prepare=$3 cmd=$4 extra=()
  [[ -n "$prepare" ]] && extra=(--prepare "$prepare")
  hyperfine -N --style none --runs "$runs" "${extra[@]}" --export-json "$WORK/$name.json" \
    "$cmd" >/dev/null 2>"$WORK/$name.err" || { cat "$WORK/$name.err" >&2; echo "nan nan"; return; }
  "$PY" -c "import json; r=json.load(open('$WORK/$name.json'))['results'][0]; \
print('%.3f %.3f' % (r['median'], r['user'] + r['system']))"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'; }

ROWS=()
ONLY=${ONLY:-fixture typical hard}  # rows to run (env), e.g. ONLY=hard
run_row() {  # run_row LABEL URL RUNS_PIP REQ...
  local label=$1 url=$2 pip_runs=$3; shift 3
  [[ " $ONLY " == *" $label "* ]] || return 0
  local reqs=("$@") d="$WORK/$label"
  mkdir -p "$d"
  echo "[$label] ${reqs[*]}" >&2
  # Check runs (also warm the caches used by the warm timings).
  local pcmd fcmd
  pcmd=$(pip_cmd "$url" "$d/pip-warm" "$d/pip-report.json" "${reqs[@]}")
  fcmd=$(ferry_cmd "$url" "$d/ferry-warm" "$d/ferry.lock" "${reqs[@]}")
  $pcmd >"$d/pip.out" 2>"$d/pip.err" || { echo "pip failed:" >&2; tail "$d/pip.err" >&2; }
  $fcmd >"$d/ferry.out" 2>"$d/ferry.err" || { echo "ferry failed:" >&2; tail "$d/ferry.err" >&2; }
  picks "$d/pip-report.json" pip >"$d/pip.picks" || true
  picks "$d/ferry.out" "$MODE" >"$d/ferry.picks" || true
  local same
  same=$(compare "$d/pip.picks" "$d/ferry.picks" "${reqs[@]}" || echo "WARNING: comparison failed")
  # Timings.
  local pc pw fc fw
  pc=$(timed "$label-pip-cold" "$pip_runs" "rm -rf $d/pip-cold" \
    "$(pip_cmd "$url" "$d/pip-cold" "$d/pip-cold-report.json" "${reqs[@]}")")
  pw=$(timed "$label-pip-warm" "$pip_runs" "" "$pcmd")
  # The lock is removed before every run: ferry would otherwise reuse its entry (same req-id).
  fc=$(timed "$label-ferry-cold" "$RUNS" "rm -rf $d/ferry-cold $d/ferry-cold.lock" \
    "$(ferry_cmd "$url" "$d/ferry-cold" "$d/ferry-cold.lock" "${reqs[@]}")")
  fw=$(timed "$label-ferry-warm" "$RUNS" "rm -f $d/ferry.lock" "$fcmd")
  local whatif=""
  if [[ -n "$NOFSYNC" ]]; then
    local nf
    nf=$(timed "$label-ferry-cold-nofsync" "$RUNS" "rm -rf $d/ferry-nf $d/ferry-nf.lock" \
      "env LD_PRELOAD=$NOFSYNC $(ferry_cmd "$url" "$d/ferry-nf" "$d/ferry-nf.lock" "${reqs[@]}")")
    whatif=" ${nf% *} ($(ratio "${pc% *}" "${nf% *}")) |"
  fi
  read -r pc_w pc_c <<<"$pc"; read -r pw_w pw_c <<<"$pw"
  read -r fc_w fc_c <<<"$fc"; read -r fw_w fw_c <<<"$fw"
  ROWS+=("| $label | $(wc -l <"$d/pip.picks") / $(wc -l <"$d/ferry.picks") | $pc_w | $fc_w |\
 **$(ratio "$pc_w" "$fc_w")** | $pw_w | $fw_w | **$(ratio "$pw_w" "$fw_w")** |\
 $pc_c / $fc_c ($(ratio "$pc_c" "$fc_c")) | $pw_c / $fw_c ($(ratio "$pw_c" "$fw_c")) |$whatif $same |")
  echo "${ROWS[-1]}" >&2
}

scale_reqs() {
  "$PY" -c "import json; print('\n'.join(json.load(open('$SCALE_DIR/requests.json'))['pypi']['$1']))"
}

run_row fixture "$FIXTURE_URL" "$PIP_RUNS" 'ferry-demo[plot]' requests newpy yanked-pkg fastcalc bt-a \
  prerel Friendly_Name.Pkg
mapfile -t TYPICAL < <(scale_reqs typical)
run_row typical "$SCALE_URL" "$PIP_RUNS" "${TYPICAL[@]}"
mapfile -t HARD < <(scale_reqs hard)
run_row hard "$SCALE_URL" "$PIP_HARD_RUNS" "${HARD[@]}"

echo
echo "ferry: $MODE ($([[ $MODE == cli ]] && echo "$FERRY" || echo "$DRIVER")); pip: $("$PY" -m pip --version | cut -d' ' -f1-2);" \
  "runs: ferry $RUNS, pip $PIP_RUNS (hard: $PIP_HARD_RUNS); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
W1="" W2=""
[[ -n "$NOFSYNC" ]] && W1=" ferry cold s, fsync no-op (ratio) |" W2="---|"
echo "| request | packages pip / ferry | pip cold s | ferry cold s | cold ratio | pip warm s | ferry warm s | warm ratio | CPU s cold pip / ferry (ratio) | CPU s warm pip / ferry (ratio) |$W1 same versions for requested names |"
echo "|---|---|---|---|---|---|---|---|---|---|$W2---|"
printf '%s\n' "${ROWS[@]}"
