#!/bin/bash
# Conda resolve benchmark (issue 4): the real `ferry resolve` CLI end to end (index load + solve +
# lock) vs rattler-wasm (@conda-org/rattler 0.3.5 simpleSolve under node, tests/oracle) on the
# synthetic conda-forge-sized channel (fixtures/make_scale.py: ~470k linux-64 + ~85k noarch
# records, ~250 MB of repodata.json), both served by nginx on 127.0.0.1 (ETag/304), for the
# `datascience` and `hard` (backtracking) requests of scale/requests.json.
#
# usage: bench/solve_bench.sh BUILD_DIR [RUNS]
#   BUILD_DIR  a Release build dir (configured with -DCMAKE_BUILD_TYPE=Release); `ninja ferry`
#              is run in it first (-j2).
#   RUNS       runs per measurement, medians reported (default 3).
# Environment:
#   SCALE      make_scale.py output dir (default: BUILD_DIR/fixtures/scale if it has a channel,
#              else BUILD_DIR/fixtures/scale-conda, generated with make_scale.py --no-pypi).
#   REQUESTS   requests to run (default "datascience hard").
#   SKIP_BUILD=1  use BUILD_DIR/cli/ferry as it is (no ninja).
#
# Measurements (/usr/bin/time: wall, user+sys CPU, peak RSS), each a median of RUNS:
#   ferry cold  empty FERRY_HOME every run: download repodata.json (both subdirs in parallel),
#               index it while it downloads, write the parsed cache (while solving), solve,
#               write the lock.
#   ferry warm  FERRY_HOME from a previous run: conditional GET (304) + parsed cache + solve.
#   rattler     simpleSolve; rattler-wasm keeps no cache between runs, so every run downloads and
#               parses: its one figure is the peer for both ferry columns.
# The lock is deleted before every ferry run (req-id lock reuse would skip the solve).
# Both read a copy of the channel whose repodata carries the virtual packages as records
# (fixtures/oracle_channel.py; JSON only, no .zst), because simpleSolve takes no virtual packages.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -ge 1 ]] || { sed -n '2,25p' "$0" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
RUNS=${2:-3}
REQUESTS=${REQUESTS:-datascience hard}
FERRY=$BUILD/cli/ferry

btype=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
[[ "$btype" == Release ]] || echo "warning: $BUILD is a '$btype' build, not Release" >&2
[[ "${SKIP_BUILD:-}" == 1 ]] || ninja -C "$BUILD" -j2 ferry >&2
[[ -x "$FERRY" ]] || { echo "no ferry binary at $FERRY" >&2; exit 2; }

if [[ -z "${SCALE:-}" ]]; then
  SCALE=$BUILD/fixtures/scale
  [[ -f "$SCALE/channel/linux-64/repodata.json" ]] || SCALE=$BUILD/fixtures/scale-conda
fi
if [[ ! -f "$SCALE/channel/linux-64/repodata.json" || ! -f "$SCALE/requests.json" ]]; then
  echo "generating the scale channel in $SCALE (make_scale.py --no-pypi)" >&2
  /usr/bin/python3 "$ROOT/fixtures/make_scale.py" "$SCALE" --no-pypi >&2
fi
[[ -d "$ROOT/tests/oracle/node_modules/@conda-org/rattler" ]] ||
  npm install --no-audit --no-fund --prefix "$ROOT/tests/oracle" >&2

# The oracle copy of the channel (kept beside the scale channel; remade when the source changes).
ORACLE=$SCALE/oracle-www
src_stamp=$(stat -c '%s %Y' "$SCALE/channel/linux-64/repodata.json" "$SCALE/channel/noarch/repodata.json" | tr '\n' ' ')
if [[ ! -f "$ORACLE/stamp" || "$(cat "$ORACLE/stamp")" != "$src_stamp" ]]; then
  echo "writing the oracle copy of the channel to $ORACLE" >&2
  rm -rf "$ORACLE"
  /usr/bin/python3 "$ROOT/fixtures/oracle_channel.py" "$SCALE/channel" "$ORACLE/channel" >&2
  echo "$src_stamp" >"$ORACLE/stamp"
fi

WORK=$(mktemp -d /tmp/ferry-solve-bench.XXXXXX)
trap 'bash "$ROOT/tests/support/services/nginx.sh" stop "$WORK/nginx" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
bash "$ROOT/tests/support/services/nginx.sh" start "$WORK/nginx" 0 "$ORACLE" >/dev/null
URL="$(cat "$WORK/nginx/url")/channel"

