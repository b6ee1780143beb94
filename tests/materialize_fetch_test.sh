#!/bin/bash
# Materializer end-to-end: `ferry fetch/run/verify` on the fixture channel (real relocatable
# CPython, binary-relocated C program, noarch python with entry points, wheels with .data and
# console scripts), in a fresh FERRY_HOME.
# usage: materialize_fetch_test.sh FERRY FIXTURES_DIR SOURCE_DIR
set -euo pipefail
FERRY=$1; FX=$2; SRC=$3
T=$(mktemp -d /tmp/ferry-mat-e2e.XXXXXX); trap 'rm -rf "$T"' EXIT
export FERRY_HOME=$T/home; unset FERRY_STORE
fail() { echo "FAIL: $*" >&2; exit 1; }
MK="/usr/bin/python3 $SRC/tests/materialize_mklock.py"

ENV_ID=$($MK $T/lock.json $FX/channel $FX/pypi/files \
  python-3.11.2-h_ferry_0_cpython.conda python_abi-3.11-4_cp311.conda \
  libferryhello-1.2.0-h_ferry_1.conda ferry-hello-0.3.0-h_ferry_0.tar.bz2 \
  ferrycli-1.1.0-pyhd8ed1ab_0.conda numpy-1.26.4-py311h_ferry_0.conda pip-23.0.1-pyhd8ed1ab_0.conda \
  ferry_demo-0.2.0-py3-none-any.whl tinypkg-1.0.0-py3-none-any.whl tinydep-1.0.0-py3-none-any.whl)

# 1. cold fetch
P=$($FERRY fetch $T/lock.json)
[ "$P" = "$FERRY_HOME/envs/$ENV_ID" ] || fail "prefix $P"
[ "$($P/bin/python -c 'import json; print(1)')" = 1 ] || fail "python does not run"
[ "$($P/bin/python -c 'import sys; print(sys.prefix)')" = "$P" ] || fail "sys.prefix"
$P/bin/python -c 'import numpy, ferrycli, ferry_demo, tinypkg, tinydep' || fail "imports"
# binary relocation: the C program prints the new prefix everywhere
$P/bin/ferry-hello > $T/hello.txt
grep -qx "prefix=$P" $T/hello.txt || fail "ferry-hello prefix: $(cat $T/hello.txt)"
grep -qx "lib_prefix=$P" $T/hello.txt || fail "libferryhello prefix"
grep -qx "datadir=$P/share/ferryhello" $T/hello.txt || fail "datadir"
[ "$($P/bin/ferry-hello-sh | head -1)" != "" ] || fail "ferry-hello-sh"
$P/bin/ferrycli x y | grep -q "prefix=$P args=x y" || fail "noarch entry point"
[ -x $P/bin/ferrycli-env ] || fail "python-scripts not moved to bin"
# wheels: purelib, .data spreading, scripts, console_scripts, INSTALLER
SP=$P/lib/python3.11/site-packages
[ "$(cat $SP/ferry_demo-0.2.0.dist-info/INSTALLER)" = ferry ] || fail INSTALLER
[ -f $P/share/ferry-demo/readme.txt ] || fail ".data/data"
[ -f $P/include/python3.11/ferry_demo/ferry_demo.h ] || fail ".data/headers"
head -1 $P/bin/ferry-demo-py | grep -qx "#!$P/bin/python" || fail "#!python rewrite"
$P/bin/ferry-demo >/dev/null || fail "console script"
$P/bin/ferry-demo-py >/dev/null || fail "wheel script"
$P/bin/python -m pip check || fail "pip check"
/usr/bin/python3 - "$SP" <<'PY' || fail "RECORD"
import base64, csv, hashlib, os, sys
sp = sys.argv[1]
for di in [d for d in os.listdir(sp) if d.endswith(".dist-info")]:
    rec = os.path.join(sp, di, "RECORD")
    if not os.path.exists(rec) or open(os.path.join(sp, di, "INSTALLER")).read().strip() != "ferry":
        continue
    for path, h, size in csv.reader(open(rec)):
        f = os.path.normpath(os.path.join(sp, path))
        if not h:
            assert path.endswith("RECORD"), path
            continue
        d = open(f, "rb").read()
        assert h == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode(), path
        assert int(size) == len(d), path
