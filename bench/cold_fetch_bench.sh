#!/bin/bash
# Cold fetch benchmark (issue 8): `ferry fetch ENV` into an empty FERRY_HOME from a real radosgw,
# side by side (one run of this script) with the baseline "download the blobs with `aws s3 cp`,
# then extract them with `bsdtar`":
#   ferry fetch        download (parallel) + sha256 of every blob + extraction pipelined with the
#                      downloads (2+ workers) + linking the environment prefix (atomic rename);
#   aws --recursive    `aws s3 cp --recursive` of the env's blob prefix (awscli's own 10 parallel
#                      transfers), then `bsdtar -x` of each blob in turn (.conda: the outer zip,
#                      then its info/pkg .tar.zst); no verification, no linking;
#   aws per blob       the sequential baseline: one `aws s3 cp` per blob, then the same bsdtar.
# Environment: fixtures/make_bigenv.py (40 `noarch: python` .conda packages of ~530 files) + the
# fixture CPython 3.11 (.conda): 41 package files, ~21,600 files once extracted.
#
#   bench/cold_fetch_bench.sh BUILD_DIR
#
# Env: RUNS (default 5) runs of ferry and of the --recursive baseline, RUNS_SEQ (default 1) of the
# per-blob baseline (0 skips it); FERRY_RADOSGW_ENV = env file of a running radosgw (else one is
# started and stopped here). Needs BUILD_DIR/cli/ferry and the `fixtures` target (the bigenv is
# generated here unless BUILD_DIR/fixtures/bigenv exists, ~20 s). Prints wall and CPU (user+sys,
# including children) per measurement and the ratios.
set -euo pipefail
BUILD=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
FERRY=$BUILD/cli/ferry
FX=$BUILD/fixtures
RUNS=${RUNS:-5}
RUNS_SEQ=${RUNS_SEQ:-1}
W=$(mktemp -d "${TMPDIR:-/tmp}/ferry-cold-fetch.XXXXXX")
. "$SRC/bench/radosgw_lib.sh"

[[ -x $FERRY ]] || { echo "no $FERRY: build the ferry target first" >&2; exit 2; }
[[ -f $FX/channel/linux-64/repodata.json ]] || ninja -C "$BUILD" fixtures >/dev/null
if [[ -f $FX/bigenv/bigenv.stamp ]]; then
  BIG=$FX/bigenv
else
  /usr/bin/python3 "$SRC/fixtures/make_bigenv.py" "$W" >/dev/null
  BIG=$W/bigenv
fi

rgw_start
RUN=cold-bench-$$-$RANDOM
export FERRY_STORE=s3://$BUCKET/$RUN/ferry

