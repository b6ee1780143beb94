#!/bin/bash
# Every hostile package of the fixture channel-unsafe is refused by `ferry fetch` (exit 3), with
# nothing written outside the store and no environment created.
# usage: materialize_unsafe_test.sh FERRY FIXTURES_DIR SOURCE_DIR
set -euo pipefail
FERRY=$1; FX=$2; SRC=$3
T=$(mktemp -d /tmp/ferry-mat-unsafe.XXXXXX); trap 'rm -rf "$T"' EXIT
export FERRY_HOME=$T/a/b/c/home; unset FERRY_STORE
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -f /tmp/ferry-evil-*.txt
for f in $(cd $FX/channel-unsafe/linux-64 && ls *.conda *.tar.bz2); do
  case $f in unsafe-setuid*) continue;; esac
  ID=$(/usr/bin/python3 $SRC/tests/materialize_mklock.py $T/$f.json $FX/channel-unsafe $f)
  set +e; $FERRY fetch $T/$f.json 2> $T/err; rc=$?; set -e
  [ $rc = 3 ] || fail "$f: exit $rc ($(cat $T/err))"
  grep -q "$f" $T/err || fail "$f: error does not name the package: $(cat $T/err)"
  [ ! -e $FERRY_HOME/envs/$ID ] || fail "$f: environment created"
  [ -z "$(ls $FERRY_HOME/pkgs 2>/dev/null)" ] || fail "$f: extracted package kept"
  echo "refused $f: $(tail -1 $T/err)"
done
found=$(find $T /tmp -maxdepth 6 -name 'ferry-evil-*' 2>/dev/null | head -3)
[ -z "$found" ] || fail "files written outside: $found"
# setuid bits are dropped, the package itself is harmless
ID=$(/usr/bin/python3 $SRC/tests/materialize_mklock.py $T/suid.json $FX/channel-unsafe unsafe-setuid-1.0-h_evil_0.conda)
P=$($FERRY fetch $T/suid.json)
[ -z "$(find $P -perm /6000)" ] || fail "setuid bit kept"
echo "materialize_unsafe: OK"
