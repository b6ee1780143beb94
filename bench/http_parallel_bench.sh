#!/bin/bash
# http_parallel_bench.sh [BUILD_DIR] — ferry's HttpClient vs curl, downloading many files from a
# local nginx (tests/support/services/nginx.sh).
#
# Env: N (files, default 200), SIZE (bytes per file, default 262144), PAR (ferry parallelism,
# default 16). BUILD_DIR defaults to ./build-bench (configured RelWithDebInfo if missing); only
# the http_fetch tool and its libraries are built (ninja -j2).
# Prints one line per contender (wall seconds, MB/s) and the ratios against sequential curl.
# All bodies are checked: ferry's byte count must equal N*SIZE; curl's downloads are compared
# with cmp. The loopback link is not the limit of interest here: this measures per-request
# overhead (connection reuse, parallelism), which is what dominates with many small files.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${1:-$ROOT/build-bench}
N=${N:-200}; SIZE=${SIZE:-262144}; PAR=${PAR:-16}

if [[ ! -f "$B/build.ninja" ]]; then
  cmake -S "$ROOT" -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
ninja -C "$B" -j2 http_fetch >/dev/null
FETCH=$B/tests/http_fetch

W=$(mktemp -d "${TMPDIR:-/tmp}/ferry-http-bench.XXXXXX")
cleanup() { bash "$ROOT/tests/support/services/nginx.sh" stop "$W/nginx" >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W/www/files" "$W/curl1" "$W/curl2"
for i in $(seq "$N"); do head -c "$SIZE" /dev/urandom > "$W/www/files/f$i.bin"; done
bash "$ROOT/tests/support/services/nginx.sh" start "$W/nginx" 0 "$W/www" >/dev/null
URL=$(cat "$W/nginx/url")
for i in $(seq "$N"); do echo "$URL/files/f$i.bin"; done > "$W/urls"
total_mb=$(awk -v n="$N" -v s="$SIZE" 'BEGIN{printf "%.1f", n*s/1e6}')
echo "http_parallel_bench: $N files x $SIZE bytes ($total_mb MB) from nginx on loopback, $(nproc) cores"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }
report() { awk -v name="$1" -v t="$2" -v mb="$total_mb" 'BEGIN{printf "  %-42s %7.3f s  %8.1f MB/s\n", name, t, mb/t}'; }

# 1. curl, one process per file, sequentially (what a shell loop does).
t0=$(now)
while read -r u; do curl -sf --noproxy '*' -o "$W/curl1/${u##*/}" "$u"; done < "$W/urls"
t_curl1=$(secs "$t0" "$(now)")
# 2. curl, one process, sequential over one reused connection.
args=(); while read -r u; do args+=(-o "$W/curl2/${u##*/}" "$u"); done < "$W/urls"
t0=$(now); curl -sf --noproxy '*' "${args[@]}"; t_curl2=$(secs "$t0" "$(now)")
for i in $(seq "$N"); do
  cmp -s "$W/www/files/f$i.bin" "$W/curl1/f$i.bin" && cmp -s "$W/www/files/f$i.bin" "$W/curl2/f$i.bin" ||
    { echo "curl download f$i.bin differs" >&2; exit 1; }
done
# 3. ferry: SendAll, buffered bodies, parallelism 1 and PAR; and streamed into sinks.
run_ferry() {  # run_ferry PAR [--sink]
  local out
  out=$("$FETCH" --parallel "$1" ${2:-} --urls "$W/urls")
  local bytes; bytes=$(sed 's/.*"bytes": \([0-9]*\).*/\1/' <<<"$out")
  [[ "$bytes" == $((N * SIZE)) ]] || { echo "ferry fetched $bytes bytes, expected $((N * SIZE)): $out" >&2; exit 1; }
  sed 's/.*"seconds": \([0-9.]*\).*/\1/' <<<"$out"
}
run_ferry "$PAR" >/dev/null  # warm-up (page cache, nginx workers)
t_f1=$(run_ferry 1)
t_fp=$(run_ferry "$PAR")
t_fs=$(run_ferry "$PAR" --sink)

report "curl, one process per file, sequential" "$t_curl1"
report "curl, one process, sequential (reuse)" "$t_curl2"
report "ferry SendAll parallelism 1" "$t_f1"
report "ferry SendAll parallelism $PAR" "$t_fp"
report "ferry SendAll parallelism $PAR, sinks" "$t_fs"
awk -v a="$t_curl1" -v b="$t_curl2" -v c="$t_fp" -v par="$PAR" 'BEGIN{
  printf "ratio: ferry (parallelism %s) is %.1fx faster than curl per file, %.1fx faster than curl sequential with reuse\n", par, a/c, b/c }'
