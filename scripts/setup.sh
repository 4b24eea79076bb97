#!/usr/bin/env bash
# Installs the Debian 12 packages amas-scaler needs, only those missing.
#   scripts/setup.sh          build dependencies
#   scripts/setup.sh --test   build + test dependencies (real Prometheus, Alertmanager, Redis, Celery)
# Idempotent: a machine that has everything runs no apt command at all.
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config civetweb libcivetweb-dev prometheus-cpp-dev
  libre2-dev libyaml-cpp-dev libcurl4-openssl-dev rapidjson-dev catch2 libhiredis-dev zlib1g-dev
  libssl-dev python3)
test_pkgs=(prometheus prometheus-alertmanager redis-server redis-tools python3-celery
  python3-redis celery wrk curl procps)

want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#want[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q
"${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
