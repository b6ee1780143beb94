#!/bin/bash
# End-to-end tests of the store commands with the real ferry binary.
#   store_cli_test.sh FERRY STORE_MAKE_LOCK file|s3
# s3 mode needs FERRY_RADOSGW_ENV (the radosgw fixture's env file).
set -uo pipefail
FERRY=$1
MAKE_LOCK=$2
MODE=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-store-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
FAILS=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# expect_exit CODE DESCRIPTION CMD...: runs CMD, stderr to $T/err, checks the exit code.
expect_exit() {
  local want=$1 what=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  if [[ $got == "$want" ]]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, expected $want"; sed 's/^/    /' "$T/err" | head -20; fi
}
unset FERRY_STORE
export FERRY_HOME

if [[ $MODE == s3 ]]; then
  [[ -f ${FERRY_RADOSGW_ENV:-} ]] || { echo "FERRY_RADOSGW_ENV not set"; exit 1; }
  set -a; . "$FERRY_RADOSGW_ENV"; set +a
  AWS=(/usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_S3")
fi
N=0
# new_remote: a fresh, empty remote store URL in $REMOTE (and its location for direct access).
new_remote() {
  N=$((N + 1))
  if [[ $MODE == file ]]; then
    REMOTE_DIR=$T/remote$N
    REMOTE=file://$REMOTE_DIR
  else
    REMOTE_PREFIX=store-cli-$$-$RANDOM-$N
    REMOTE=s3://$FERRY_TEST_BUCKET/$REMOTE_PREFIX
  fi
}
# remote_blob_keys: keys under v1/blobs/sha256/ relative to the store root, one per line.
remote_blob_keys() {
  if [[ $MODE == file ]]; then
    (cd "$REMOTE_DIR" && find v1/blobs/sha256 -type f ! -name '.ferry-tmp*' | sort)
  else
    "${AWS[@]}" s3api list-objects-v2 --bucket "$FERRY_TEST_BUCKET" \
      --prefix "$REMOTE_PREFIX/v1/blobs/sha256/" --query 'Contents[].Key' --output text |
      tr '\t' '\n' | grep -v '^None$' | sed "s|^$REMOTE_PREFIX/||" | sort
  fi
}
remote_get() {  # remote_get KEY DEST
  if [[ $MODE == file ]]; then cp "$REMOTE_DIR/$1" "$2"; else
    "${AWS[@]}" s3 cp --quiet "s3://$FERRY_TEST_BUCKET/$REMOTE_PREFIX/$1" "$2"; fi
}
remote_put() {  # remote_put SRC KEY (overwrites: used to corrupt the remote on purpose)
  if [[ $MODE == file ]]; then chmod u+w "$REMOTE_DIR/$2" 2>/dev/null; cp "$1" "$REMOTE_DIR/$2"; else
    "${AWS[@]}" s3 cp --quiet "$1" "s3://$FERRY_TEST_BUCKET/$REMOTE_PREFIX/$2"; fi
}
# every blob object is named by the sha256 of its content
check_blob_names() {
  local keys ok=0 n=0
  keys=$(remote_blob_keys)
  [[ -n $keys ]] || return 1
  while read -r key; do
    n=$((n + 1))
    remote_get "$key" "$T/obj"
    local sum; sum=$(sha256sum "$T/obj" | cut -d' ' -f1)
    [[ $key == "v1/blobs/sha256/${sum:0:2}/$sum" ]] || { echo "    $key has sha256 $sum"; ok=1; }
  done <<<"$keys"
  [[ $n == "${1:-$n}" ]] || { echo "    $n blob objects, expected $1"; ok=1; }
  return $ok
}
home_blob_count() { find "$1/blobs/sha256" -type f 2>/dev/null | wc -l; }
home_manifest_count() { find "$1/manifests" -name '*.json' 2>/dev/null | wc -l; }

ENV1=$("$MAKE_LOCK" "$T/a.lock" "$T/pkgs-a" 12 300000 1 train) || exit 1
ENV2=$("$MAKE_LOCK" "$T/b.lock" "$T/pkgs-b" 5 200000 2 train) || exit 1
echo "# mode=$MODE env1=${ENV1:0:12} env2=${ENV2:0:12}"

# 1. push (blobs fetched from the lock's file:// URLs) then pull into a fresh FERRY_HOME.
new_remote
FERRY_HOME=$T/home1
expect_exit 2 "push without FERRY_STORE is a usage error" "$FERRY" push "$T/a.lock"
check "usage error names FERRY_STORE" grep -q FERRY_STORE "$T/err"
expect_exit 0 "push to $MODE remote" env FERRY_STORE="$REMOTE" "$FERRY" --json push "$T/a.lock"
check "push --json reports 12 uploaded blobs" grep -q '"blobs_uploaded":12' "$T/out"
check "remote blobs are named by their sha256 (list-objects-v2)" check_blob_names 12
expect_exit 0 "second push is idempotent" env FERRY_STORE="$REMOTE" "$FERRY" --json push "$T/a.lock"
check "second push uploads nothing" grep -q '"blobs_uploaded":0' "$T/out"
remote_get "v1/envs/$ENV1.json" "$T/manifest.json"
check "manifest is on the remote" grep -q "\"env_id\": \"$ENV1\"" "$T/manifest.json"
REQ1=$(grep -o '"req_id": "[0-9a-f]*"' "$T/manifest.json" | head -1 | cut -d'"' -f4)
remote_get "v1/reqs/linux-64/$REQ1" "$T/req"
check "req-id pointer names the env" grep -qx "$ENV1" "$T/req"

FERRY_HOME=$T/home2
expect_exit 0 "pull into a fresh FERRY_HOME (cache pull, 10-hex prefix)" \
  env FERRY_STORE="$REMOTE" "$FERRY" cache pull "${ENV1:0:10}"
check "cache pull prints the full env-id" grep -qx "$ENV1" "$T/out"
check "fresh home has all 12 blobs" test "$(home_blob_count "$T/home2")" = 12
expect_exit 0 "cache verify is clean after pull" "$FERRY" cache verify
expect_exit 0 "cache info" "$FERRY" --json cache info
check "cache info counts 12 misses" grep -q '"blob_misses":12' "$T/out"
for f in "$T"/pkgs-a/*.conda; do
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  cmp -s "$f" "$T/home2/blobs/sha256/${sum:0:2}/$sum" || { fail "pulled $f differs"; break; }
done

# 2. A corrupted blob in the remote: the fetch fails with exit 3 and leaves nothing behind.
KEY=$(remote_blob_keys | sed -n 5p)
remote_get "$KEY" "$T/victim"
/usr/bin/python3 - "$T/victim" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0xFF; open(p, 'wb').write(b)
PY
remote_put "$T/victim" "$KEY"
FERRY_HOME=$T/home3
expect_exit 3 "pull of an env with a corrupted remote blob" \
  env FERRY_STORE="$REMOTE" "$FERRY" cache pull "$ENV1"
check "error names the blob" grep -q "${KEY##*/}" "$T/err"
check "nothing kept: no blobs" test "$(home_blob_count "$T/home3")" = 0
check "nothing kept: no manifest" test "$(home_manifest_count "$T/home3")" = 0
check "nothing kept: tmp is empty" test -z "$(ls -A "$T/home3/tmp")"
expect_exit 3 "export of that env fails too" \
  env FERRY_STORE="$REMOTE" "$FERRY" export "$ENV1" -o "$T/never.ferry"
