#!/bin/bash
# The fixture python runs from its unpacked package (extracted with Debian's cph, not ferry):
# sys.prefix is the temporary prefix, the stdlib and key extension modules import, site-packages
# is <prefix>/lib/python3.11/site-packages. Then a reference install (tests/fixture_check.py
# install: tarfile + placeholder relocation) of python + numpy/pandas/scikit-learn + the C
# relocation packages proves those fixtures work too.
# usage: fixture_python_test.sh FIXTURES_DIR
set -euo pipefail
FX=${1:?usage: fixture_python_test.sh FIXTURES_DIR}
CHAN=$FX/channel
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ferry-fixture-python.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

PY_PKG=$(ls "$CHAN"/linux-64/python-3.11.*-h_ferry_0_cpython.conda | head -1)
[ -f "$PY_PKG" ] || fail "no python package in $CHAN/linux-64"
P=$T/env
cph x "$PY_PKG" --dest "$P" >/dev/null
rm -rf "$P/info"
[ -L "$P/bin/python3" ] || fail "bin/python3 should be a symlink"

for exe in python3 python python3.11; do
  out=$("$P/bin/$exe" -c 'import sys, json, sqlite3, ssl, zlib, encodings, hashlib, ctypes, decimal, site; print(sys.prefix); print(site.getsitepackages()[0])')
  prefix=$(echo "$out" | sed -n 1p); sp=$(echo "$out" | sed -n 2p)
  [ "$prefix" = "$P" ] || fail "$exe: sys.prefix is '$prefix', expected '$P'"
  [ "$sp" = "$P/lib/python3.11/site-packages" ] || fail "$exe: site-packages is '$sp'"
done
# Also when started through PATH (argv[0] without a directory).
prefix=$(PATH="$P/bin:/usr/bin:/bin" python3 -c 'import sys; print(sys.prefix)')
[ "$prefix" = "$P" ] || fail "via PATH: sys.prefix is '$prefix'"
# A module dropped into site-packages is importable.
echo 'VALUE = 42' > "$P/lib/python3.11/site-packages/fixture_probe.py"
[ "$("$P/bin/python3" -c 'import fixture_probe; print(fixture_probe.VALUE)')" = 42 ] \
  || fail "site-packages not on sys.path"
echo "ok: cph-extracted python runs with sys.prefix=$P"

# Reference install of a data-science environment + relocation packages.
E=$T/ds
cd "$CHAN"
/usr/bin/python3 "$HERE/fixture_check.py" install "$CHAN" "$E" \
  "$(basename "$PY_PKG")" python_abi-3.11-4_cp311.conda numpy-1.26.4-py311h_ferry_0.conda \
  pandas-2.2.1-pyhd8ed1ab_0.conda six-1.16.0-pyhd8ed1ab_0.tar.bz2 pytz-2024.1-pyhd8ed1ab_0.conda \
  python-dateutil-2.9.0-pyhd8ed1ab_0.conda scipy-1.12.0-py311h_ferry_0.conda \
  scikit-learn-1.4.1-pyhd8ed1ab_0.conda joblib-1.3.2-pyhd8ed1ab_0.conda \
  threadpoolctl-3.3.0-pyhd8ed1ab_0.conda libferryhello-1.2.0-h_ferry_1.conda \
  ferry-hello-0.3.0-h_ferry_0.tar.bz2 ferrycli-1.1.0-pyhd8ed1ab_0.conda pip-23.0.1-pyhd8ed1ab_0.conda
got=$("$E/bin/python" -c 'import numpy, pandas, sklearn; print(numpy.__version__, pandas.__version__, sklearn.__version__)')
[ "$got" = "1.26.4 2.2.1 1.4.1" ] || fail "imports gave '$got'"
"$E/bin/python" -m pip check >/dev/null || fail "pip check failed"
out=$("$E/bin/ferry-hello")
echo "$out" | grep -qx "prefix=$E" || fail "binary relocation (program): $out"
echo "$out" | grep -qx "lib_prefix=$E" || fail "binary relocation (library): $out"
echo "$out" | grep -qx "datadir=$E/share/ferryhello" || fail "binary relocation with suffix: $out"
echo "$out" | grep -qx "greeting=Hello from libferryhello 1.2.0 installed at $E" \
  || fail "text relocation: $out"
[ "$("$E/bin/ferry-hello-sh")" = "prefix=$E" ] || fail "shell script relocation"
[ "$("$E/bin/ferry-hello-py")" = "prefix=$E" ] || fail "shebang relocation"
"$E/bin/ferrycli" x | grep -q "ferrycli 1.1.0 prefix=$E args=x" || fail "entry point"
echo "ok: reference install of the data-science + relocation fixtures works"
