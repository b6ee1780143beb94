#!/usr/bin/env bash
# Builds the libFuzzer targets of src/specs with clang (FERRY_FUZZ=ON, ASan + UBSan) in
# build-fuzz/ and runs each one for N seconds (default 30). Exits non-zero if any target crashes,
# leaks or trips an invariant; the crashing input is left in build-fuzz/fuzz-artifacts/.
#
#   tests/run_fuzzers.sh            # 30 s per target
#   tests/run_fuzzers.sh 600        # 10 minutes per target
#   FUZZ_TARGETS="match_spec_fuzz" tests/run_fuzzers.sh 3600
#   FUZZ_JOBS=2 ...                 # libFuzzer -fork=N workers per target (default 1)
#
# The corpus persists in build-fuzz/fuzz-corpus/<target>/ between runs, so longer campaigns
# resume where the last one stopped. Reproduce a crash: build-fuzz/src/<target> <artifact>
# (or build-fuzz/specs-direct/<target> when the script had to build the targets directly).
set -euo pipefail

seconds=${1:-${FUZZ_SECONDS:-30}}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-1}
specs_targets="conda_version_fuzz conda_version_spec_fuzz match_spec_fuzz pep440_version_fuzz specifier_set_fuzz pep508_fuzz wheel_fuzz"
# Every parser of untrusted bytes has a target: specs, flow files, inputs, lock files, S3 XML.
targets=${FUZZ_TARGETS:-"$specs_targets flow_reader_fuzz inputs_fuzz lock_file_fuzz xml_fuzz repodata_scan_fuzz"}

bin="$build/src"
if [[ ! -f "$build/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DFERRY_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" >/dev/null
fi
# shellcheck disable=SC2086
if ! ninja -C "$build" -j"${NINJA_JOBS:-2}" $targets >"$build/fuzz-build.log" 2>&1; then
  # The CMake route links all of ferry_core; if an unrelated file of it does not build with
  # clang, build the targets straight from src/specs (they depend on nothing else) and say so.
  echo "WARNING: CMake fuzz build failed (see $build/fuzz-build.log); building the src/specs" \
    "fuzzers directly" >&2
  grep -m3 -E "error|FAILED" "$build/fuzz-build.log" >&2 || true
  bin="$build/specs-direct"
  mkdir -p "$bin/obj"
  flags=(-std=c++20 -O1 -g -I"$root" -fno-omit-frame-pointer)
  objs=()
  for src in "$root"/src/specs/*.cc; do
    case "$src" in *_test.cc|*_fuzz.cc) continue ;; esac
    obj="$bin/obj/$(basename "${src%.cc}").o"
    if [[ ! -f "$obj" || "$src" -nt "$obj" || "$root/src/specs" -nt "$obj" ]]; then
      clang++ "${flags[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$src" -o "$obj"
    fi
    objs+=("$obj")
  done
  for t in $targets; do
    case " $specs_targets " in *" $t "*) ;; *) echo "WARNING: skipping $t (needs the CMake build)" >&2; continue ;; esac
    clang++ "${flags[@]}" -fsanitize=fuzzer,address,undefined "$root/src/specs/$t.cc" \
      "${objs[@]}" -o "$bin/$t"
  done
  targets=$specs_targets
fi

# Seeds: a few valid inputs per parser (the fuzzer mutates from there).
seed() {  # seed <target> <input>...
  local dir="$build/fuzz-corpus/$1"
  shift
  mkdir -p "$dir"
  local i=0
  for s in "$@"; do
    printf '%s' "$s" >"$dir/seed-$i"
    i=$((i + 1))
  done
}
seed conda_version_fuzz "1.2.3" $'0.4.1.rc\n0.4.1.RC' $'1!2.0+local_1\n1.1post1' "1.0.1_" "2.2be5ta29"
seed conda_version_spec_fuzz ">=1.2,<2|==3.0" "(1.2|1.4),1.5" "1.*.3" "^1\\.2$" "~=1.4.5" "!=1.2.*"
seed match_spec_fuzz "numpy >=1.2,<2 py3*_0" "conda-forge/linux-64::numpy=1.26=py311*" \
  "numpy[version='>=1', build_number='>=3', md5=ab]" "python 3.11.* *_cpython"
seed pep440_version_fuzz "1.0a1.post2.dev3+ubuntu-1" $'v1!2.0rc1\n1.0-1' "1.0.DEV"
seed specifier_set_fuzz ">=1.0, <2, !=1.5.*" "~=1.4.2" "===foo" "==1.0+local"
seed pep508_fuzz "requests[security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"" \
  "pip @ https://x/y.zip ; os_name == 'nt' or extra == 'a'" "a; (os_name=='a' or os_name=='b') and os_name=='c'"
seed wheel_fuzz "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" \
  "six-1.16.0-py2.py3-none-any.whl" "python-dateutil-2.8.2.tar.gz" "foo-1.0-1abc-py3-none-any.whl"
seed repodata_scan_fuzz $'\x03\x11{"info":{"subdir":"linux-64"},"packages":{"a-1.0-0.tar.bz2":{"depends":["name",{"name":"x"}],"name":"a"},"s":"str","ns":{"name":3},"e\\n":{"name":"x"}},"packages.conda":{"b.conda":{ "name" : "b" }},"removed":["z"]}'

mkdir -p "$build/fuzz-artifacts"
# Runs one target; its result is written to fuzz-artifacts/<t>.status. Targets run
# FUZZ_PARALLEL at a time (default: the number of cores).
run_one() {
  local t=$1 exe
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=512
        -artifact_prefix="$build/fuzz-artifacts/$t-" -print_final_stats=1)
  if [[ "$jobs" -gt 1 ]]; then args+=(-fork="$jobs"); fi
  exe="$bin/$t"
  [[ -x "$exe" ]] || exe=$(find "$build" -name "$t" -type f -perm -u+x | head -1)
  mkdir -p "$build/fuzz-corpus/$t"
  if [[ -z "$exe" ]]; then echo missing >"$build/fuzz-artifacts/$t.status"; return; fi
  if "$exe" "${args[@]}" "$build/fuzz-corpus/$t" 2>"$build/fuzz-artifacts/$t.log"; then
    echo ok >"$build/fuzz-artifacts/$t.status"
  else
    echo crash >"$build/fuzz-artifacts/$t.status"
  fi
}
parallel=${FUZZ_PARALLEL:-$(nproc)}
running=0
for t in $targets; do
  echo "== $t: ${seconds}s" >&2
  run_one "$t" &
  running=$((running + 1))
  if [[ $running -ge $parallel ]]; then wait -n || true; running=$((running - 1)); fi
done
wait
failed=()
for t in $targets; do
  status=$(cat "$build/fuzz-artifacts/$t.status" 2>/dev/null || echo missing)
  if [[ "$status" != ok ]]; then
    echo "FAIL: $t ($status); see $build/fuzz-artifacts/$t.log and $build/fuzz-artifacts/$t-*" >&2
    tail -40 "$build/fuzz-artifacts/$t.log" >&2 2>/dev/null || true
    failed+=("$t")
  else
    echo "$t: $(grep -E "Done [0-9]+ runs" "$build/fuzz-artifacts/$t.log" | tail -1)" >&2
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzers failed: ${failed[*]}" >&2
  exit 1
fi
echo "all fuzzers ran ${seconds}s without crashes" >&2
