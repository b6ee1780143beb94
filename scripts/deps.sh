#!/usr/bin/env bash
# Installs what ferry needs to build and test on Debian 12 (idempotent: apt runs only when a
# package is missing). Run as root, or with sudo available.
set -euo pipefail

PKGS=(
  # build
  cmake ninja-build g++ clang libclang-rt-14-dev pkg-config git
  zlib1g-dev libcurl4-openssl-dev libarchive-dev libssl-dev libsqlite3-dev libzstd-dev libbz2-dev liblzma-dev
  nlohmann-json3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev catch2
  # fixtures (independent tools that make real packages, channels and wheels)
  libarchive-tools zstd conda-package-handling python3-zstandard python3-build python3-wheel-whl
  python3-venv python3-pip
  # test services and independent clients
  nginx-light radosgw ceph-mon ceph-osd ceph-common awscli python3-boto3 curl
  # benchmarks
  hyperfine time
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# node + npm run the rattler (resolvo) WASM oracle; this machine kind ships Node.js already.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
echo "ferry: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
