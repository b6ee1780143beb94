#!/bin/bash
# Store push/pull benchmark (issue 6): ferry push / ferry cache pull of one environment of
# >= 500 MB in >= 200 package files against a real radosgw, side by side with
# `/usr/bin/aws s3 cp --recursive` of the same files to/from the same server.
#
#   bench/store_bench.sh BUILD_DIR [COUNT] [SIZE_BYTES]
#
# Starts its own radosgw (tests/support/services/radosgw.sh) unless FERRY_RADOSGW_ENV points at
# a running one. Prints one line per measurement and the throughput ratios ferry/aws.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
COUNT=${2:-250}
SIZE=${3:-2200000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
FERRY=$BUILD/cli/ferry
MAKE_LOCK=$BUILD/tests/store_make_lock
W=$(mktemp -d "${TMPDIR:-/tmp}/ferry-store-bench.XXXXXX")
. "$SRC/bench/radosgw_lib.sh"

rgw_start

ENV_ID=$("$MAKE_LOCK" "$W/bench.lock" "$W/pkgs" "$COUNT" "$SIZE" 7 train)
BYTES=$(du -cb "$W"/pkgs/*.conda | tail -1 | cut -f1)
echo "environment ${ENV_ID:0:12}: $COUNT package files, $BYTES bytes"

now() { date +%s.%N; }
mbps() { /usr/bin/python3 -c "import sys; print(f'{$BYTES / ($2 - $1) / 1e6:.1f}')" x "$1" "$2"; }
secs() { /usr/bin/python3 -c "print(f'{$2 - $1:.2f}')"; }

# Fill the local store first (copy from the lock's file:// URLs), so the push measures the network.
export FERRY_HOME=$W/home-push
FERRY_STORE=file://$W/warm "$FERRY" -q push "$W/bench.lock" >/dev/null
sync

RUN=bench-$$-$RANDOM
export FERRY_STORE=s3://$BUCKET/$RUN/ferry
t0=$(now); "$FERRY" -q push "$W/bench.lock" >/dev/null; t1=$(now)
FERRY_PUSH_S=$(secs "$t0" "$t1"); FERRY_PUSH_MB=$(mbps "$t0" "$t1")
echo "ferry push:            ${FERRY_PUSH_S} s  ${FERRY_PUSH_MB} MB/s"

export FERRY_HOME=$W/home-pull
t0=$(now); "$FERRY" -q cache pull "$ENV_ID" >/dev/null; t1=$(now)
FERRY_PULL_S=$(secs "$t0" "$t1"); FERRY_PULL_MB=$(mbps "$t0" "$t1")
echo "ferry cache pull:      ${FERRY_PULL_S} s  ${FERRY_PULL_MB} MB/s (every blob re-hashed)"
"$FERRY" -q cache verify >/dev/null

t0=$(now); "${AWS[@]}" s3 cp --quiet --recursive "$W/pkgs" "s3://$BUCKET/$RUN/aws/"; t1=$(now)
AWS_UP_S=$(secs "$t0" "$t1"); AWS_UP_MB=$(mbps "$t0" "$t1")
echo "aws s3 cp (upload):    ${AWS_UP_S} s  ${AWS_UP_MB} MB/s"

t0=$(now); "${AWS[@]}" s3 cp --quiet --recursive "s3://$BUCKET/$RUN/aws/" "$W/aws-down"; t1=$(now)
AWS_DOWN_S=$(secs "$t0" "$t1"); AWS_DOWN_MB=$(mbps "$t0" "$t1")
echo "aws s3 cp (download):  ${AWS_DOWN_S} s  ${AWS_DOWN_MB} MB/s (no verification)"

/usr/bin/python3 - "$FERRY_PUSH_MB" "$AWS_UP_MB" "$FERRY_PULL_MB" "$AWS_DOWN_MB" <<'PY'
import sys
fp, au, fl, ad = map(float, sys.argv[1:])
print(f"ratio push/upload:     {fp / au:.2f}x  (ferry {fp} MB/s vs aws {au} MB/s)")
print(f"ratio pull/download:   {fl / ad:.2f}x  (ferry {fl} MB/s vs aws {ad} MB/s)")
PY