PY
# conda-meta
for d in python-3.11.2-h_ferry_0_cpython ferry-hello-0.3.0-h_ferry_0 ferrycli-1.1.0-pyhd8ed1ab_0; do
  [ -f $P/conda-meta/$d.json ] || fail "conda-meta/$d.json"
done
grep -q "ferry-hello-0.3.0-h_ferry_0" $P/conda-meta/history || fail history

# 2. run: exit status, PATH, CONDA_PREFIX, activate.d
set +e
$FERRY run $T/lock.json -- sh -c 'exit 42'; rc=$?
set -e
[ $rc = 42 ] || fail "run exit status $rc"
OUT=$($FERRY run $T/lock.json -- sh -c 'echo "$CONDA_PREFIX|$FERRY_HELLO_HOME|$(command -v python)"')
[ "$OUT" = "$P|$P/share/ferryhello|$P/bin/python" ] || fail "run environment: $OUT"
[ "$($FERRY run ${ENV_ID:0:12} -- python -c 'import sys; print(sys.argv[1:])' -x --y)" = "['-x', '--y']" ] \
  || fail "run by env-id prefix / argv passthrough"

# 3. warm fetch: same prefix, nothing done
$FERRY --json fetch $T/lock.json | grep -q '"warm": true' || fail "warm fetch"

# 4. verify: clean, then edited (1), then same-size corruption (3)
$FERRY verify $P || fail "verify not clean"
cp -a $P $T/copy  # edit a copy made with cp -a: hardlinks must not be written through
rm -f $T/copy/share/ferryhello/greeting.txt; echo "edited" > $T/copy/share/ferryhello/greeting.txt
set +e
$FERRY verify $T/copy > $T/verify.txt; rc=$?
set -e
[ $rc = 1 ] || fail "verify exit $rc after edit"
grep -q "modified  share/ferryhello/greeting.txt" $T/verify.txt || fail "verify listing: $(cat $T/verify.txt)"
echo extra > $T/copy/bin/extra-tool
set +e; $FERRY verify $T/copy > $T/verify2.txt; set -e
grep -q "extra     bin/extra-tool" $T/verify2.txt || fail "verify extra: $(cat $T/verify2.txt)"
F=$T/copy/lib/python3.11/site-packages/tinypkg/__init__.py
rm -f $F; printf '%s' "$(head -c $(stat -c %s $P/lib/python3.11/site-packages/tinypkg/__init__.py) /dev/zero | tr '\0' 'x')" > $F
set +e; $FERRY verify $T/copy >/dev/null; rc=$?; set -e
[ $rc = 3 ] || fail "verify same-size change exit $rc"

# 5. long prefix: shebang trampoline via /usr/bin/env, and the classic placeholder refusal
LP=$T/$(printf 'l%.0s' $(seq 1 110))/env
P2=$($FERRY fetch $T/lock.json --prefix $LP)
[ "$P2" = "$LP" ] || fail "--prefix"
head -1 $LP/bin/ferry-hello-py | grep -q '^#!/usr/bin/env python3.11' || fail "long shebang: $(head -1 $LP/bin/ferry-hello-py)"
[ "$($FERRY run $T/lock.json --prefix $LP -- ferry-hello-py | head -1)" = "prefix=$LP" ] || fail "trampoline run"
$MK $T/classic.json $FX/channel python-3.11.2-h_ferry_0_cpython.conda hello-classic-0.1.0-h_ferry_0.tar.bz2 >/dev/null
set +e; $FERRY fetch $T/classic.json 2> $T/classic.err; rc=$?; set -e
[ $rc != 0 ] || fail "hello-classic into a long prefix must fail"
grep -q "bin/hello-classic" $T/classic.err || fail "error must name bin/hello-classic: $(cat $T/classic.err)"
CID=$(/usr/bin/python3 -c "import json; print(json.load(open('$T/classic.json'))['environments'][0]['env_id'])")
[ ! -e $FERRY_HOME/envs/$CID ] || fail "failed env must not exist"
# ... and it works into a short prefix (<= 32 bytes)
SP2=$(mktemp -d /tmp/fc.XXXXX); rmdir $SP2
$FERRY fetch $T/classic.json --prefix $SP2 >/dev/null || fail "hello-classic short prefix"
$SP2/bin/hello-classic | grep -q "$SP2" || { rm -rf $SP2; fail "hello-classic output"; }
rm -rf $SP2
echo "materialize_fetch: OK"
