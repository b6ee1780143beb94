#!/bin/bash
# radosgw.sh start|stop DIR — a throw-away Ceph radosgw (S3) on 127.0.0.1 for tests.
#
# start: stops and wipes any previous cluster in DIR, then starts 1 mon + 1 memstore OSD +
#        radosgw on free loopback ports (messenger v1 only), waits until S3 answers, creates
#        the user TESTKEY/TESTSECRET and the bucket "ferry-test", and writes
#          DIR/endpoint  http://127.0.0.1:PORT
#          DIR/env       AWS_ACCESS_KEY_ID=..., AWS_SECRET_ACCESS_KEY=..., AWS_ENDPOINT_URL_S3=...,
#                        AWS_REGION=us-east-1, FERRY_TEST_BUCKET=ferry-test  (shell-sourceable)
#        Logs stay in DIR/log. On failure the daemons are killed and the logs' tails printed.
#        FERRY_RGW_MEMSTORE_BYTES sizes the in-RAM OSD (default 4 GiB; writes hang when full).
# stop:  kill -9 of the pids in DIR/run/*.pid (memstore has nothing to flush). Idempotent.
set -euo pipefail

cmd=${1:-}; D=${2:-}
if [[ -z "$cmd" || -z "$D" ]]; then echo "usage: $0 start|stop DIR" >&2; exit 2; fi
mkdir -p "$D"; D=$(cd "$D" && pwd)

stop_cluster() {
  local f pid
  for f in "$D"/run/*.pid; do
    [[ -f "$f" ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      # Only kill processes that are really ours (the pid may have been reused).
      if tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$D/ceph.conf"; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$f"
  done
  rm -f "$D/endpoint" "$D/env"
}

free_port() {
  /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

fail() {
  echo "radosgw.sh: $*" >&2
  for l in "$D"/log/*.log; do
    [[ -f "$l" ]] && { echo "--- tail $l" >&2; tail -n 20 "$l" >&2; }
  done
  stop_cluster
  exit 1
}

case "$cmd" in
  stop)
    stop_cluster
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

stop_cluster
rm -rf "$D"/{mon,osd,rgw,log,run,ceph.conf,monmap}
mkdir -p "$D"/{mon,osd,rgw,log,run}
FSID=$(cat /proc/sys/kernel/random/uuid)
# The OSD keeps objects in RAM (memstore); RAM is only used as data is written. When it is
# full, writes hang (OSD_FULL), so size it for the largest test (bench pushes ~1 GB twice).
MEMSTORE_BYTES=${FERRY_RGW_MEMSTORE_BYTES:-4294967296}
MONPORT=$(free_port); PORT=$(free_port)
while [[ "$PORT" == "$MONPORT" ]]; do PORT=$(free_port); done

cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = [v1:127.0.0.1:$MONPORT]
ms bind msgr2 = false
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $D/run
log file = $D/log/\$name.log
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
public addr = 127.0.0.1
cluster addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon data avail crit = 1
mon max pg per osd = 1000
osd crush chooseleaf type = 0
osd class update on start = false
osd crush update on start = false
[mon.a]
mon data = $D/mon
[osd.0]
osd data = $D/osd
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd max object name len = 460
osd max object namespace len = 64
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw dns name = localhost
rgw data = $D/rgw
CONF
C=(-c "$D/ceph.conf")
T="timeout 20"

monmaptool --create --clobber --fsid "$FSID" --addv a "[v1:127.0.0.1:$MONPORT]" "$D/monmap" >/dev/null \
  || fail "monmaptool failed"
$T ceph-mon "${C[@]}" -i a --mkfs --monmap "$D/monmap" || fail "ceph-mon --mkfs failed"
$T ceph-mon "${C[@]}" -i a || fail "ceph-mon failed to start"

ok=0
for i in $(seq 120); do
  if timeout 10 ceph "${C[@]}" osd create >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.5
done
[[ $ok == 1 ]] || fail "ceph osd create did not succeed within 30 s"
$T ceph-osd "${C[@]}" -i 0 --mkfs --osd-uuid "$(cat /proc/sys/kernel/random/uuid)" >/dev/null 2>&1 \
  || fail "ceph-osd --mkfs failed"
$T ceph "${C[@]}" osd crush add osd.0 1.0 host=localhost root=default >/dev/null 2>&1 || true
$T ceph-osd "${C[@]}" -i 0 2>/dev/null || fail "ceph-osd failed to start"
ok=0; deadline=$((SECONDS + 120))
while (( SECONDS < deadline )); do
  if timeout 10 ceph "${C[@]}" osd stat 2>/dev/null | grep -q '1 up'; then ok=1; break; fi
  sleep 0.25
done
[[ $ok == 1 ]] || fail "osd.0 did not come up"

$T radosgw "${C[@]}" -n client.rgw || fail "radosgw failed to start"
# radosgw creates its pools before it listens: ~10 s on an idle box, minutes under heavy load.
ok=0; deadline=$((SECONDS + ${FERRY_RGW_START_TIMEOUT:-300}))
while (( SECONDS < deadline )); do
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then ok=1; break; fi
  sleep 0.25
done
[[ $ok == 1 ]] || fail "radosgw did not answer on 127.0.0.1:$PORT"

timeout 60 radosgw-admin "${C[@]}" user create --uid=tester --display-name=tester \
  --access-key=TESTKEY --secret=TESTSECRET >/dev/null 2>&1 || fail "radosgw-admin user create failed"

EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
ok=0
for i in $(seq 40); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user TESTKEY:TESTSECRET -H "x-amz-content-sha256: $EMPTY" -X PUT \
    "http://127.0.0.1:$PORT/ferry-test" || true)
  if [[ "$code" == 200 || "$code" == 409 ]]; then ok=1; break; fi
  sleep 0.25
done
[[ $ok == 1 ]] || fail "creating bucket ferry-test failed (HTTP $code)"

echo "http://127.0.0.1:$PORT" > "$D/endpoint.tmp" && mv "$D/endpoint.tmp" "$D/endpoint"
cat > "$D/env.tmp" <<ENV
AWS_ACCESS_KEY_ID=TESTKEY
AWS_SECRET_ACCESS_KEY=TESTSECRET
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$PORT
AWS_REGION=us-east-1
FERRY_TEST_BUCKET=ferry-test
ENV
mv "$D/env.tmp" "$D/env"
echo "radosgw ready at http://127.0.0.1:$PORT (dir $D)"