# measure OUT CMD...: runs CMD, stdout to OUT.out, stderr to OUT.err, "wall cpu rss_kb exit" to
# OUT.t.
measure() {
  local out=$1; shift
  local rc=0
  /usr/bin/time -f '%e %U %S %M' -o "$out.time" "$@" >"$out.out" 2>"$out.err" || rc=$?
  awk -v rc=$rc '{printf "%s %.2f %s %s\n", $1, $2 + $3, $4, rc}' "$out.time" >"$out.t"
  if [[ $rc != 0 ]]; then
    echo "FAILED ($rc): $*" >&2
    tail -5 "$out.err" >&2
  fi
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { cat "$@" | awk -v c="$COL" '{print $c}' | median; }  # COL=1 wall, 2 cpu, 3 rss kB
max_col() { cat "$@" | awk -v c="$COL" 'BEGIN{m=0} {if ($c > m) m = $c} END {print m}'; }
specs_of() {
  /usr/bin/python3 -c "import json,sys; print('\n'.join(json.load(open('$SCALE/requests.json'))['conda']['$1']))"
}
ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.1fx", $1 / $2; else print "-" }'; }

echo "# conda resolve bench: $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- resolver src cli 2>/dev/null || echo '+dirty'), $btype build $BUILD"
echo "# load before: $(uptime | sed 's/.*load average/load average/'); $(nproc) cores; runs per cell: $RUNS (median)"
echo "# channel: $URL ($(du -sh "$ORACLE/channel" | cut -f1) of repodata.json); rattler: @conda-org/rattler $(node -p "require('$ROOT/tests/oracle/node_modules/@conda-org/rattler/package.json').version") on node $(node --version)"
echo
echo "| request | ferry cold: wall s / CPU s | ferry warm: wall s / CPU s | rattler-wasm: wall s / CPU s | cold ratio: wall (CPU) | warm ratio: wall (CPU) | peak RSS MB: ferry cold / warm / rattler | packages ferry / rattler, same versions for the requested names |"
echo "|---|---|---|---|---|---|---|---|"
for req in $REQUESTS; do
  mapfile -t SPECS < <(specs_of "$req")
  FARGS=()
  for s in "${SPECS[@]}"; do FARGS+=(--conda "$s"); done
  ferry_run() {  # ferry_run OUT HOME
    rm -f "$WORK/$req.lock"
    FERRY_HOME="$2" measure "$1" "$FERRY" --json --quiet resolve "${FARGS[@]}" --channel "$URL" \
      --platform linux-64 -o "$WORK/$req.lock"
  }
  for i in $(seq "$RUNS"); do
    rm -rf "$WORK/home-cold"
    ferry_run "$WORK/$req-cold$i" "$WORK/home-cold"
  done
  for i in $(seq "$RUNS"); do ferry_run "$WORK/$req-warm$i" "$WORK/home-cold"; done
  for i in $(seq "$RUNS"); do
    measure "$WORK/$req-rattler$i" node "$ROOT/tests/oracle/rattler_solve.mjs" --channel "$URL" \
      --platform linux-64 "${SPECS[@]}"
  done
  rm -rf "$WORK/home-cold"
  declare -A v
  for kind in cold warm rattler; do
    files=("$WORK/$req-$kind"*.t)
    COL=1 v[$kind.wall]=$(col "${files[@]}")
    COL=2 v[$kind.cpu]=$(col "${files[@]}")
    COL=3 v[$kind.rss]=$(max_col "${files[@]}")
    COL=4 v[$kind.fail]=$(max_col "${files[@]}")
  done
  cmp=$(/usr/bin/python3 - "$WORK/$req-cold1.out" "$WORK/$req-warm1.out" "$WORK/$req-rattler1.out" "${SPECS[@]}" <<'EOF'
import json, re, sys
try:
    f = json.load(open(sys.argv[1]))["environments"][0]["packages"]
    w = json.load(open(sys.argv[2]))["environments"][0]["packages"]
except Exception as e:
    print(f"ferry output unreadable ({e})"); sys.exit()
fp = {p["name"]: p["version"] for p in f}
note = "" if {p["name"]: p["version"] for p in w} == fp else " (warm differs from cold!)"
try:
    r = json.load(open(sys.argv[3]))
except Exception as e:
    print(f"{len(fp)} / rattler output unreadable ({e})"); sys.exit()
if not r.get("solved"):
    print(f"{len(fp)} / unsolved: rattler failed{note}"); sys.exit()
rp = {p["name"]: p["version"] for p in r["packages"] if not p["name"].startswith("__")}
names = [re.split(r"[ =<>!]", s)[0] for s in sys.argv[4:]]
diff = [f"{n}: {fp.get(n)} vs {rp.get(n)}" for n in names if fp.get(n) != rp.get(n)]
print(f"{len(fp)} / {len(rp)} (+ virtual), " + ("yes: " + ", ".join(f"{n} {fp[n]}" for n in names) if not diff else "NO: " + "; ".join(diff)) + note)
EOF
)
  fails=""
  for kind in cold warm rattler; do [[ "${v[$kind.fail]}" == 0 ]] || fails+=" $kind FAILED (exit ${v[$kind.fail]})"; done
  printf '| %s (`%s`) | %.2f / %.2f | %.3f / %.2f | %.2f / %.2f | **%s** (%s) | **%s** (%s) | %.0f / %.0f / %.0f | %s%s |\n' \
    "$req" "$(IFS=,; echo "${SPECS[*]}" | sed 's/,/, /g')" \
    "${v[cold.wall]}" "${v[cold.cpu]}" "${v[warm.wall]}" "${v[warm.cpu]}" \
    "${v[rattler.wall]}" "${v[rattler.cpu]}" \
    "$(ratio "${v[rattler.wall]}" "${v[cold.wall]}")" "$(ratio "${v[rattler.cpu]}" "${v[cold.cpu]}")" \
    "$(ratio "${v[rattler.wall]}" "${v[warm.wall]}")" "$(ratio "${v[rattler.cpu]}" "${v[warm.cpu]}")" \
    "$(echo "${v[cold.rss]} / 1024" | bc -l)" "$(echo "${v[warm.rss]} / 1024" | bc -l)" \
    "$(echo "${v[rattler.rss]} / 1024" | bc -l)" "$cmp" "$fails"
  unset v
done
echo
echo "# load after: $(uptime | sed 's/.*load average/load average/')"
echo "# warm runs revalidated with If-None-Match: $(grep -c ' 304 ' "$WORK/nginx/access.log" || true) responses were 304"