# Resolve the environment and push it (its blobs, manifest) to radosgw.
CONDA=()
for f in "$BIG"/channel/noarch/*.conda; do n=$(basename "$f"); CONDA+=(--conda "${n%%-1.0.0-*}"); done
export FERRY_HOME=$W/home-push
"$FERRY" -q resolve --channel "file://$BIG/channel" --channel "file://$FX/channel" \
  --platform linux-64 --conda "python 3.11.*" "${CONDA[@]}" -o "$W/env.lock" --push >/dev/null
ENV_ID=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["environments"][0]["env_id"])' "$W/env.lock")
"${AWS[@]}" s3 ls --recursive --summarize "s3://$BUCKET/$RUN/ferry/v1/blobs/" >"$W/listing"
awk '$4 ~ /v1\/blobs\// {print $4}' "$W/listing" >"$W/keys"   # full keys
NBLOBS=$(wc -l <"$W/keys")
BYTES=$(awk '/Total Size/ {print $3}' "$W/listing")
echo "environment ${ENV_ID:0:12}: $NBLOBS package files, $BYTES bytes in $FERRY_STORE"

# One timed command: appends "<name> <wall s> <cpu s>" to $W/times (CPU = user+sys incl. children).
timed() {
  local name=$1; shift
  /usr/bin/time -o "$W/t" -f "%e %U %S" "$@" >/dev/null
  read -r e u s <"$W/t"
  echo "$name $e $(/usr/bin/python3 -c "print($u + $s)")" >>"$W/times"
  printf '  %-26s wall %6.2f s  cpu %6.2f s\n' "$name" "$e" "$(/usr/bin/python3 -c "print($u + $s)")"
}

# The baseline's extraction step: every downloaded blob extracted with bsdtar, one after another.
cat >"$W/extract.sh" <<'SH'
#!/bin/bash
set -euo pipefail
in=$1; out=$2
find "$in" -type f | sort | while read -r f; do
  d=$out/$(basename "$f"); mkdir -p "$d"
  if [[ $(head -c 2 "$f") == PK ]]; then      # .conda: stored zip of info-*.tar.zst, pkg-*.tar.zst
    t=$d.outer; mkdir -p "$t"; bsdtar -xf "$f" -C "$t"
    for z in "$t"/*.tar.zst; do bsdtar -xf "$z" -C "$d"; done
    rm -rf "$t"
  else                                         # .tar.bz2
    bsdtar -xf "$f" -C "$d"
  fi
done
SH
chmod +x "$W/extract.sh"
cat >"$W/aws_recursive.sh" <<SH
#!/bin/bash
set -euo pipefail
rm -rf "\$1"; mkdir -p "\$1/blobs" "\$1/x"
${AWS[*]} s3 cp --quiet --recursive "s3://$BUCKET/$RUN/ferry/v1/blobs/sha256/" "\$1/blobs"
"$W/extract.sh" "\$1/blobs" "\$1/x"
SH
cat >"$W/aws_per_blob.sh" <<SH
#!/bin/bash
set -euo pipefail
rm -rf "\$1"; mkdir -p "\$1/blobs" "\$1/x"
while read -r k; do
  ${AWS[*]} s3 cp --quiet "s3://$BUCKET/\$k" "\$1/blobs/\$(basename \$k)"
done <"$W/keys"
"$W/extract.sh" "\$1/blobs" "\$1/x"
SH
chmod +x "$W/aws_recursive.sh" "$W/aws_per_blob.sh"

# Every run writes into fresh directories and nothing is deleted until the end: on ext4, creating
# files right after deleting tens of thousands makes inode allocation scan the recently freed
# ones (recently_deleted()), which would penalize whichever command runs after an `rm -rf`.
echo "runs (interleaved; every client starts from an empty directory):"
: >"$W/times"
for i in $(seq "$RUNS"); do
  sync
  FERRY_HOME=$W/run$i/home timed "ferry fetch (cold)" "$FERRY" -q fetch "$ENV_ID"
  sync
  timed "aws s3 cp --recursive+bsdtar" "$W/aws_recursive.sh" "$W/run$i/aws"
done
FILES=$(find "$W/run1/home/envs/$ENV_ID" -type f | wc -l)
XFILES=$(find "$W/run1/aws/x" -type f | wc -l)
for i in $(seq "$RUNS_SEQ"); do
  sync
  timed "aws s3 cp per blob+bsdtar" "$W/aws_per_blob.sh" "$W/seq$i/aws"
done
echo "files: ferry environment $FILES, bsdtar output $XFILES"

/usr/bin/python3 - "$W/times" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    *name, wall, cpu = line.split()
    rows.setdefault(" ".join(name), []).append((float(wall), float(cpu)))
print("\n| measurement | runs | wall mean | wall min | CPU mean (user+sys) |\n|---|---|---|---|---|")
for k, v in rows.items():
    w = [x[0] for x in v]; c = [x[1] for x in v]
    print("| %s | %d | %.2f s | %.2f s | %.2f s |" % (k, len(v), statistics.mean(w), min(w),
                                                     statistics.mean(c)))
f = rows["ferry fetch (cold)"]
fw, fc = statistics.mean(x[0] for x in f), statistics.mean(x[1] for x in f)
for k in ("aws s3 cp --recursive+bsdtar", "aws s3 cp per blob+bsdtar"):
    if k in rows:
        bw = statistics.mean(x[0] for x in rows[k]); bc = statistics.mean(x[1] for x in rows[k])
        print("%s / ferry fetch: wall %.2fx, CPU %.2fx (> 1: ferry faster)" % (k, bw / fw, bc / fc))
PY