check "no bundle written" test ! -e "$T/never.ferry"
check "still no blobs" test "$(home_blob_count "$T/home3")" = 0
expect_exit 0 "cache verify clean after the failed pull" "$FERRY" cache verify

# 3. Two processes pushing the same environment at once leave a consistent remote.
new_remote
FERRY_STORE="$REMOTE" FERRY_HOME=$T/home4 "$FERRY" push "$T/a.lock" >"$T/p1.out" 2>"$T/p1.err" &
P1=$!
FERRY_STORE="$REMOTE" FERRY_HOME=$T/home5 "$FERRY" push "$T/a.lock" >"$T/p2.out" 2>"$T/p2.err" &
P2=$!
wait $P1; R1=$?
wait $P2; R2=$?
check "concurrent push 1 succeeded" test "$R1" = 0
check "concurrent push 2 succeeded" test "$R2" = 0
[[ $R1 == 0 && $R2 == 0 ]] || cat "$T/p1.err" "$T/p2.err"
check "consistent remote: 12 blobs named by content" check_blob_names 12
FERRY_HOME=$T/home6
expect_exit 0 "pull after concurrent pushes" env FERRY_STORE="$REMOTE" "$FERRY" cache pull "$ENV1"
# Several processes fetching the same environment into one FERRY_HOME: all succeed.
FERRY_HOME=$T/home10
PIDS=()
for i in 1 2 3 4; do
  FERRY_STORE="$REMOTE" "$FERRY" cache pull "$ENV1" >"$T/cp$i.out" 2>"$T/cp$i.err" & PIDS+=($!)
done
RC=0; for p in "${PIDS[@]}"; do wait "$p" || RC=1; done
check "4 concurrent pulls into one FERRY_HOME succeed" test $RC = 0
expect_exit 0 "cache info after concurrent pulls" "$FERRY" --json cache info
check "downloaded once: 12 misses in total" grep -q '"blob_misses":12' "$T/out"
expect_exit 0 "cache verify after concurrent pulls" "$FERRY" cache verify

# 4. Names: immutable tags cannot move, mutable ones can; @{VAR} substitution.
FERRY_HOME=$T/home4
expect_exit 1 "alias of an env that is not pushed" \
  env FERRY_STORE="$REMOTE" "$FERRY" alias "$ENV2" model:v1
expect_exit 0 "push env2" env FERRY_STORE="$REMOTE" "$FERRY" push "$T/b.lock"
expect_exit 0 "alias env1 model:v1" env FERRY_STORE="$REMOTE" "$FERRY" alias "$ENV1" model:v1
expect_exit 0 "alias env1 model:v1 again (same env)" \
  env FERRY_STORE="$REMOTE" "$FERRY" alias "${ENV1:0:12}" model:v1
