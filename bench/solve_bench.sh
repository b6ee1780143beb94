#!/bin/bash
# Conda resolve benchmark (issue 4): ferry end to end (index load + solve) vs rattler-wasm
# (@conda-org/rattler 0.3.5 simpleSolve under node) on the synthetic conda-forge-sized channel
# (fixtures/make_scale.py: ~470k linux-64 + ~85k noarch records, 210 MB + 37 MB of JSON), served by
# nginx on 127.0.0.1 (ETag/304), for the `datascience` and `hard` (backtracking) requests of
# scale/requests.json.
#
# usage: bench/solve_bench.sh [FERRY_BINARY] [SCALE_DIR] [RUNS]
#   FERRY_BINARY  default build-solver-rel/cli/ferry (build it Release: ninja ferry)
#   SCALE_DIR     default build-solver/fixtures/scale (made with make_scale.py --no-pypi if missing)
#   RUNS          warm runs per request (median reported), default 3
# Prints a markdown table: ferry cold (no HTTP cache, no parsed cache: download + zstd + index),
# ferry warm (304 revalidation + parsed cache), rattler (no persistent cache in the WASM build:
# every run downloads and parses), ratios, peak RSS (/usr/bin/time -v), and the versions each
# picked for the requested names.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FERRY=${1:-$ROOT/build-solver-rel/cli/ferry}
SCALE=${2:-$ROOT/build-solver/fixtures/scale}
RUNS=${3:-3}
WORK=$(mktemp -d /tmp/ferry-solve-bench.XXXXXX)
trap 'bash "$ROOT/tests/support/services/nginx.sh" stop "$WORK/nginx" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

[[ -x "$FERRY" ]] || { echo "no ferry binary at $FERRY" >&2; exit 2; }
if [[ ! -f "$SCALE/channel/linux-64/repodata.json.zst" ]]; then
  /usr/bin/python3 "$ROOT/fixtures/make_scale.py" "$SCALE" --no-pypi >&2
fi
[[ -d "$ROOT/tests/oracle/node_modules/@conda-org/rattler" ]] ||
  npm install --no-audit --no-fund --prefix "$ROOT/tests/oracle" >&2

# rattler-wasm's simpleSolve takes no virtual packages: both tools read a copy of the channel whose
# repodata carries the target's virtual packages as records (fixtures/oracle_channel.py; JSON only,
# no .zst, so both download the same 247 MB of repodata.json over loopback).
/usr/bin/python3 "$ROOT/fixtures/oracle_channel.py" "$SCALE/channel" "$WORK/www/channel" >&2
bash "$ROOT/tests/support/services/nginx.sh" start "$WORK/nginx" 0 "$WORK/www" >/dev/null
URL="$(cat "$WORK/nginx/url")/channel"

# measure OUT_PREFIX CMD...: runs CMD under /usr/bin/time -v; writes OUT_PREFIX.{out,time}.
measure() {
  local out=$1; shift
  /usr/bin/time -v "$@" >"$out.out" 2>"$out.time" || true
}
wall() {  # seconds from a /usr/bin/time -v report
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"
}
rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

specs_of() {
  /usr/bin/python3 -c "import json,sys; print('\n'.join(json.load(open('$SCALE/requests.json'))['conda']['$1']))"
}

printf '| request | ferry cold s | ferry warm s (median of %s) | rattler-wasm s | cold ratio | warm ratio | ferry peak RSS MB (cold / warm) | rattler peak RSS MB | packages ferry / rattler | same versions for requested names |\n' "$RUNS"
printf '|---|---|---|---|---|---|---|---|---|---|\n'
for req in datascience hard; do
  mapfile -t SPECS < <(specs_of "$req")
  FARGS=()
  for s in "${SPECS[@]}"; do FARGS+=(--conda "$s"); done
  HOME_DIR="$WORK/home-$req"
  rm -rf "$HOME_DIR"
  export FERRY_HOME="$HOME_DIR"
  measure "$WORK/$req-cold" "$FERRY" --json resolve "${FARGS[@]}" --channel "$URL" \
    --platform linux-64 -o "$WORK/$req.lock"
  warm_times=()
  for i in $(seq "$RUNS"); do
    measure "$WORK/$req-warm$i" "$FERRY" --json resolve "${FARGS[@]}" --channel "$URL" \
      --platform linux-64 -o "$WORK/$req.lock"
    warm_times+=("$(wall "$WORK/$req-warm$i.time")")
  done
  measure "$WORK/$req-rattler" node "$ROOT/tests/oracle/rattler_solve.mjs" --channel "$URL" \
    --platform linux-64 "${SPECS[@]}"
  cold=$(wall "$WORK/$req-cold.time")
  warm=$(printf '%s\n' "${warm_times[@]}" | median)
  ratt=$(wall "$WORK/$req-rattler.time")
  cmp=$(/usr/bin/python3 - "$WORK/$req-cold.out" "$WORK/$req-rattler.out" "${SPECS[@]}" <<'EOF'
import json, re, sys
f = json.load(open(sys.argv[1]))["environments"][0]["packages"]
r = json.load(open(sys.argv[2]))
fp = {p["name"]: p["version"] for p in f}
if not r.get("solved"):
    print(f"{len(fp)} / unsolved | rattler failed"); sys.exit()
rp = {p["name"]: p["version"] for p in r["packages"] if not p["name"].startswith("__")}
names = [re.split(r"[ =<>!]", s)[0] for s in sys.argv[3:]]
diff = [f"{n}: {fp.get(n)} vs {rp.get(n)}" for n in names if fp.get(n) != rp.get(n)]
print(f"{len(fp)} / {len(rp)} | " + ("yes" if not diff else "NO: " + "; ".join(diff)))
EOF
)
  printf '| %s (%s) | %.2f | %.3f | %.2f | %.1fx | %.1fx | %s / %s | %s | %s |\n' \
    "$req" "$(IFS=,; echo "${SPECS[*]}")" "$cold" "$warm" "$ratt" \
    "$(echo "$ratt / $cold" | bc -l)" "$(echo "$ratt / $warm" | bc -l)" \
    "$(rss_mb "$WORK/$req-cold.time")" "$(rss_mb "$WORK/$req-warm1.time")" \
    "$(rss_mb "$WORK/$req-rattler.time")" "$cmp"
done
