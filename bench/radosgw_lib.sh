# Sourced by the benchmarks that run against a local Ceph radosgw (store_bench.sh,
# cold_fetch_bench.sh). Expects SRC (the repo) and W (the benchmark's temp dir) to be set.
#   rgw_start   uses the radosgw whose env file FERRY_RADOSGW_ENV names, else starts a private
#               one under $W/rgw; loads its credentials and endpoint and sets AWS (the aws CLI
#               against it) and BUCKET.
# On exit: removes s3://$BUCKET/$RUN/ (when the benchmark set RUN; radosgw's memstore keeps
# everything in RAM), stops the server it started, removes $W.
RGW=""
RUN=""
rgw_cleanup() {
  [[ -n $RUN ]] && timeout 300 "${AWS[@]}" s3 rm --quiet --recursive "s3://$BUCKET/$RUN/" || true
  [[ -n $RGW ]] && bash "$SRC/tests/support/services/radosgw.sh" stop "$RGW" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap rgw_cleanup EXIT
trap 'exit 130' INT TERM

rgw_start() {
  if [[ -z ${FERRY_RADOSGW_ENV:-} ]]; then
    RGW=$W/rgw
    bash "$SRC/tests/support/services/radosgw.sh" start "$RGW" >/dev/null
    FERRY_RADOSGW_ENV=$RGW/env
  fi
  set -a; . "$FERRY_RADOSGW_ENV"; set +a
  AWS=(/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3")
  BUCKET=$FERRY_TEST_BUCKET
}