expect_exit 1 "immutable tag cannot move" env FERRY_STORE="$REMOTE" "$FERRY" alias "$ENV2" model:v1
check "error says immutable" grep -q immutable "$T/err"
remote_get "v1/names/model/v1" "$T/name"
check "model:v1 still points to env1" grep -q "$ENV1" "$T/name"
expect_exit 0 "alias latest" env FERRY_STORE="$REMOTE" "$FERRY" alias "$ENV1" model
expect_exit 0 "latest moves" env FERRY_STORE="$REMOTE" "$FERRY" alias "$ENV2" model:latest
remote_get "v1/names/model/latest" "$T/name"
check "model:latest points to env2" grep -q "$ENV2" "$T/name"
expect_exit 0 "alias with @{VAR}" \
  env RUN_ID=run42 FERRY_STORE="$REMOTE" "$FERRY" alias "$T/b.lock" "explainer/@{RUN_ID}:v1"
expect_exit 1 "invalid name" env FERRY_STORE="$REMOTE" "$FERRY" alias "$ENV1" "Bad Name"
FERRY_HOME=$T/home7
expect_exit 0 "export a NAME:TAG with @{VAR} from a fresh home" \
  env RUN_ID=run42 FERRY_STORE="$REMOTE" "$FERRY" --json export "explainer/@{RUN_ID}:v1" -o "$T/named.ferry"
check "exported env2" grep -q "$ENV2" "$T/out"
expect_exit 1 "unset @{VAR} names the variable" \
  env -u RUN_ID FERRY_STORE="$REMOTE" "$FERRY" export "explainer/@{RUN_ID}" -o "$T/x.ferry"
check "message names RUN_ID" grep -q RUN_ID "$T/err"

# 5. export/import round trip into an empty store with no network.
FERRY_HOME=$T/home2
expect_exit 0 "export env1 + env2 (lock file)" env FERRY_STORE="$REMOTE" \
  "$FERRY" export "$ENV1" "$T/b.lock" -o "$T/both.ferry"
check "bundle is a tar with the header first" \
  bash -c "bsdtar -tf '$T/both.ferry' | head -1 | grep -qx ferry-bundle.json"
FERRY_HOME=$T/home8
expect_exit 0 "import into an empty store with no network" \
  env -u FERRY_STORE http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 \
  AWS_ENDPOINT_URL_S3=http://127.0.0.1:9 "$FERRY" import "$T/both.ferry"
check "imported 17 blobs" test "$(home_blob_count "$T/home8")" = 17
check "imported 2 manifests" test "$(home_manifest_count "$T/home8")" = 2
expect_exit 0 "cache verify after import" "$FERRY" cache verify
expect_exit 0 "re-export offline from the imported store" \
  env -u FERRY_STORE "$FERRY" export "$ENV1" "${ENV2:0:8}" -o "$T/again.ferry"
check "re-exported bundle is byte-identical" cmp -s "$T/both.ferry" "$T/again.ferry"
# A corrupt bundle: exit 3 and nothing kept.
cp "$T/both.ferry" "$T/bad.ferry"
SIZE=$(stat -c %s "$T/bad.ferry")
printf '\xff' | dd of="$T/bad.ferry" bs=1 seek=$((SIZE - 300000)) conv=notrunc status=none
FERRY_HOME=$T/home9
expect_exit 3 "import of a corrupt bundle" env -u FERRY_STORE "$FERRY" import "$T/bad.ferry"
check "nothing kept after the corrupt import" test "$(home_blob_count "$T/home9")" = 0
check "no manifests after the corrupt import" test "$(home_manifest_count "$T/home9")" = 0
head -c 1000000 "$T/both.ferry" >"$T/trunc.ferry"
expect_exit 3 "import of a truncated bundle" env -u FERRY_STORE "$FERRY" import "$T/trunc.ferry"
check "nothing kept after the truncated import" test "$(home_blob_count "$T/home9")" = 0

# 6. cache verify / prune on the local store.
FERRY_HOME=$T/home8
B=$(find "$T/home8/blobs/sha256" -type f | head -1)
chmod u+w "$B"; printf 'x' | dd of="$B" bs=1 seek=10 conv=notrunc status=none
expect_exit 3 "cache verify reports a corrupted local blob" "$FERRY" cache verify
check "verify names the file" grep -q "${B##*/}" "$T/out"
expect_exit 3 "cache verify --repair drops it (still exit 3)" "$FERRY" cache verify --repair
expect_exit 0 "cache verify clean after repair" "$FERRY" cache verify
expect_exit 0 "cache prune" "$FERRY" --json cache prune
expect_exit 0 "cache prune --older-than 0 removes unused envs" "$FERRY" --json cache prune --older-than 0
expect_exit 0 "cache info after prune" "$FERRY" --json cache info

echo "# $FAILS failure(s)"
[[ $FAILS == 0 ]]
